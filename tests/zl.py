"""Helpers for end-to-end tests on Zalo: a bot serving the fake Zalo API (and, for linking
tests, the fake Telegram API at the same time), and a person replying by number."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.zalo import ZaloAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import Background, build_app
from models import units
from models.members import Identity, Member
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo, SentZaloMessage
from tests.tg import ADMIN

ZADMIN = "9000"  # a config admin on Zalo
PUBLIC_URL = "https://congdoan.test"


@dataclass
class ZBot:
    app: App
    zalo: ZaloAdapter
    telegram: TelegramAdapter | None
    background: Background
    settings: Settings


def zalo_settings(
    tmp_path: Path,
    fake: FakeZalo,
    telegram: FakeTelegram | None = None,
    *,
    zalo_delivery: dict[str, Any] | None = None,
    admin_chat: str = "",
) -> Settings:
    sections: dict[str, Any] = {
        "zalo": {"token": fake.token, "base_url": fake.base_url, "poll_timeout": 1},
        "web": {"public_url": PUBLIC_URL},
        "bot": {
            "admins": ["console:1", f"zalo:{ZADMIN}", f"telegram:{ADMIN}"],
            "admin_chat": admin_chat,
        },
        "delivery": {
            "zalo": {
                "progress_interval_seconds": 0.2,
                **(zalo_delivery or {}),
            },
            "telegram": {"progress_interval_seconds": 0.2},
        },
    }
    if telegram is not None:
        sections["telegram"] = {
            "token": telegram.token,
            "base_url": telegram.base_url,
            "base_file_url": telegram.base_file_url,
            "request_timeout": 1.0,
        }
    return make_settings(tmp_path, **sections)


async def start_zbot(settings: Settings, clock: FakeClock) -> ZBot:
    app = await build_app(settings, clock)
    zalo = ZaloAdapter(app, settings, settings.delivery.zalo.limits())
    app.add_adapter(zalo)
    await zalo.start(polling=True)
    telegram = None
    if settings.telegram.enabled:
        telegram = TelegramAdapter(
            app,
            settings.telegram,
            settings.delivery.telegram.limits(),
            settings.delivery.telegram.paid_limits(),
        )
        app.add_adapter(telegram)
        await telegram.start(polling=True, poll_timeout=1)
    background = Background(app)
    background.start()
    return ZBot(app, zalo, telegram, background, settings)


async def stop_zbot(bot: ZBot) -> None:
    await bot.background.close()
    await bot.zalo.stop()
    if bot.telegram is not None:
        await bot.telegram.stop()
    await bot.app.db.dispose()


@pytest.fixture
async def zfake() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def zbot(zfake: FakeZalo, tmp_path: Path, clock: FakeClock) -> AsyncIterator[ZBot]:
    running = await start_zbot(zalo_settings(tmp_path, zfake), clock)
    yield running
    await stop_zbot(running)


async def zhandled(fake: FakeZalo, adapter: ZaloAdapter, app: App) -> None:
    """Until the bot has finished every update queued on the fake Zalo server, and the work
    those started: the signal for "nothing (more) was answered"."""
    await fake.wait_taken()
    await adapter.drain()
    await app.wait_background()


async def zsay(fake: FakeZalo, user: str, text: str, expect: str, **kw: Any) -> SentZaloMessage:
    mark = fake.mark()
    fake.user_sends(user, text, **kw)
    return await fake.wait_for(kw.get("chat_id") or user, contains=expect, since=mark)


def number_of(message: SentZaloMessage, label: str) -> str:
    """The number the bot gave the choice whose label contains `label`."""
    for number, text in re.findall(r"^(\d+)\. (.+)$", message.body, flags=re.MULTILINE):
        if label in text:
            return number
    raise AssertionError(f"no numbered choice {label!r} in {message.body!r}")


async def zchoose(
    fake: FakeZalo, user: str, message: SentZaloMessage, label: str, expect: str
) -> SentZaloMessage:
    return await zsay(fake, user, number_of(message, label), expect)


async def zbroadcast(fake: FakeZalo, text: str) -> None:
    """The Zalo admin sends `text` to every member of the CĐCS, now, by numbered choices."""
    await zsay(fake, ZADMIN, "/thongbao", "nội dung thông báo")
    where = await zsay(fake, ZADMIN, text, "đơn vị nào")
    whom = await zchoose(
        fake, ZADMIN, where, "Toàn bộ Công đoàn cơ sở Sở Công Thương", "Gửi cho ai"
    )
    when = await zchoose(fake, ZADMIN, whom, "Tất cả đoàn viên", "Gửi ngay hay hẹn giờ")
    preview = await zchoose(fake, ZADMIN, when, "Gửi ngay", "Xem trước")
    await zchoose(fake, ZADMIN, preview, "Xác nhận gửi", "")


async def run_clock_until(
    app: App,
    clock: FakeClock,
    done: Callable[[], bool],
    *,
    step: float = 5.0,
    what: str = "",
    timeout: float = 90.0,
) -> None:
    """Move the injected clock `step` seconds every 30 ms (waking the delivery workers) until
    `done()` holds: retries back off and quota pauses last on that clock, not in real time.
    `timeout` (real seconds) only bounds a test that would otherwise hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting for {what or 'the condition'}")
        await asyncio.sleep(0.03)
        clock.advance(seconds=step)
        for worker in app.workers:
            worker.wake()


def reports_to(fake: FakeZalo, chat_id: str, contains: str = "đã gửi xong") -> Callable[[], bool]:
    """For `run_clock_until`: a message containing `contains` went to `chat_id`."""
    return lambda: any(contains in m.body for m in fake.messages_to(chat_id))


async def zseed(app: App, count: int, unit_code: str = "SCT-VP", start: int = 7000) -> list[str]:
    """Active members, each with a Zalo identity; returns their Zalo user ids."""
    ids = []
    async with app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        for i in range(count):
            member = Member(
                full_name="",
                name_key="",
                unit_id=unit.id,  # type: ignore[arg-type]
                status="active",
                gender="nu" if i % 2 == 0 else "nam",
                phone=f"+8493{start + i:07d}",
            )
            member.set_name(f"Zalo Viên {chr(65 + i)}{i}")
            session.add(member)
            await session.flush()
            user_id = str(start + i)
            session.add(Identity(platform="zalo", user_id=user_id, member_id=member.id))
            ids.append(user_id)
        await session.commit()
    return ids
