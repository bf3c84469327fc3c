"""Helpers for end-to-end tests on Telegram: a bot (app, adapter, delivery workers) running
against the fake Bot API server, and actions phrased the way a person acts."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import Background, build_app
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram

ADMIN = 900  # telegram:900 is a config admin
LAN = 501
GROUP = -4001


@dataclass
class Bot:
    app: App
    adapter: TelegramAdapter
    settings: Settings
    background: Background


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def tg_settings(
    tmp_path: Path,
    fake: FakeTelegram,
    delivery: dict[str, Any] | None = None,
    web: dict[str, Any] | None = None,
    **bot: object,
) -> Settings:
    """Settings for a bot on the fake server: short timeouts, quick progress updates."""
    return make_settings(
        tmp_path,
        web=web or {},
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "base_file_url": fake.base_file_url,
            "request_timeout": 1.0,
        },
        bot={"admins": ["console:1", f"telegram:{ADMIN}"], **bot},
        delivery={"telegram": {"progress_interval_seconds": 0.2, **(delivery or {})}},
    )


async def start_bot(settings: Settings, clock: FakeClock, **background: float) -> Bot:
    """`background`: Background's options (how often its loops run)."""
    app = await build_app(settings, clock)
    adapter = TelegramAdapter(
        app,
        settings.telegram,
        settings.delivery.telegram.limits(),
        settings.delivery.telegram.paid_limits(),
    )
    app.add_adapter(adapter)
    await adapter.start(polling=True, poll_timeout=1)
    background = Background(app, **background)
    background.start()
    return Bot(app, adapter, settings, background)


async def stop_bot(bot: Bot) -> None:
    await bot.background.close()
    await bot.adapter.stop()
    await bot.app.db.dispose()


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    running = await start_bot(tg_settings(tmp_path, fake), clock)
    yield running
    await stop_bot(running)


async def handled(bot: Bot, fake: FakeTelegram) -> None:
    """Until the bot has finished every update queued on the fake, and the work those
    started. Updates that call no API (a vote) leave nothing for `fake.wait_idle` to see."""
    await updates_handled(fake, bot.adapter, bot.app)


async def updates_handled(fake: FakeTelegram, adapter: TelegramAdapter, app: App) -> None:
    await fake.wait_fetched()
    await adapter.application.update_queue.join()  # each fetched update fully processed
    await app.wait_background()


async def say(fake: FakeTelegram, user: int, text: str, expect: str, **kw: object):
    mark = fake.mark()
    fake.user_sends(user, text, first_name="Lan", **kw)
    chat = kw.get("chat_id", user)
    return await fake.wait_for(chat, contains=expect, since=mark)


async def press(
    fake: FakeTelegram,
    user: int,
    message,
    label: str,
    expect: str,
    chat: int | None = None,
):
    mark = fake.mark()
    fake.user_presses(user, message, message.button(label))
    return await fake.wait_for(chat or user, contains=expect, since=mark)


def received(fake: FakeTelegram, chats: list[int], contains: str) -> Counter[int]:
    wanted = set(chats)
    return Counter(m.chat_id for m in fake.sent if m.chat_id in wanted and contains in m.body)


async def copies_recorded(bot: Bot, count: int) -> None:
    """Wait until the delivery engine has recorded `count` sent copies: it does so right after
    Telegram answers sendPoll, and a vote is matched to its poll through that record."""
    from models.polls import PollCopy
    from tests.settle import until

    async def recorded(session: AsyncSession) -> bool:
        return len((await session.exec(select(PollCopy))).all()) >= count

    await until(bot.app, recorded, timeout=5, failure=f"{count} poll copies never recorded")
