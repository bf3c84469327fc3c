"""The data path of one update: one write transaction, nothing written for a read-only command,
nothing lost when the database is busy, a redelivered unfinished event handled once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlmodel import select

from bot.app import App
from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import build_app
from models.dialogs import DialogState
from models.events import ProcessedEvent
from tests.conftest import ConsoleUser, make_settings, private_event
from tests.databases import WriteLock


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A short lock wait, so a test of a busy database is quick.
    return make_settings(tmp_path, database={"lock_timeout_ms": 50})


@pytest.fixture
def write_lock(settings: Settings) -> Iterator[WriteLock]:
    lock = WriteLock(settings.database.url)
    yield lock
    lock.close()


class LogSignal(logging.Handler):
    """Sets an asyncio event when a log line containing `text` is written."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.fired = text, asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.fired.set()


@pytest.fixture
async def retry_signal() -> AsyncIterator[LogSignal]:
    signal = LogSignal("database busy: retrying")
    logger = logging.getLogger("bot.app")
    logger.addHandler(signal)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    yield signal
    logger.removeHandler(signal)
    logger.setLevel(old_level)


class Writes:
    """Counts the SQL write statements and the commits that carried writes."""

    def __init__(self, app: App) -> None:
        self.statements = 0
        self.write_commits = 0
        self._pending = False
        engine = app.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", self._execute)
        sa_event.listen(engine, "commit", self._commit)

    def _execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            self.statements += 1
            self._pending = True

    def _commit(self, _conn: Any) -> None:
        if self._pending:
            self.write_commits += 1
        self._pending = False

    def reset(self) -> None:
        self.statements = self.write_commits = 0


async def processed_count(app: App) -> int:
    async with app.db.session() as session:
        query = select(func.count()).select_from(ProcessedEvent)
        return int((await session.exec(query)).one())


async def test_update_waits_out_a_busy_database(
    app: App, console: ConsoleUser, write_lock: WriteLock, retry_signal: LogSignal
) -> None:
    write_lock.hold()
    handling = asyncio.create_task(
        app.handle(private_event(event_id="e1", command="dangky", args="SCT-VP"))
    )
    await asyncio.wait_for(retry_signal.fired.wait(), 10)
    write_lock.release()
    await asyncio.wait_for(handling, 10)
    assert "Bước 2/8" in console.out.getvalue()
    assert await processed_count(app) == 1


async def test_busy_database_apologises_and_the_event_stays_redeliverable(
    app: App, console: ConsoleUser, write_lock: WriteLock
) -> None:
    write_lock.hold()
    event = private_event(event_id="e2", command="dangky", args="SCT-VP")
    await app.handle(event)
    assert "hệ thống đang bận" in console.out.getvalue()
    assert "Bước 2/8" not in console.out.getvalue()
    write_lock.release()
    assert await processed_count(app) == 0
    # the platform delivers it again: now it is handled, once
    await app.handle(event)
    await app.handle(event)
    assert console.out.getvalue().count("Bước 2/8") == 1
    async with app.db.session() as session:
        assert await session.get(DialogState, ("console", "1001")) is not None


class Died(BaseException):
    """The process dying in the middle of a handler (kill -9, power cut)."""


async def test_redelivered_unfinished_event_is_handled_once(
    app: App, console: ConsoleUser, settings: Settings, clock: FakeClock
) -> None:
    event = private_event(event_id="e3", command="dangky", args="SCT-VP")
    real_dispatch = app._dispatch

    async def dies(ctx: Any) -> None:
        await real_dispatch(ctx)
        raise Died

    app._dispatch = dies  # type: ignore[method-assign]
    with pytest.raises(Died):
        await app.handle(event)
    assert "Bước 2/8" not in console.out.getvalue()
    # after the restart the platform redelivers the update it never saw answered
    restarted = await build_app(settings, clock)
    try:
        restarted.add_adapter(console.adapter)
        console.adapter.app = restarted
        await restarted.handle(event)
        await restarted.handle(event)
        assert console.out.getvalue().count("Bước 2/8") == 1
        # and a third process start still knows it was handled
        again = await build_app(settings, clock)
        try:
            again.add_adapter(console.adapter)
            await again.handle(event)
        finally:
            await again.db.dispose()
        assert console.out.getvalue().count("Bước 2/8") == 1
    finally:
        await restarted.db.dispose()


async def test_one_write_transaction_per_dialog_step(app: App, console: ConsoleUser) -> None:
    writes = Writes(app)
    await console.say("/dangky SCT-VP")
    writes.reset()
    out = await console.say("Nguyễn Thị Lan")
    assert "Bước 3/8" in out
    assert writes.write_commits == 1
    assert await processed_count(app) == 2


class CountingWorker:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


async def test_read_only_command_writes_nothing(
    app: App, console: ConsoleUser, clock: FakeClock
) -> None:
    worker = CountingWorker()
    app.workers.append(worker)
    await console.say("/trogiup")  # first contact: the person is recorded
    writes = Writes(app)
    before = await processed_count(app)
    clock.advance(minutes=10)
    out = await console.say("/trogiup")
    assert "/dangky" in out
    assert writes.statements == 0
    assert await processed_count(app) == before
    # an hour later the last-seen time is refreshed, once, in one transaction
    clock.advance(hours=1)
    await console.say("/trogiup")
    assert writes.write_commits == 1
    assert worker.wakes == 0  # nothing was queued, so the delivery worker slept on
