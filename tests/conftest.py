"""Shared fixtures: a fresh database per test, a fake clock, and a console user to talk as."""

from __future__ import annotations

import io
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.chat import Event
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.runtime import build_app

# Telegram fixtures (fake Bot API server, a running bot) for every test module.
pytest_plugins = ["tests.tg", "tests.zl"]

UNITS = [
    {"code": "SCT", "name": "Công đoàn cơ sở Sở Công Thương", "kind": "cdcs"},
    {"code": "SCT-VP", "name": "Tổ công đoàn Văn phòng", "kind": "to", "parent": "SCT"},
    {"code": "SCT-KT", "name": "Tổ công đoàn Kỹ thuật", "kind": "to", "parent": "SCT"},
    {"code": "SXD", "name": "Công đoàn cơ sở Sở Xây dựng", "kind": "cdcs"},
    {"code": "SXD-VP", "name": "Tổ công đoàn Văn phòng Sở Xây dựng", "kind": "to", "parent": "SXD"},
]


POSTGRES_URL_ENV = "CONGDOAN_TEST_POSTGRES_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("CONGDOAN_TEST_DB", "sqlite"),
        help=f"database the suite runs on; postgresql needs ${POSTGRES_URL_ENV} "
        "(see docs/testing.md)",
    )


class PostgresDatabases:
    """One database per test on a PostgreSQL server, copied from a template that was migrated
    once, so a test pays for a CREATE DATABASE, not for the migrations."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url: URL = make_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise pytest.UsageError(f"{POSTGRES_URL_ENV} is not a PostgreSQL URL")
        self.url = self.url.set(drivername="postgresql+asyncpg")
        prefix = f"congdoan_test_{os.getpid()}"
        self.template = f"{prefix}_template"
        self._names = (f"{prefix}_{n}" for n in itertools.count(1))
        self._by_key: dict[str, str] = {}
        self._fresh: list[str] = []
        try:
            self.admin = psycopg.connect(
                host=self.url.query.get("host") or self.url.host or None,
                port=self.url.port,
                user=self.url.username,
                password=self.url.password,
                dbname=self.url.database or "postgres",
                autocommit=True,
            )
        except psycopg.Error as error:
            raise pytest.UsageError(f"cannot reach PostgreSQL at {self.url!r}: {error}") from None
        self.version = str(self.admin.info.server_version)
        # FILE_COPY (PostgreSQL 15+) copies the template's files instead of logging every page.
        self._strategy = " STRATEGY FILE_COPY" if self.admin.info.server_version >= 150000 else ""

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def prepare_template(self) -> None:
        from models.db import upgrade

        self._drop_abandoned()
        self._drop(self.template)
        self.admin.execute(f'CREATE DATABASE "{self.template}"')
        upgrade(self.url_for(self.template))

    def database_for(self, key: str) -> str:
        """The URL of the database for `key` (a test's tmp_path): created on first use, so a
        test that restarts the bot on the same settings finds its data again."""
        if key not in self._by_key:
            name = next(self._names)
            self.admin.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self._strategy}'
            )
            self._by_key[key] = name
            self._fresh.append(name)
        return self.url_for(self._by_key[key])

    def drop_fresh(self) -> None:
        """Drop the databases made since the last call (the test is over)."""
        for name in self._fresh:
            self._drop(name)
        self._by_key = {k: v for k, v in self._by_key.items() if v not in self._fresh}
        self._fresh = []

    def _drop_abandoned(self) -> None:
        """Databases left by a run that was killed (its process is gone) on a lasting server."""
        rows = self.admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'congdoan\\_test\\_%'"
        ).fetchall()
        for (name,) in rows:
            pid = name.split("_")[2]
            if pid.isdigit() and not _process_alive(int(pid)):
                self._drop(name)

    def _drop(self, name: str) -> None:
        # FORCE: a connection some test left open must not keep the database alive.
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop_fresh()
        self._drop(self.template)
        self.admin.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_postgres: PostgresDatabases | None = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself; skipped on PostgreSQL"
    )
    global _postgres
    if config.getoption("--db") == "postgresql":
        url = os.environ.get(POSTGRES_URL_ENV)
        if not url:
            raise pytest.UsageError(f"--db postgresql needs ${POSTGRES_URL_ENV}")
        _postgres = PostgresDatabases(url)
        _postgres.prepare_template()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _postgres
    if _postgres is not None:
        _postgres.close()
        _postgres = None


def pytest_report_header(config: pytest.Config) -> str:
    if _postgres is None:
        return "database: SQLite (a file per test)"
    return f"database: PostgreSQL {_postgres.version} (a database per test from a template)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _postgres is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    if _postgres is not None:
        _postgres.drop_fresh()


def on_postgresql() -> bool:
    return _postgres is not None


def database_url(tmp_path: Path) -> str:
    """The test's database: a SQLite file in tmp_path, or its own PostgreSQL database."""
    if _postgres is not None:
        return _postgres.database_for(str(tmp_path))
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    data: dict[str, Any] = {
        "bot": {"admins": ["console:1", "telegram:900"]},
        "database": {"url": database_url(tmp_path)},
        "units": UNITS,
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return parse_settings(data)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[App]:
    application = await build_app(settings, clock)
    yield application
    await application.db.dispose()


def private_event(user_id: str = "1001", name: str = "Lan", **fields: Any) -> Event:
    """An event from a console user's private chat, for what a terminal cannot type
    (stickers, contact cards, replayed ids, presses of arbitrary buttons)."""
    fields.setdefault("event_id", uuid.uuid4().hex)
    return Event(
        platform="console",
        chat_id=user_id,
        chat_kind="private",
        user_id=user_id,
        user_name=name,
        **fields,
    )


class ConsoleUser:
    """Types into the console adapter as one person and reads what the bot printed."""

    def __init__(self, adapter: ConsoleAdapter, out: io.StringIO) -> None:
        self.adapter, self.out = adapter, out

    async def say(self, line: str) -> str:
        start = len(self.out.getvalue())
        await self.adapter.feed(line)
        return self.out.getvalue()[start:]

    async def as_user(self, user_id: str, name: str) -> None:
        await self.adapter.feed(f":nguoi {user_id} {name}")


@pytest.fixture
def console(app: App, tmp_path: Path) -> ConsoleUser:
    out = io.StringIO()
    adapter = ConsoleAdapter(app, "1001", "Lan", out=out, export_dir=tmp_path / "exports")
    app.add_adapter(adapter)
    return ConsoleUser(adapter, out)
