"""Broadcast benchmark: our delivery engine vs. python-telegram-bot's AIORateLimiter.

    make bench                      # or: .venv/bin/python -m bench.broadcast [--recipients N]

A strict flood-limit server runs on loopback (30 msg/s overall, 1/s per chat, 20/min per group,
sliding windows, 429 + retry_after when exceeded). Then:
1. our engine sends one broadcast to N recipients from a separate process, which is killed with
   SIGKILL halfway and restarted; we count what the server accepted: rate as a share of the
   limit, 429s caused, duplicates and losses;
2. the same N messages go out through a plain `for` loop on a PTB Bot with AIORateLimiter.
Both results are printed side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flood_server import FloodServer  # noqa: E402

TEXT = "📣 THÔNG BÁO — Công đoàn cơ sở: họp toàn thể đoàn viên lúc 14:00 thứ Sáu."
LIMIT = 30


@dataclass
class Result:
    name: str
    seconds: float
    rate: float
    rejected_429: int
    duplicates: int
    losses: int
    note: str = ""


def settings_for(db_url: str, base_url: str, token: str) -> Any:
    from bot.config import parse_settings

    return parse_settings(
        {"database": {"url": db_url}, "telegram": {"token": token, "base_url": base_url}}
    )


async def prepare(db_url: str, base_url: str, token: str, count: int) -> list[int]:
    """Members with Telegram identities and one broadcast job queued for all of them."""
    from bot.clock import SystemClock
    from bot.runtime import build_app
    from models import outbox, units
    from models.members import Identity, Member
    from models.outbox import DeliveryJob, OutboxMessage, Recipient

    app = await build_app(settings_for(db_url, base_url, token))
    now = SystemClock().now()
    chats = list(range(100_000, 100_000 + count))
    async with app.db.session() as session:
        unit = await units.upsert(session, "BENCH", "Công đoàn cơ sở Benchmark", "cdcs", None)
        for chat in chats:
            member = Member(
                full_name="Đoàn Viên", name_key="doan vien", unit_id=unit.id, status="active"
            )  # type: ignore[arg-type]
            session.add(member)
            await session.flush()
            session.add(Identity(platform="telegram", user_id=str(chat), member_id=member.id))
        job = DeliveryJob(
            kind="broadcast", title="Benchmark", unit_id=unit.id, start_at=now, created_at=now
        )
        session.add(job)
        await session.flush()
        await outbox.enqueue(
            session,
            job,
            OutboxMessage(text=TEXT),
            [Recipient("telegram", str(c)) for c in chats],
            not_before=now,
            now=now,
        )
        await session.commit()
    await app.db.dispose()
    return chats


async def worker(db_url: str, base_url: str, token: str) -> None:
    """The process under test: drains the outbox through the real adapter and engine."""
    from bot.adapters.telegram import TelegramAdapter
    from bot.delivery import DeliveryWorker, WorkerSettings
    from bot.runtime import build_app

    settings = settings_for(db_url, base_url, token)
    app = await build_app(settings)
    adapter = TelegramAdapter(app, settings.telegram, settings.delivery.telegram.limits())
    app.add_adapter(adapter)
    await adapter.application.bot.initialize()
    engine = DeliveryWorker(
        app, adapter, WorkerSettings(concurrency=settings.delivery.telegram.concurrency)
    )
    await engine.drain(timeout=24 * 3600)
    await adapter.application.bot.shutdown()
    await app.db.dispose()


def spans(times: list[float]) -> tuple[int, float]:
    return (len(times) - 1, times[-1] - times[0]) if len(times) > 1 else (0, 0.0)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_engine(server: FloodServer, count: int, kill_at: float) -> tuple[Result, dict]:
    workdir = tempfile.mkdtemp(prefix="congdoan-bench-")
    db_url = f"sqlite+aiosqlite:///{workdir}/bench.db"
    chats = await prepare(db_url, server.base_url, server.token, count)
    server.stats.reset()
    cmd = [
        sys.executable,
        "-m",
        "bench.broadcast",
        "--worker",
        db_url,
        server.base_url,
        server.token,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=env)
    while len(server.stats.accepted) < int(count * kill_at) and first.returncode is None:
        await asyncio.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)  # no goodbye: as a crash or a power cut
    await first.wait()
    killed_after = len(server.stats.accepted)
    second = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=env)
    await second.wait()
    accepted = server.stats.accepted
    before = [t for t, _, _ in accepted[:killed_after]]
    after = [t for t, _, _ in accepted[killed_after:]]
    (n1, s1), (n2, s2) = spans(before), spans(after)
    received = Counter(chat for _, chat, text in accepted if text == TEXT)
    states = await final_states(db_url, server)
    result = Result(
        "delivery engine (kill -9 + restart)",
        s1 + s2 + 0.0,
        (n1 + n2) / (s1 + s2),
        server.stats.rejected_429,
        sum(c - 1 for c in received.values()),
        sum(1 for c in chats if received[c] == 0),
        f"killed after {killed_after:,} sends; outbox: {dict(states)}; "
        f"max in any 1 s window: {max_in_window([t for t, _, _ in accepted])}",
    )
    return result, dict(states)


async def final_states(db_url: str, server: FloodServer) -> Counter[str]:
    from sqlmodel import select

    from models.db import Database
    from models.outbox import OutboxItem

    db = Database(db_url)
    async with db.session() as session:
        states = Counter((await session.exec(select(OutboxItem.state))).all())
    await db.dispose()
    return states


async def run_ptb(server: FloodServer, count: int) -> Result:
    from telegram.error import TelegramError
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    await asyncio.sleep(1.1)  # let the server's windows empty
    server.stats.reset()
    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .rate_limiter(AIORateLimiter(max_retries=10))
        .build()
    )
    await app.initialize()
    chats = list(range(200_000, 200_000 + count))
    errors = 0
    for chat in chats:  # the plain loop a bot author would write
        try:
            await app.bot.send_message(chat, TEXT)
        except TelegramError:
            errors += 1
    await app.shutdown()
    times = [t for t, _, _ in server.stats.accepted]
    n, span = spans(times)
    received = Counter(chat for _, chat, _ in server.stats.accepted)
    return Result(
        "PTB AIORateLimiter, plain loop",
        span,
        n / span if span else 0.0,
        server.stats.rejected_429,
        sum(c - 1 for c in received.values()),
        sum(1 for c in chats if received[c] == 0),
        f"{errors} sends raised after retries; max in any 1 s window: {max_in_window(times)}",
    )


def show(results: list[Result], count: int) -> None:
    print(f"\nBroadcast to {count:,} private chats; limit {LIMIT} msg/s (strict sliding window)")
    header = (
        f"{'':38} {'msg/s':>7} {'% of limit':>10} {'429s':>6} {'dups':>6} {'lost':>6} "
        f"{'seconds':>8}"
    )
    print(header)
    for r in results:
        print(
            f"{r.name:38} {r.rate:7.2f} {100 * r.rate / LIMIT:9.1f}% {r.rejected_429:6d} "
            f"{r.duplicates:6d} {r.losses:6d} {r.seconds:8.1f}"
        )
    for r in results:
        print(f"  {r.name}: {r.note}")
    if len(results) == 2 and results[1].rate:
        print(
            f"  rate ratio engine/PTB: {results[0].rate / results[1].rate:.3f}; "
            f"429s engine/PTB: {results[0].rejected_429}/{results[1].rejected_429}"
        )


async def main(count: int, kill_at: float, skip_ptb: bool) -> None:
    server = FloodServer()
    await server.start()
    try:
        started = time.monotonic()
        engine, _ = await run_engine(server, count, kill_at)
        results = [engine]
        if not skip_ptb:
            results.append(await run_ptb(server, count))
        show(results, count)
        print(f"  total wall time {time.monotonic() - started:.0f} s")
    finally:
        await server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        import logging

        logging.basicConfig(level=logging.WARNING)
        asyncio.run(worker(*sys.argv[2:5]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.5,
        help="share of messages accepted before the kill -9 (0..1)",
    )
    parser.add_argument("--skip-ptb", action="store_true", help="only run our engine")
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.kill_at, args.skip_ptb))
