"""Reminder benchmark.

    .venv/bin/python -m bench.reminders [--members N] [--skip-drain]

1. Drain: N members (default 10,000) invited to one meeting whose reminder falls due in the
   same minute. A bot process (scheduler + delivery engine) sends them to the strict flood
   server from bench/flood_server.py; we report how late the first and the last reminder left
   relative to the due time, and the pace against the configured 30 msg/s.
2. Startup: a database with 1,000 future meetings and 50,000 pending reminders; we time a
   fresh process from interpreter start to "scheduler armed" (imports, migrations check,
   units, re-arming the scheduler from the database).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flood_server import FloodServer  # noqa: E402

LEAD_SECONDS = 8.0  # the reminder is due this long after the bot process is started


def settings_for(db_url: str, base_url: str = "http://127.0.0.1:9/bot", token: str = "1:x") -> Any:
    from bot.config import parse_settings

    return parse_settings(
        {"database": {"url": db_url}, "telegram": {"token": token, "base_url": base_url}}
    )


async def prepare_drain(db_url: str, count: int, due: datetime) -> list[int]:
    from bot.runtime import build_app
    from models import reminders, units
    from models.meetings import Invite, Meeting
    from models.members import Identity, Member

    app = await build_app(settings_for(db_url))
    now = datetime.now(UTC)
    chats = list(range(300_000, 300_000 + count))
    async with app.db.session() as session:
        unit = await units.upsert(session, "BENCH", "Công đoàn cơ sở Benchmark", "cdcs", None)
        starts = due + timedelta(hours=1)
        meeting = Meeting(
            unit_id=unit.id,
            title="Hội nghị người lao động",
            starts_at=starts,  # type: ignore[arg-type]
            ends_at=starts + timedelta(hours=2),
            place="Hội trường",
            offsets_json="[60]",
            created_at=now,
            updated_at=now,
        )
        session.add(meeting)
        await session.flush()
        for chat in chats:
            member = Member(
                full_name="Đoàn Viên",
                name_key="doan vien",
                unit_id=unit.id,  # type: ignore[arg-type]
                status="active",
            )
            session.add(member)
            await session.flush()
            session.add(Identity(platform="telegram", user_id=str(chat), member_id=member.id))
            session.add(Invite(meeting_id=meeting.id, member_id=member.id))  # type: ignore[arg-type]
        await reminders.add(
            session,
            kind="meeting_reminder",
            ref_id=meeting.id,  # type: ignore[arg-type]
            arg="60",
            key=f"mr:{meeting.id}:v0:60",
            due_at=due,
            now=now,
        )
        await session.commit()
    await app.db.dispose()
    return chats


async def bot_process(db_url: str, base_url: str, token: str) -> None:
    """The bot under test: scheduler + delivery engine, until the reminder job is done."""
    from sqlmodel import select

    from bot.adapters.telegram import TelegramAdapter
    from bot.runtime import Background, build_app
    from models.outbox import DeliveryJob

    settings = settings_for(db_url, base_url, token)
    app = await build_app(settings)
    adapter = TelegramAdapter(app, settings.telegram, settings.delivery.telegram.limits())
    app.add_adapter(adapter)
    await adapter.application.bot.initialize()
    background = Background(app)
    background.start()
    while True:
        await asyncio.sleep(0.5)
        async with app.db.session() as session:
            job = (
                await session.exec(select(DeliveryJob).where(DeliveryJob.kind == "reminder"))
            ).first()
        if job is not None and job.finished_at is not None:
            break
    await background.close()
    await adapter.application.bot.shutdown()
    await app.db.dispose()


async def drain(count: int) -> None:
    server = FloodServer()
    await server.start()
    workdir = tempfile.mkdtemp(prefix="congdoan-bench-")
    db_url = f"sqlite+aiosqlite:///{workdir}/reminders.db"
    due_wall = datetime.now(UTC) + timedelta(seconds=60)  # placeholder, reset below
    chats = await prepare_drain(db_url, count, due_wall)
    # Set the real due time only now, so preparing 10,000 rows does not eat into the lead.
    import sqlite3

    due_wall = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
    due_mono = time.monotonic() + LEAD_SECONDS
    with sqlite3.connect(f"{workdir}/reminders.db") as conn:
        conn.execute(
            "UPDATE reminders SET due_at = ?", (due_wall.replace(tzinfo=None).isoformat(sep=" "),)
        )
    server.stats.reset()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.reminders",
        "--bot",
        db_url,
        server.base_url,
        server.token,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    await proc.wait()
    await server.stop()
    times = sorted(t for t, chat, text in server.stats.accepted if chat >= 300_000)
    received = {chat for _, chat, _ in server.stats.accepted if chat >= 300_000}
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    print(f"\nReminder drain: {count:,} invitees, one reminder due at the same moment")
    print(f"  first reminder left {1000 * (times[0] - due_mono):8.0f} ms after its due time")
    print(f"  last reminder left  {times[-1] - due_mono:8.1f} s after its due time")
    print(
        f"  pace {rate:.2f} msg/s = {100 * rate / 30:.1f}% of the configured 30 msg/s; "
        f"429s: {server.stats.rejected_429}; delivered {len(received):,}/{len(chats):,}, "
        f"messages {len(times):,}"
    )


async def prepare_startup(
    db_url: str, meetings_count: int = 1_000, reminders_count: int = 50_000
) -> None:
    from bot.runtime import build_app
    from models import units
    from models.meetings import Meeting
    from models.reminders import Reminder

    app = await build_app(settings_for(db_url))
    now = datetime.now(UTC)
    async with app.db.session() as session:
        unit = await units.upsert(session, "BENCH", "Công đoàn cơ sở Benchmark", "cdcs", None)
        ids = []
        for i in range(meetings_count):
            start = now + timedelta(days=1 + i % 90, hours=i % 10)
            meeting = Meeting(
                unit_id=unit.id,
                title=f"Họp {i}",
                starts_at=start,  # type: ignore[arg-type]
                ends_at=start + timedelta(hours=2),
                created_at=now,
                updated_at=now,
            )
            session.add(meeting)
            await session.flush()
            ids.append(meeting.id)
        per_meeting = reminders_count // meetings_count
        session.add_all(
            [
                Reminder(
                    kind="meeting_reminder",
                    ref_id=mid,
                    arg=str(10 * (k + 1)),  # type: ignore[arg-type]
                    key=f"mr:{mid}:v0:{10 * (k + 1)}",
                    created_at=now,
                    due_at=now + timedelta(hours=20, minutes=k + (mid or 0) % 1000),
                )
                for mid in ids
                for k in range(per_meeting)
            ]
        )
        await session.commit()
    await app.db.dispose()


async def startup_process(db_url: str, t0: float) -> None:
    from bot.runtime import build_app
    from models import reminders
    from scheduler import Scheduler

    app = await build_app(settings_for(db_url))
    scheduler = Scheduler(app)
    await scheduler.start()
    armed = time.perf_counter() - t0
    async with app.db.session() as session:
        pending = await reminders.pending_count(session)
    job = scheduler.aps.get_job("next-due")
    print(
        f"  startup to scheduler armed: {armed:.2f} s ({pending:,} pending reminders; "
        f"next wake-up at {job.next_run_time:%Y-%m-%d %H:%M} UTC)"
    )
    scheduler.shutdown()
    await app.db.dispose()


async def startup() -> None:
    workdir = tempfile.mkdtemp(prefix="congdoan-bench-")
    db_url = f"sqlite+aiosqlite:///{workdir}/startup.db"
    await prepare_startup(db_url)
    print("\nStartup with 1,000 future meetings and 50,000 pending reminders:")
    for _ in range(3):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.reminders",
            "--startup",
            db_url,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        await proc.wait()


if __name__ == "__main__":
    T0 = time.perf_counter()
    if len(sys.argv) > 1 and sys.argv[1] == "--bot":
        asyncio.run(bot_process(*sys.argv[2:5]))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--startup":
        asyncio.run(startup_process(sys.argv[2], T0))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    if not args.skip_drain:
        asyncio.run(drain(args.members))
    asyncio.run(startup())
