"""Broadcast benchmark: our delivery engine vs. python-telegram-bot's AIORateLimiter.

    make bench                      # or: .venv/bin/python -m bench.broadcast [--recipients N]
    .venv/bin/python -m bench.broadcast --database postgresql --workers 3 [--postgres-url URL]
    .venv/bin/python -m bench.broadcast --paid --skip-ptb [--concurrency 64]

A strict flood-limit server runs on loopback (30 msg/s overall, 1/s per chat, 20/min per group,
sliding windows, 429 + retry_after when exceeded). Then:
1. our engine sends one broadcast to N recipients from `--workers` separate processes
   (`congdoan worker` each, sharing the outbox and, on PostgreSQL, the bot's pace). One worker
   is killed with SIGKILL once a share `--kill-at` of the messages is out: with one worker it is
   restarted (as systemd would), with several the others carry on and take its rows over. We
   count what the server accepted: combined rate as a share of the limit, 429s caused,
   duplicates and losses;
2. the same N messages go out through a plain `for` loop on a PTB Bot with AIORateLimiter.
Both results are printed side by side.

`--paid`: the broadcast goes as a Telegram paid broadcast (`allow_paid_broadcast`); the server
then takes up to 1,000 msg/s beyond its free 30 and counts what it would bill (0.1 Star each).

PostgreSQL: `--postgres-url` (or $CONGDOAN_BENCH_POSTGRES_URL, $CONGDOAN_TEST_POSTGRES_URL)
names a server, on which a throwaway database is made; without one, a throwaway server is
started from this machine's PostgreSQL binaries (tests/pgserver.py: fsync off).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flood_server import FloodServer  # noqa: E402

TEXT = "📣 THÔNG BÁO — Công đoàn cơ sở: họp toàn thể đoàn viên lúc 14:00 thứ Sáu."
LIMIT = 30
PAID_LIMIT = 1000  # Bot API: paid broadcasts, "up to 1000 messages per second"


@dataclass
class Result:
    name: str
    seconds: float
    rate: float
    rejected_429: int
    duplicates: int
    losses: int
    note: str = ""


def settings_for(
    db_url: str, base_url: str, token: str, *, paid: bool = False, concurrency: int = 8
) -> Any:
    from bot.config import parse_settings

    return parse_settings(
        {
            "database": {"url": db_url},
            "telegram": {"token": token, "base_url": base_url},
            "delivery": {"telegram": {"paid_broadcast": paid, "concurrency": concurrency}},
        }
    )


async def prepare(
    db_url: str, base_url: str, token: str, count: int, *, paid: bool = False
) -> list[int]:
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
            OutboxMessage(text=TEXT, paid=paid),
            [Recipient("telegram", str(c)) for c in chats],
            not_before=now,
            now=now,
        )
        await session.commit()
    await app.db.dispose()
    return chats


async def worker(db_url: str, base_url: str, token: str, paid: str, concurrency: str) -> None:
    """The process under test, as `congdoan worker`: drains the outbox through the real adapter
    and engine (on PostgreSQL with the bot's pace shared through the database)."""
    from bot.adapters.telegram import TelegramAdapter
    from bot.delivery import DeliveryWorker, WorkerSettings
    from bot.runtime import build_app, close_pace, share_pace

    settings = settings_for(
        db_url, base_url, token, paid=paid == "paid", concurrency=int(concurrency)
    )
    app = await build_app(settings)
    pace = settings.delivery.telegram
    adapter = TelegramAdapter(app, settings.telegram, pace.limits(), pace.paid_limits())
    app.add_adapter(adapter)
    share_pace(app)
    await adapter.application.bot.initialize()
    engine = DeliveryWorker(
        app, adapter, WorkerSettings(concurrency=settings.delivery.telegram.concurrency)
    )
    await engine.drain(timeout=24 * 3600, until_empty=True)
    await adapter.application.bot.shutdown()
    await close_pace(app)
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


async def run_engine(
    server: FloodServer,
    count: int,
    kill_at: float,
    db_url: str,
    workers: int,
    database: str,
    *,
    paid: bool = False,
    concurrency: int = 8,
) -> tuple[Result, dict]:
    chats = await prepare(db_url, server.base_url, server.token, count, paid=paid)
    server.stats.reset()
    cmd = [
        sys.executable,
        "-m",
        "bench.broadcast",
        "--worker",
        db_url,
        server.base_url,
        server.token,
        "paid" if paid else "free",
        str(concurrency),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=env)

    cpu_before = _cpu_used()
    procs = [await spawn() for _ in range(workers)]
    victim = procs[0]
    while len(server.stats.accepted) < int(count * kill_at) and victim.returncode is None:
        await asyncio.sleep(0.01)
    if victim.returncode is None:
        os.kill(victim.pid, signal.SIGKILL)  # no goodbye: as a crash or a power cut
    await victim.wait()
    killed_after = len(server.stats.accepted)
    # one worker: restarted (as systemd would); several: the others take its rows over
    rest = [await spawn()] if workers == 1 else procs[1:]
    for proc in rest:
        await proc.wait()
    accepted = server.stats.accepted
    times = [t for t, _, _ in accepted]
    cpu_after = _cpu_used()
    workers_cpu, here_cpu = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
    if workers == 1:  # the restart's own gap (process start, migrations) is not the engine's
        (n1, s1), (n2, s2) = spans(times[:killed_after]), spans(times[killed_after:])
        sent, seconds = n1 + n2, s1 + s2
    else:
        sent, seconds = spans(times)
    received = Counter(chat for _, chat, text in accepted if text == TEXT)
    if os.environ.get("BENCH_TIMELINE"):  # messages accepted per 2 s, to see a dip
        per = Counter(int((t - times[0]) // 2) for t in times)
        print("accepted per 2 s:", [per[i] for i in range(max(per) + 1)])
    states, uncertain_chats = await final_states(db_url, server)
    missing = [c for c in chats if received[c] == 0]
    reported = sum(1 for c in missing if str(c) in uncertain_chats)
    how = "kill -9 + restart" if workers == 1 else "one kill -9'd"
    billed = (
        f"paid: {server.stats.billed:,} billed ({server.stats.billed / 10:,.1f} Stars); "
        if paid
        else ""
    )
    result = Result(
        f"{database}, {workers} worker{'s' if workers > 1 else ''} ({how})"
        + (", paid" if paid else ""),
        seconds,
        sent / seconds if seconds else 0.0,
        server.stats.rejected_429,
        sum(c - 1 for c in received.values()),
        len(missing) - reported,  # lost without a word: the guarantee says 0
        f"{billed}killed after {killed_after:,} sends; outbox: {dict(states)}; "
        f"not received but reported uncertain (the kill came between marking and sending): "
        f"{reported}; "
        f"max in any 1 s window: {max_in_window(times)}; "
        f"end to end {times[-1] - times[0]:.1f} s; CPU: workers {workers_cpu:.1f} s, "
        f"stand-in server and this process {here_cpu:.1f} s",
    )
    return result, dict(states)


def _cpu_used() -> tuple[float, float]:
    """CPU seconds so far of the worker processes (waited-for children) and of this one."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime


async def final_states(db_url: str, server: FloodServer) -> tuple[Counter[str], set[str]]:
    """The outbox's final states, and the chats whose row ended `uncertain`."""
    from sqlmodel import select

    from models.db import Database
    from models.outbox import UNCERTAIN, OutboxItem

    db = Database(db_url)
    async with db.session() as session:
        found = (await session.exec(select(OutboxItem.state, OutboxItem.chat_id))).all()
    await db.dispose()
    return Counter(state for state, _ in found), {c for state, c in found if state == UNCERTAIN}


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


def show(results: list[Result], count: int, limit: int = LIMIT) -> None:
    print(f"\nBroadcast to {count:,} private chats; limit {limit} msg/s (strict sliding window)")
    header = (
        f"{'':38} {'msg/s':>7} {'% of limit':>10} {'429s':>6} {'dups':>6} {'lost¹':>6} "
        f"{'seconds':>8}"
    )
    print(header)
    for r in results:
        print(
            f"{r.name:38} {r.rate:7.2f} {100 * r.rate / limit:9.1f}% {r.rejected_429:6d} "
            f"{r.duplicates:6d} {r.losses:6d} {r.seconds:8.1f}"
        )
    print("  ¹ not received and not reported (our engine: neither sent nor `uncertain`)")
    for r in results:
        print(f"  {r.name}: {r.note}")
    if len(results) == 2 and results[1].rate:
        print(
            f"  rate ratio engine/PTB: {results[0].rate / results[1].rate:.3f}; "
            f"429s engine/PTB: {results[0].rejected_429}/{results[1].rejected_429}"
        )


class Postgres:
    """A throwaway database on the given server, or on a throwaway server of our own."""

    def __init__(self, url: str | None) -> None:
        self.url = (
            url
            or os.environ.get("CONGDOAN_BENCH_POSTGRES_URL")
            or os.environ.get("CONGDOAN_TEST_POSTGRES_URL")
        )
        self.note = "server: " + (
            "given" if self.url else "throwaway (tests/pgserver.py, fsync off)"
        )
        self._server_dir: str | None = None
        self._drop: Callable[[], None] | None = None

    def database(self) -> str:
        import psycopg
        from sqlalchemy.engine import make_url

        if not self.url:
            self._server_dir = tempfile.mkdtemp(prefix="congdoan-bench-pg-")
            shutil.rmtree(self._server_dir)
            started = subprocess.run(
                [sys.executable, str(ROOT / "tests" / "pgserver.py"), "start", self._server_dir],
                capture_output=True,
                text=True,
            )
            if started.returncode != 0:
                raise SystemExit(f"no PostgreSQL for the benchmark: {started.stderr.strip()}")
            self.url = started.stdout.strip().splitlines()[-1]
        base = make_url(self.url)
        name = f"congdoan_bench_{os.getpid()}"
        admin = psycopg.connect(
            host=base.query.get("host") or base.host or None,
            port=base.port,
            user=base.username,
            password=base.password,
            dbname=base.database or "postgres",
            autocommit=True,
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        settings = admin.execute("SHOW synchronous_commit").fetchone()
        self.note += f", PostgreSQL {admin.info.server_version}, synchronous_commit={settings[0]}"

        def drop() -> None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

        self._drop = drop
        url = base.set(drivername="postgresql+asyncpg", database=name)
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        if self._drop is not None:
            self._drop()
        if self._server_dir is not None:
            subprocess.run(
                [sys.executable, str(ROOT / "tests" / "pgserver.py"), "stop", self._server_dir],
                check=False,
            )


def _cpu_times() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait, total


async def wait_quiet(limit: float, idle_share: float = 0.85, window: float = 5.0) -> None:
    """On a shared machine: wait (at most `limit` s) until the CPUs were mostly idle for
    `window` s, so other people's work does not decide the jitter the strict server sees."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        idle0, total0 = _cpu_times()
        await asyncio.sleep(window)
        idle1, total1 = _cpu_times()
        share = (idle1 - idle0) / max(total1 - total0, 1.0)
        if share >= idle_share:
            print(f"  CPUs {share:.0%} idle over {window:.0f} s: starting")
            return
    print(f"  machine still busy after {limit:.0f} s: starting anyway")


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def main(args: argparse.Namespace) -> None:
    if args.wait_quiet:
        await wait_quiet(args.wait_quiet)
    load_before = _loadavg()
    server = FloodServer()
    await server.start()
    postgres = Postgres(args.postgres_url) if args.database == "postgresql" else None
    try:
        started = time.monotonic()
        if postgres is not None:
            db_url = postgres.database()
        else:
            if args.workers != 1:
                raise SystemExit("SQLite runs one process: --workers 1 (use --database postgresql)")
            workdir = tempfile.mkdtemp(prefix="congdoan-bench-")
            db_url = f"sqlite+aiosqlite:///{workdir}/bench.db"
        engine, _ = await run_engine(
            server,
            args.recipients,
            args.kill_at,
            db_url,
            args.workers,
            args.database,
            paid=args.paid,
            concurrency=args.concurrency,
        )
        results = [engine]
        if not args.skip_ptb:
            results.append(await run_ptb(server, args.recipients))
        show(results, args.recipients, PAID_LIMIT if args.paid else LIMIT)
        if postgres is not None:
            print(f"  {postgres.note}")
        print(
            f"  total wall time {time.monotonic() - started:.0f} s; load average before "
            f"{load_before}, after {_loadavg()}"
        )
    finally:
        await server.stop()
        if postgres is not None:
            postgres.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        import logging

        logging.basicConfig(level=logging.WARNING)
        profile_to = os.environ.get("BENCH_PROFILE")  # a cProfile of each worker process
        if profile_to:
            import cProfile

            cProfile.run("asyncio.run(worker(*sys.argv[2:7]))", f"{profile_to}.{os.getpid()}")
        else:
            asyncio.run(worker(*sys.argv[2:7]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.5,
        help="share of messages accepted before the kill -9 (0..1)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (several: PostgreSQL)"
    )
    parser.add_argument("--postgres-url", help="a PostgreSQL server to make a database on")
    parser.add_argument("--skip-ptb", action="store_true", help="only run our engine")
    parser.add_argument(
        "--paid", action="store_true", help="a paid broadcast (the server takes 1,000 msg/s)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="sends in flight per worker (default 8)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait (at most this long) for the CPUs to be mostly idle (shared machines)",
    )
    asyncio.run(main(parser.parse_args()))
