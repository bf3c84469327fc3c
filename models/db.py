"""Engine, sessions and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the bot, the CLI and the
delivery worker can share one file. Schema changes only ever go through Alembic.
"""

from __future__ import annotations

import asyncio
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

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> str:
    """The same database for Alembic's synchronous connection."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}.get(parsed.get_backend_name())
    return parsed.set(drivername=driver or parsed.drivername).render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


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
        connect_args: dict[str, Any] = {}
        if make_url(url).drivername == "postgresql+asyncpg":
            connect_args["server_settings"] = {"lock_timeout": str(int(lock_timeout_ms))}
        self.engine: AsyncEngine = create_async_engine(url, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(lock_timeout_ms))
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # SQLite has one writer per file. Left to itself, a second writer of this process
        # sleeps in SQLite's busy handler (1, 2, 5 … 100 ms naps, no queue) while others
        # overtake it: seconds of delay under load, and busy retries. Writers of this process
        # take turns here instead, first come first served (other processes — a separate
        # `congdoan worker`, the CLI — still meet the busy timeout).
        self._writer: asyncio.Lock | None = (
            asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def writer_turn(self) -> AsyncIterator[None]:
        """Hold this process's turn to write (SQLite; nothing to wait for on PostgreSQL) for
        a transaction that may write: open its session inside. Not reentrant."""
        if self._writer is None:
            yield
            return
        async with self._writer:
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()
