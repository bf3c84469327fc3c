"""/healthz on a running bot against the fake Telegram server: 200 when every part is well,
503 when the database is gone or behind the code's migrations, when a delivery worker has
stopped (also as seen from an intake-only process on the same database) and when Telegram or
Zalo refuses the token; the admin chat told of a stalled delivery once, and of its end. Time
is the injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FakeClock
from bot.delivery import DeliveryWorker
from bot.monitoring.stall import StallWatch
from bot.runtime import build_app
from models.db import sync_url
from tests import databases
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.monitoring import healthz, until_health
from tests.people import seed
from tests.tg import ADMIN, Bot, start_bot, stop_bot, tg_settings
from tests.tg_flows import compose
from tests.zl import start_zbot, stop_zbot, zalo_settings


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    settings = tg_settings(tmp_path, fake, admin_chat=f"telegram:{ADMIN}")
    running = await start_bot(settings, clock, beacon_every=0.05, stall_check_every=0.05)
    yield running
    await stop_bot(running)


async def polled(bot: Bot) -> None:
    """Until Telegram has answered a getUpdates of this bot."""
    for _ in range(500):
        beat = bot.app.beats.apps.get("telegram")
        if beat is not None and beat.last_ok is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no getUpdates answered")


async def test_healthy_bot_reports_every_part(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    await polled(bot)
    body = await until_health(bot.app, 200)
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["migrations"]["database"] == body["migrations"]["head"] is not None
    worker = body["delivery"]["workers"]["telegram"]
    assert body["delivery"]["here"] is True and worker["running"] is True
    assert body["scheduler"]["leader"] == "this process" and body["scheduler"]["armed"] is True
    assert body["scheduler"]["next_wakeup"] is not None  # at least the safety tick
    telegram = body["apps"]["apps"]["telegram"]
    assert telegram["mode"] == "polling" and telegram["token_refused"] is False
    assert telegram["last_ok"] is not None
    # Ten minutes later (nothing in between), the next poll and worker loop make it well again.
    clock.advance(minutes=10)
    body = await until_health(bot.app, 200)
    assert body["apps"]["apps"]["telegram"]["age_seconds"] < 120


async def test_database_gone_turns_503(fake: FakeTelegram, bot: Bot) -> None:
    await until_health(bot.app, 200)
    databases.remove(bot.settings.database.url)
    status, body = await healthz(bot.app)
    assert status == 503
    assert body["ok"] is False and body["database"]["ok"] is False
    assert body["database"]["error"]  # the driver's exception type, no secret
    assert body["migrations"]["ok"] is False
    assert body["delivery"] == {"ok": False, "error": "database unreachable"}


async def test_stopped_worker_turns_503_here_and_elsewhere(
    fake: FakeTelegram,
    bot: Bot,
    clock: FakeClock,
) -> None:
    await until_health(bot.app, 200)
    # An intake-only process on the same database (`congdoan run --no-delivery`).
    intake = await build_app(bot.settings, clock)
    try:
        body = await until_health(intake, 200)
        assert body["delivery"]["here"] is False
        assert body["delivery"]["note"] == "not in this process"
        assert [w["worker"] for w in body["delivery"]["elsewhere"]] == [bot.background.worker_id]
        assert body["scheduler"]["leader"] == "another process is leader"
        # The worker stops (a crash): this process says so at once ...
        worker_task = bot.background.tasks[0]
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
        status, body = await healthz(bot.app)
        assert status == 503
        assert body["delivery"]["workers"]["telegram"]["running"] is False
        # ... and the intake process once its heartbeat has run out (worker_stale_seconds).
        clock.advance(seconds=61)
        status, body = await healthz(intake)
        assert status == 503
        assert body["delivery"]["ok"] is False and body["delivery"]["elsewhere"] == []
    finally:
        await intake.db.dispose()


async def test_refused_token_turns_503_and_tells_the_admin_chat(
    fake: FakeTelegram,
    bot: Bot,
) -> None:
    await until_health(bot.app, 200)
    mark = fake.mark()
    fake.fail_next("getUpdates", error_code=401, description="Unauthorized")
    told = await fake.wait_for(ADMIN, contains="từ chối token", since=mark)
    assert "telegram" in told.body
    status, body = await healthz(bot.app)
    assert status == 503 and body["apps"]["apps"]["telegram"]["token_refused"] is True
    assert fake.token not in str(body)


async def test_stalled_delivery_is_told_once_then_its_end(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    await seed(bot.app, 3)
    worker_task = bot.background.tasks[0]  # the worker stops: nothing goes out any more
    worker_task.cancel()
    await asyncio.gather(worker_task, return_exceptions=True)
    preview = await compose(fake, "Họp toàn thể lúc 14:00 thứ Sáu.", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đang được gửi")
    watch = bot.background.stall_watch
    assert watch is not None
    await checks(watch, 2)
    assert stall_notes(fake) == []  # due for less than stall_alert_minutes (15)
    clock.advance(minutes=16)
    told = await fake.wait_for(ADMIN, contains="bị nghẽn")
    assert "3 tin" in told.body and "16 phút" in told.body
    await checks(watch, 5)
    assert len(stall_notes(fake)) == 1  # once per stall, not at every check
    # Another worker sends the rows: the admin chat hears that it is over, once.
    await DeliveryWorker(bot.app, bot.adapter).drain()
    await fake.wait_for(ADMIN, contains="chạy lại bình thường")
    await checks(watch, 3)
    assert len(stall_notes(fake)) == 1
    assert len([m for m in fake.messages_to(ADMIN) if "chạy lại bình thường" in m.body]) == 1


async def checks(watch: StallWatch, count: int) -> None:
    for _ in range(count):
        await asyncio.wait_for(watch.checked.wait(), 5)


def stall_notes(fake: FakeTelegram) -> list[str]:
    return [m.body for m in fake.messages_to(ADMIN) if "bị nghẽn" in m.body]


async def test_zalo_refusing_the_token_is_told_and_shown(
    zfake: FakeZalo, fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    # Both apps; the admin chat on Telegram (on Zalo nothing could reach it any more).
    settings = zalo_settings(tmp_path, zfake, telegram=fake)
    settings.bot.admin_chat = f"telegram:{ADMIN}"
    zbot = await start_zbot(settings, clock)
    try:
        await until_health(zbot.app, 200)
        zfake.fail_next("getUpdates", 401, "Unauthorized")
        told = await fake.wait_for(ADMIN, contains="từ chối token")
        assert "zalo" in told.body
        body = await until_health(zbot.app, 503)
        assert body["apps"]["apps"]["zalo"]["token_refused"] is True
        assert zfake.token not in str(body)
    finally:
        await stop_zbot(zbot)


async def test_database_behind_the_code_turns_503(fake: FakeTelegram, bot: Bot) -> None:
    body = await until_health(bot.app, 200)
    head = body["migrations"]["head"]
    # Another release's code ran against this database and left it at an older revision.
    # In a thread: the bot's own transactions need the event loop to finish, and a write
    # blocking the loop would wait for their lock until it timed out ("database is locked").
    def downgrade_mark() -> None:
        engine = create_engine(sync_url(bot.settings.database.url))
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0013'"))
        finally:
            engine.dispose()

    await asyncio.to_thread(downgrade_mark)
    status, body = await healthz(bot.app)
    assert status == 503 and body["database"]["ok"] is True
    assert body["migrations"] == {"ok": False, "database": "0013", "head": head}
