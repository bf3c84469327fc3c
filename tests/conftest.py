"""Shared fixtures: a fresh database per test, a fake clock, and a console user to talk as."""

from __future__ import annotations

import functools
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.chat import Event
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.runtime import build_app
from tests import databases
from tests.databases import POSTGRES_URL_ENV, database_url

# Telegram fixtures (fake Bot API server, a running bot) for every test module.
pytest_plugins = ["tests.tg", "tests.zl", "tests.browser"]

UNITS = [
    {"code": "SCT", "name": "Công đoàn cơ sở Sở Công Thương", "kind": "cdcs"},
    {"code": "SCT-VP", "name": "Tổ công đoàn Văn phòng", "kind": "to", "parent": "SCT"},
    {"code": "SCT-KT", "name": "Tổ công đoàn Kỹ thuật", "kind": "to", "parent": "SCT"},
    {"code": "SXD", "name": "Công đoàn cơ sở Sở Xây dựng", "kind": "cdcs"},
    {"code": "SXD-VP", "name": "Tổ công đoàn Văn phòng Sở Xây dựng", "kind": "to", "parent": "SXD"},
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("CONGDOAN_TEST_DB", "sqlite"),
        help=f"database the suite runs on; postgresql needs ${POSTGRES_URL_ENV} "
        "(see docs/testing.md)",
    )


# A test that asks for one of these drives the bot through a fake platform server: "e2e"; so
# does every test of a module that starts a fake server, a bot or a subprocess itself.
E2E_FIXTURES = frozenset({"fake", "bot", "zfake", "zbot"})
E2E_MODULE_WORDS = (
    "FakeTelegram(",
    "FakeZalo(",
    "start_bot(",
    "start_zbot(",
    "run_cli(",
    "subprocess",
)


@functools.cache
def _module_is_e2e(path: str) -> bool:
    text = Path(path).read_text(encoding="utf-8")
    return any(word in text for word in E2E_MODULE_WORDS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself; skipped on PostgreSQL"
    )
    config.addinivalue_line(
        "markers",
        "e2e: drives the bot through a fake Telegram/Zalo server, a browser or a subprocess "
        "(`make test-fast` leaves these out)",
    )
    if config.getoption("--db") == "postgresql":
        url = os.environ.get(POSTGRES_URL_ENV)
        if not url:
            raise pytest.UsageError(f"--db postgresql needs ${POSTGRES_URL_ENV}")
        databases.use_postgresql(url)


def pytest_unconfigure(config: pytest.Config) -> None:
    databases.close()


def pytest_report_header(config: pytest.Config) -> str:
    server = databases.postgresql()
    if server is None:
        return "database: SQLite (a file per test)"
    return f"database: PostgreSQL {server.version} (a database per test from a template)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())) or _module_is_e2e(str(item.path)):
            item.add_marker(pytest.mark.e2e)
    if databases.postgresql() is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    databases.drop_fresh()


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
