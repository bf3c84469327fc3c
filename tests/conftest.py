"""Shared fixtures: a fresh database per test, a fake clock, and a console user to talk as."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

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


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    data: dict[str, Any] = {
        "bot": {"admins": ["console:1", "telegram:900"]},
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"},
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
