"""Engine, sessions and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the bot, the CLI and the
delivery worker can share one file. Schema changes only ever go through Alembic.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from models import sqlite_loop

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> str:
    """The same database for Alembic's synchronous connection."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}.get(parsed.get_backend_name())
    return parsed.set(drivername=driver or parsed.drivername).render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(lock_timeout_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return apply


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to date (idempotent; runs at every start)."""
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


class Database:
    """One engine and a session factory for the whole process."""

    def __init__(self, url: str, *, lock_timeout_ms: int = 5000) -> None:
        """`lock_timeout_ms`: how long a statement waits for another writer's lock before
        failing (the router then retries the whole update)."""
        _ensure_sqlite_dir(url)
        self.url = url
        parsed = make_url(url)
        options: dict[str, Any] = {}
        if parsed.drivername == "postgresql+asyncpg":
            options["connect_args"] = {
                "server_settings": {"lock_timeout": str(int(lock_timeout_ms))}
            }
        elif parsed.drivername == "sqlite+aiosqlite" and not parsed.query:
            # Reads on the loop, writes on the connection's thread (models/sqlite_loop.py).
            options["async_creator"] = sqlite_loop.connector(parsed.database or ":memory:")
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(lock_timeout_ms))
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # SQLite has one writer per file. Left to itself, a second writer of this process
        # sleeps in SQLite's busy handler (1, 2, 5 … 100 ms naps, no queue) while others
        # overtake it: seconds of delay under load, and busy retries. Writers of this process
        # take turns here instead (other processes — a separate `congdoan worker`, the CLI —
        # still meet the busy timeout).
        self._turns: WriterTurns | None = (
            WriterTurns() if self.engine.dialect.name == "sqlite" else None
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def writer_turn(self, *, bulk: bool = False, first: bool = False) -> AsyncIterator[None]:
        """Hold this process's turn to write (SQLite; nothing to wait for on PostgreSQL) for
        a transaction that may write: open its session inside. Not reentrant. `bulk`: a
        background write (a fan-out page, the delivery's group commits), which gets every few
        turns (WriterTurns); `first`: ahead of the other background writes."""
        if self._turns is None:
            yield
            return
        await self._turns.acquire(bulk=bulk, first=first)
        try:
            yield
        finally:
            self._turns.release()

    async def dispose(self) -> None:
        await self.engine.dispose()


class WriterTurns:
    """One writer at a time, people first come first served, and a bulk writer (one page of a
    fan-out) every `people_per_bulk` people's turns: a page never waits behind a whole crowd
    (100,000 rows would take minutes to queue behind 1,600 updates), and a person waits at
    most one page (tens of milliseconds) more than the crowd ahead of them."""

    def __init__(self, people_per_bulk: int = 4) -> None:
        self.people_per_bulk = people_per_bulk
        self._held = False
        self._people: deque[asyncio.Future[None]] = deque()
        self._bulk: deque[asyncio.Future[None]] = deque()
        self._since_bulk = 0

    async def acquire(self, *, bulk: bool = False, first: bool = False) -> None:
        if not self._held and not self._people and not self._bulk:
            self._held = True
            self._count(bulk)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._bulk if bulk else self._people
        if first:
            queue.appendleft(waiter)
        else:
            queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the turn came with the cancellation: pass it on
            elif waiter in queue:
                queue.remove(waiter)
            raise
        self._count(bulk)

    def _count(self, bulk: bool) -> None:
        self._since_bulk = 0 if bulk else self._since_bulk + 1

    def release(self) -> None:
        """Hand the turn to the next writer (or free it)."""
        while True:
            bulk_due = self._bulk and (self._since_bulk >= self.people_per_bulk or not self._people)
            queue = self._bulk if bulk_due else self._people
            if not queue:
                self._held = False
                return
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)  # still held: it passes to this waiter
                return
