"""A board sends an announcement from a real headless Chromium and sees its progress to the
end: the bot runs on the fake Telegram Bot API with its delivery engine, the pages are served
on 127.0.0.1, and the page follows the sending live (bot/webui/static/poll.js) until the
report names who did not get it. Skipped, saying why, where Chromium is not installed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.web import build_web_app
from tests.browser import DESK, PHONE, chromium, shot, web_server
from tests.fakes.telegram import FakeTelegram
from tests.people import seed
from tests.tg import Bot, received, start_bot, stop_bot, tg_settings
from tests.web import make_role

pytestmark = pytest.mark.e2e

BOARD = 910
TEXT = "Mời toàn thể đoàn viên dự Hội nghị người lao động lúc 8:00 thứ Hai tại hội trường."


@pytest.fixture
async def served(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[Bot, str]]:
    async with web_server() as (late, base):
        # One message at a time, in order: the one Telegram holds back is the last.
        settings = tg_settings(
            tmp_path, fake, delivery={"concurrency": 1}, web={"public_url": base}
        )
        bot = await start_bot(settings, clock)
        late.app = build_web_app(None, "", app=bot.app)
        try:
            yield bot, base
        finally:
            await stop_bot(bot)


async def _sign_in_link(fake: FakeTelegram) -> str:
    mark = fake.mark()
    fake.user_sends(BOARD, "/web", first_name="Bảo")
    answer = await fake.wait_for(BOARD, contains="đường dẫn đăng nhập", since=mark)
    return answer.button("Mở trang quản lý")


async def test_a_board_sends_an_announcement_from_the_browser_and_sees_its_progress(
    served: tuple[Bot, str], fake: FakeTelegram, clock: FakeClock
) -> None:
    bot, base = served
    await make_role(bot.app, "telegram", str(BOARD), "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    chats = await seed(bot.app, 12)
    blocked, limited = chats[2], chats[-1]
    fake.blocked_users.add(blocked)
    # Telegram asks the bot to wait before the last message: the sending stays open until the
    # (injected) clock moves on, so the page is seen while it runs.
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests",
        retry_after=30,
        chat_id=limited,
    )
    link = await _sign_in_link(fake)
    everyone = len(chats) + 1  # and the board member, who is in the union too
    async with chromium() as browser:
        desk = await browser.new_context(**DESK, locale="vi-VN")
        page = await desk.new_page()
        await page.goto(link)
        await page.get_by_role("button", name="Vào trang quản lý").click()
        await page.wait_for_url(f"{base}/web")
        await page.get_by_role("link", name="Thông báo").first.click()
        await page.get_by_role("link", name="Soạn thông báo mới").click()
        await page.get_by_label("Nội dung thông báo").fill(TEXT)
        await page.get_by_label("Tất cả đoàn viên").check()
        # The same page on a 360 px phone, signed in with the same session.
        phone = await browser.new_context(**PHONE, locale="vi-VN")
        await phone.add_cookies(await desk.cookies())
        small = await phone.new_page()
        await small.goto(f"{base}/web/thongbao/moi")
        await small.get_by_label("Nội dung thông báo").fill(TEXT)
        await shot(small, "broadcast-compose-phone")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the compose page is {width} px wide on a 360 px phone"
        await shot(page, "broadcast-compose")
        await page.get_by_role("button", name="Xem trước").click()
        await page.get_by_text(f"Sẽ gửi tới: {everyone} đoàn viên").wait_for()
        await shot(page, "broadcast-preview")
        await page.get_by_role("button", name="Xác nhận gửi").click()
        await page.wait_for_url(f"{base}/web/thongbao/xem?so=1")
        await page.evaluate("window.stayed = true")  # gone if the page is loaded again
        # Live: the figures move without a reload until only the held-back message waits.
        progress = page.locator("[data-field=text]")
        await progress.get_by_text(f"đã xử lý {everyone - 1}/{everyone}").wait_for(timeout=15_000)
        await shot(page, "broadcast-progress")
        assert await page.evaluate("window.stayed === true")  # updated in place
        # Time passes: Telegram takes the held-back message, and the page turns into the report.
        report = page.get_by_text("đã gửi xong")
        for _ in range(100):
            if await report.count():
                break
            clock.advance(seconds=31)
            for worker in bot.app.workers:
                worker.wake()
            await asyncio.sleep(0.2)
        await report.first.wait_for()  # the page loaded itself again (poll.js) for the report
        assert await page.evaluate("window.stayed === undefined")
        headline = await page.locator("#report").inner_text()
        assert f"⚠️ Thông báo số 1 đã gửi xong: {everyone - 1}/{everyone} đã nhận" in headline
        assert "1 không liên lạc được" in headline
        missed = page.get_by_role("row").filter(has_text="không liên lạc được")
        assert await missed.count() == 1
        assert "Tổ công đoàn Văn phòng" in await missed.inner_text()
        await shot(page, "broadcast-report")
    got = received(fake, chats, "Hội nghị người lao động")
    assert set(got) == set(chats) - {blocked} and max(got.values()) == 1
    # the board's chat also had the progress message and its report, as for /thongbao
    assert any("đã gửi xong" in m.body for m in fake.messages_to(BOARD))
