"""Several processes on one database: workers share the outbox (claims with a lease, never a
double send), a dead worker's rows come back after its lease (and a live one's are left alone),
the bot's send pace is shared (no 429 from the strict flood server), and one process leads the
scheduler, another taking over when it dies.

A "process" here is an App of its own (engine, adapter, worker id, pace connection) on the
same database, as a second `congdoan worker` would be; the benchmark (bench/broadcast.py
--workers N) does the same with real processes and kill -9. Lease times run on a FakeClock;
the pace tests run in real time against bench/flood_server.py on loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bench.flood_server import FloodServer
from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.delivery import DeliveryWorker, WorkerSettings
from bot.leader import Leadership
from bot.ratelimit import Limits
from bot.runtime import Background, build_app, share_pace
from bot.shared_pace import SharedPace
from models import cluster, outbox
from models.outbox import SENDING, SENT, UNCERTAIN, DeliveryJob, OutboxItem, OutboxMessage
from models.outbox import Recipient as To
from models.reminders import Reminder
from scheduler import action
from tests import conftest
from tests.conftest import make_settings
from tests.settle import reminders_settled

POSTGRES_URL_ENV = "CONGDOAN_TEST_POSTGRES_URL"
NO_POSTGRES = (
    f"needs a PostgreSQL server: set ${POSTGRES_URL_ENV} (`make test` starts a throwaway one "
    "from this machine's PostgreSQL binaries for its PostgreSQL pass)"
)
TEXT = "Thông báo"
_names = itertools.count(1)


def database_url(tmp_path: Path) -> str:
    """The database the suite runs on (tests/conftest.py), a SQLite file by default."""
    shared = getattr(conftest, "database_url", None)
    return shared(tmp_path) if shared else f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def on_postgresql() -> bool:
    check = getattr(conftest, "on_postgresql", None)
    return bool(check and check())


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database: the suite's own in its PostgreSQL pass, else one made on
    the server $CONGDOAN_TEST_POSTGRES_URL names; skipped when there is none."""
    if on_postgresql():
        yield database_url(tmp_path)
        return
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(NO_POSTGRES)
    import psycopg

    base = make_url(url)
    name = f"congdoan_workers_{os.getpid()}_{next(_names)}"
    admin = psycopg.connect(
        host=base.query.get("host") or base.host or None,
        port=base.port,
        user=base.username,
        password=base.password,
        dbname=base.database or "postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
async def flood() -> AsyncIterator[FloodServer]:
    # groups: 3 a second, so the per-group limit shows within a test's few seconds; windows of
    # 0.9 s, not 1 s: the pace is still checked (two processes pacing alone would send 60 a
    # second), but a busy machine's jitter on loopback cannot fail the test
    server = FloodServer(group_limit=3, group_window=0.9, window=0.9)
    await server.start()
    yield server
    await server.stop()


LIMITS = Limits(group_count=3, group_window=1.0)


@dataclass
class Process:
    app: App
    adapter: TelegramAdapter
    worker: DeliveryWorker


async def start_process(
    tmp_path: Path,
    url: str,
    server: FloodServer,
    clock: FakeClock,
    name: str,
    *,
    shared: bool = True,
    concurrency: int = 4,
    paid_limits: Limits | None = None,
) -> Process:
    settings = make_settings(
        tmp_path,
        database={"url": url},
        telegram={"token": server.token, "base_url": server.base_url, "request_timeout": 5.0},
    )
    app = await build_app(settings, clock)
    adapter = TelegramAdapter(app, settings.telegram, LIMITS, paid_limits)
    app.add_adapter(adapter)
    await adapter.application.initialize()
    if shared:
        assert share_pace(app), "PostgreSQL: the adapter paces through the database"
    worker = DeliveryWorker(
        app, adapter, WorkerSettings(concurrency=concurrency, lease_seconds=30), worker_id=name
    )
    return Process(app, adapter, worker)


async def stop_process(process: Process) -> None:
    await process.adapter.application.shutdown()
    for limiter in (process.adapter.limiter, process.adapter.paid_limiter):
        if isinstance(limiter, SharedPace):
            await limiter.close()
    await process.app.db.dispose()


async def queue(app: App, recipients: list[To], key: str, *, paid: bool = False) -> int:
    """One job with a row per recipient, written directly (what the engine reads)."""
    now = app.clock.now()
    async with app.db.session() as session:
        job = DeliveryJob(kind="broadcast", key=key, title=key, start_at=now, created_at=now)
        content = OutboxMessage(text=TEXT, paid=paid)
        session.add_all([job, content])
        await session.flush()
        assert job.id is not None and content.id is not None
        for r in recipients:
            session.add(
                OutboxItem(
                    job_id=job.id,
                    message_id=content.id,
                    dedupe_key=f"{job.id}:{r.platform}:{r.chat_id}",
                    platform=r.platform,
                    bot=r.platform,
                    chat_id=r.chat_id,
                    is_group=r.is_group,
                    not_before=now,
                    updated_at=now,
                )
            )
        job.total = len(recipients)
        await session.commit()
    return job.id


async def rows(app: App) -> list[OutboxItem]:
    async with app.db.session() as session:
        return list((await session.exec(select(OutboxItem).order_by(OutboxItem.id))).all())


def most_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- several workers, one outbox, one pace (PostgreSQL) ----------------------------------
async def test_two_workers_share_the_outbox_and_the_pace(
    pg_url: str, flood: FloodServer, tmp_path: Path
) -> None:
    """Two workers drain one outbox: every row goes out exactly once, both take part, and the
    strict server sees no 429, never more than 30 in a second overall, 1 a second per chat,
    3 a second per group; a chat both jobs reach gets its two messages a second apart."""
    clock = FakeClock()
    a = await start_process(tmp_path / "a", pg_url, flood, clock, "worker-a")
    b = await start_process(tmp_path / "b", pg_url, flood, clock, "worker-b")
    try:
        people = [To("telegram", str(1000 + i)) for i in range(70)]
        groups = [To("telegram", str(-500 - i), is_group=True) for i in range(2)]
        await queue(a.app, people + groups, "one")
        # a second job to the first 10 people and the groups: the per-chat and per-group pace
        await queue(a.app, people[:10] + groups, "two")
        await queue(a.app, [To("telegram", "-500", is_group=True)], "three")
        await asyncio.gather(a.worker.drain(timeout=60), b.worker.drain(timeout=60))

        states = await rows(a.app)
        assert {r.state for r in states} == {SENT}
        assert {r.claimed_by for r in states} == {"worker-a", "worker-b"}
        accepted = flood.stats.accepted
        assert flood.stats.rejected_429 == 0
        per_chat = Counter(chat for _, chat, _ in accepted)
        assert len(accepted) == len(states) == 70 + 2 + 10 + 2 + 1
        assert all(per_chat[int(p.chat_id)] == (2 if i < 10 else 1) for i, p in enumerate(people))
        assert per_chat[-500] == 3 and per_chat[-501] == 2
        times = sorted(t for t, _, _ in accepted)
        assert most_in_window(times, 0.9) <= 30
        for chat in (1000, 1005, -500):
            chat_times = [t for t, c, _ in accepted if c == chat]
            assert most_in_window(chat_times, 0.9) <= (3 if chat < 0 else 1)
    finally:
        await stop_process(a)
        await stop_process(b)


async def test_two_workers_share_the_paid_lane(pg_url: str, tmp_path: Path) -> None:
    """A paid broadcast (allow_paid_broadcast) from two workers: every request carries the
    fee, each row goes out once, and the strict server, whose paid lane is set to 45 a second
    here, sees no 429: the paid lane's budget is shared through the database as well."""
    server = FloodServer(window=0.9, paid_limit=45)
    await server.start()
    clock = FakeClock()
    paid = Limits(global_count=45, group_count=3, group_window=1.0)
    a = await start_process(tmp_path / "a", pg_url, server, clock, "worker-a", paid_limits=paid)
    b = await start_process(tmp_path / "b", pg_url, server, clock, "worker-b", paid_limits=paid)
    try:
        assert isinstance(a.adapter.paid_limiter, SharedPace)
        assert a.adapter.paid_limiter.bot.endswith(":paid")
        await queue(a.app, [To("telegram", str(3000 + i)) for i in range(120)], "paid", paid=True)
        await asyncio.gather(a.worker.drain(timeout=60), b.worker.drain(timeout=60))
        states = await rows(a.app)
        assert [r.state for r in states] == [SENT] * 120
        assert {r.claimed_by for r in states} == {"worker-a", "worker-b"}
        assert server.stats.rejected_429 == 0
        assert server.stats.paid_requests == len(server.stats.accepted) == 120
    finally:
        await stop_process(a)
        await stop_process(b)
        await server.stop()


async def test_workers_claim_different_rows_at_the_same_moment(pg_url: str, tmp_path: Path) -> None:
    """FOR UPDATE SKIP LOCKED: claims made at once never overlap, and nothing is claimed twice."""
    clock = FakeClock()
    settings = make_settings(tmp_path, database={"url": pg_url})
    apps = [await build_app(settings, clock) for _ in range(4)]
    try:
        await queue(apps[0], [To("telegram", str(i)) for i in range(200)], "claims")
        now = clock.now()

        async def claim_all(app: App, name: str) -> list[int]:
            got: list[int] = []
            while True:
                async with app.db.session() as session:
                    batch = await outbox.claim(
                        session, "telegram", name, now, now + timedelta(seconds=30), limit=7
                    )
                if not batch:
                    return got
                got += [r.id for r in batch if r.id is not None]

        claimed = await asyncio.gather(*(claim_all(app, f"w{i}") for i, app in enumerate(apps)))
        everything = [i for ids in claimed for i in ids]
        assert len(everything) == len(set(everything)) == 200
        assert all(claimed), "every worker got some"
    finally:
        for app in apps:
            await app.db.dispose()


async def test_replies_from_another_process_count_in_the_shared_pace(
    pg_url: str, flood: FloodServer, tmp_path: Path
) -> None:
    """An intake process's direct replies take their slots from the same budget as the
    workers' bulk sends: together no 429, and the replies are not held behind the backlog."""
    clock = FakeClock()
    intake = await start_process(tmp_path / "i", pg_url, flood, clock, "intake")
    worker = await start_process(tmp_path / "w", pg_url, flood, clock, "worker")
    try:
        await queue(worker.app, [To("telegram", str(2000 + i)) for i in range(60)], "bulk")
        draining = asyncio.create_task(worker.worker.drain(timeout=60))
        await flood.wait_accepted(10, timeout=10)
        loop = asyncio.get_running_loop()
        waits = []
        for i in range(20):
            started = loop.time()
            await intake.adapter.send(str(3000 + i), _message(f"trả lời {i}"))
            waits.append(loop.time() - started)
        await draining
        assert flood.stats.rejected_429 == 0
        assert most_in_window(sorted(t for t, _, _ in flood.stats.accepted), 0.9) <= 30
        assert len(flood.stats.accepted) == 80
        assert max(waits) < 1.0  # a few slots ahead at most, never the 2 s of backlog
    finally:
        await stop_process(intake)
        await stop_process(worker)


class SimTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0) + 0.0007  # timers wake a little late
        await asyncio.sleep(0)


async def test_the_shared_pace_on_a_simulated_clock(pg_url: str, tmp_path: Path) -> None:
    """Two processes' pacers on one database, taking turns, on a simulated clock: together
    never 31 slots in a second, at ~98 % of the limit; and a send whose answer came late holds
    back the one 30 slots later until a full window after it had arrived at the latest."""
    sim = SimTime()
    settings = make_settings(tmp_path, database={"url": pg_url})
    apps = [await build_app(settings, FakeClock()) for _ in range(2)]
    paces = [
        SharedPace(app.db.engine, "telegram:1", Limits(), clock=sim, sleep=sim.sleep)
        for app in apps
    ]
    try:
        slots = []
        for i in range(300):
            slot = await paces[i % 2].acquire(str(10_000 + i))
            slot.sent()
            slots.append(slot.at)
        assert slots == sorted(slots)
        assert most_in_window(slots, 1.0) <= 30
        assert 29.0 <= (len(slots) - 1) / (slots[-1] - slots[0]) <= 30.0

        first = await paces[0].acquire("20000")
        first.sent()
        for i in range(1, 30):
            slot = await paces[i % 2].acquire(str(20_000 + i))
            slot.sent()
            sim.now += 0.001  # answered within a millisecond
            slot.done()
            if i == 4:  # the first one's answer comes only now
                late = sim.now - first.left
                first.done()
                await paces[0].settle()
        last = await paces[1].acquire("20030")
        assert last.at >= first.left + late - 0.002 + 1.005  # not first.at + 30 × 34 ms
    finally:
        for pace in paces:
            await pace.close()
        for app in apps:
            await app.db.dispose()


def _message(text: str) -> Any:
    from bot.chat import Message

    return Message(text)


# --- leases: dead workers' rows, live workers' rows ----------------------------------------
async def _claim_as(app: App, worker: str, limit: int) -> list[OutboxItem]:
    now = app.clock.now()
    async with app.db.session() as session:
        return await outbox.claim(
            session, "telegram", worker, now, now + timedelta(seconds=30), limit=limit
        )


async def _mark_sending(app: App, worker: str, item_id: int) -> None:
    now = app.clock.now()
    async with app.db.session() as session:
        assert await outbox.mark_sending(
            session, item_id, now, worker=worker, lease_until=now + timedelta(seconds=30)
        )


async def test_a_killed_workers_rows_come_back_after_its_lease(
    flood: FloodServer, tmp_path: Path
) -> None:
    """A worker died holding 5 rows, one of them `sending`: while its lease runs nothing of it
    is touched; then its `sending` row becomes `uncertain` (never sent again) and its other
    rows are sent by the live worker, once each."""
    clock = FakeClock()
    url = database_url(tmp_path)
    live = await start_process(tmp_path, url, flood, clock, "live", shared=False)
    try:
        app = live.app
        await queue(app, [To("telegram", str(4000 + i)) for i in range(12)], "killed")
        held = await _claim_as(app, "dead-worker", 5)
        await _mark_sending(app, "dead-worker", held[0].id or 0)
        assert await live.worker.recover() == 0  # its lease runs: not touched
        await live.worker.drain(timeout=30)
        by_id = {r.id: r for r in await rows(app)}
        assert [by_id[r.id].state for r in held] == [SENDING] + ["queued"] * 4
        assert len(flood.stats.accepted) == 7

        clock.advance(seconds=31)  # the dead worker's lease has run out
        await live.worker.keep_leases()
        await live.worker.drain(timeout=30)
        by_id = {r.id: r for r in await rows(app)}
        assert by_id[held[0].id].state == UNCERTAIN
        assert all(by_id[r.id].state == SENT for r in held[1:])
        assert all(by_id[r.id].claimed_by == "live" for r in held[1:])
        received = Counter(chat for _, chat, _ in flood.stats.accepted)
        assert int(held[0].chat_id) not in received  # the uncertain one: never re-sent
        assert sorted(received.values()) == [1] * 11
    finally:
        await stop_process(live)


async def test_a_live_workers_sending_rows_are_not_touched(
    flood: FloodServer, tmp_path: Path
) -> None:
    """Another worker starting (or sweeping) while a live worker has rows in flight leaves them
    alone for as long as the live worker renews its lease, however long that is."""
    clock = FakeClock()
    url = database_url(tmp_path)
    busy = await start_process(tmp_path / "busy", url, flood, clock, "busy", shared=False)
    other = await start_process(tmp_path / "other", url, flood, clock, "other", shared=False)
    try:
        app = busy.app
        await queue(app, [To("telegram", str(5000 + i)) for i in range(3)], "live")
        held = await busy.worker._claim()  # the busy worker's own claim
        for row in held:
            await _mark_sending(app, "busy", row.id or 0)
        for _ in range(4):  # two minutes of a very slow send, renewed every 20 s
            clock.advance(seconds=20)
            await busy.worker.keep_leases()
            assert await other.worker.recover() == 0
            await other.worker.keep_leases()
        assert {r.state for r in await rows(app)} == {SENDING}
        # then the busy worker stops renewing (it died): after its lease, uncertain
        clock.advance(seconds=31)
        assert await other.worker.recover() == 3
        assert {r.state for r in await rows(app)} == {UNCERTAIN}
        assert flood.stats.accepted == []
    finally:
        busy.worker._in_flight.clear()
        await stop_process(busy)
        await stop_process(other)


async def test_a_worker_whose_process_is_gone_is_recovered_at_once(
    flood: FloodServer, tmp_path: Path
) -> None:
    """A restart on the same machine need not wait for the lease: the previous worker's
    process is gone (checked by pid, on this host and in this pid namespace)."""
    clock = FakeClock()
    url = database_url(tmp_path)
    live = await start_process(tmp_path, url, flood, clock, "new-start", shared=False)
    try:
        app = live.app
        await queue(app, [To("telegram", str(6000 + i)) for i in range(4)], "gone")
        done = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            text=True,
            capture_output=True,
            check=True,
        )
        own = cluster.process_id().split("/")
        gone = "/".join([own[0], own[1], done.stdout.strip(), "deadbeef"])
        assert cluster.is_gone(gone) and not cluster.is_gone(cluster.process_id())
        held = await _claim_as(app, gone, 3)
        await _mark_sending(app, gone, held[0].id or 0)
        assert await live.worker.recover() == 1  # no clock advanced: the process is gone
        await live.worker.drain(timeout=30)
        states = Counter(r.state for r in await rows(app))
        assert states == {SENT: 3, UNCERTAIN: 1}
        assert len(flood.stats.accepted) == 3
    finally:
        await stop_process(live)


# --- one scheduler leader -------------------------------------------------------------------
FIRED: list[tuple[str, int]] = []
FIRED_EVENT: list[asyncio.Event] = []


@action("test_leader_probe")
async def _probe(app: Any, session: Any, row: Reminder, late: bool) -> str | None:
    FIRED.append((getattr(app, "probe_name", "?"), row.id or 0))
    for event in FIRED_EVENT:
        event.set()
    return None


async def test_leases_one_leader_and_take_over(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = make_settings(tmp_path)
    a_app, b_app = await build_app(settings, clock), await build_app(settings, clock)
    a = Leadership(a_app, "process-a", ttl=15)
    b = Leadership(b_app, "process-b", ttl=15)
    try:
        assert await a.tick() and not await b.tick()
        clock.advance(seconds=10)
        assert await a.tick() and not await b.tick()  # renewed: still A's
        clock.advance(seconds=14)
        assert not await b.tick()  # 14 s after A's renewal: A's lease still runs
        clock.advance(seconds=2)  # A stopped renewing 16 s ago (it died)
        assert await b.tick() and b.is_leader
        assert not await a.tick() and not a.is_leader  # A came back: B leads, A follows
        await b.release()  # a clean stop hands over at once
        assert await a.tick()
    finally:
        await a_app.db.dispose()
        await b_app.db.dispose()


async def test_the_scheduler_fires_in_one_process_and_another_takes_over(
    tmp_path: Path,
) -> None:
    """Two delivery processes: only the leader's scheduler runs (a due row is handled once, by
    it); when the leader dies the other one takes over after the lease and fires the next."""
    clock = FakeClock()
    settings = make_settings(tmp_path)
    apps = [await build_app(settings, clock) for _ in range(2)]
    for name, app in zip("ab", apps, strict=True):
        app.probe_name = name  # type: ignore[attr-defined]
    backgrounds = [Background(app, leader_ttl=0.3) for app in apps]
    FIRED.clear()
    fired = asyncio.Event()
    FIRED_EVENT[:] = [fired]
    try:
        backgrounds[0].start()
        first = backgrounds[0].leader
        assert first is not None
        if not first.is_leader:
            await asyncio.wait_for(first.changed.wait(), 5)
        backgrounds[1].start()
        second = backgrounds[1].leader
        assert second is not None
        await second.tick()
        assert first.is_leader and not second.is_leader

        await _plan(apps[0], "probe-1")
        for app in apps:  # a handler in either process re-arms after planning
            await app.scheduler.rearm()
        await asyncio.wait_for(fired.wait(), 5)
        await reminders_settled(apps[0])  # its firing committed: the probe is done, not due
        assert [who for who, _ in FIRED if who in "ab"] == ["a"]
        assert not second.is_leader and not apps[1].scheduler.aps.running

        # the leader dies: its loop stops without giving the lease up
        first.release = _noop  # type: ignore[method-assign]
        backgrounds[0].tasks[-1].cancel()
        apps[0].scheduler.shutdown()
        changed = second.changed
        clock.advance(seconds=1)  # past the lease (0.3 s)
        await asyncio.wait_for(changed.wait(), 5)
        assert second.is_leader and apps[1].scheduler.aps.running

        FIRED.clear()
        fired.clear()
        await _plan(apps[1], "probe-2")
        await apps[1].scheduler.rearm()
        await asyncio.wait_for(fired.wait(), 5)
        assert [who for who, _ in FIRED if who in "ab"] == ["b"]
    finally:
        FIRED_EVENT.clear()
        for background in backgrounds:
            await background.close()
        for app in apps:
            await app.db.dispose()


async def _noop() -> None:
    return None


async def _plan(app: App, key: str) -> None:
    now = app.clock.now()
    async with app.db.session() as session:
        session.add(
            Reminder(kind="test_leader_probe", ref_id=1, key=key, due_at=now, created_at=now)
        )
        await session.commit()


# --- the commands -----------------------------------------------------------------------------
def test_worker_and_intake_only_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n')
    assert main(["--config", str(config), "worker"]) == 2  # no bot to send as
    assert "congdoan worker" in capsys.readouterr().err
    with pytest.raises(SystemExit) as shown:
        main(["run", "--help"])
    assert shown.value.code == 0
    assert "--no-delivery" in capsys.readouterr().out
