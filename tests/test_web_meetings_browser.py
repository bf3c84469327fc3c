"""The meetings and polls pages in a real headless Chromium: the board signs in with the link
/web gives, opens its meetings from the navigation, a meeting's answers, then a poll's
results (on a desk screen and on a 360 px phone). Skipped, saying why, where Chromium is not
installed. Screenshots go to CONGDOAN_SCREENSHOTS (docs/screenshots)."""

from __future__ import annotations

import pytest

from tests.browser import DESK, PHONE, chromium, shot
from tests.meetings_polls import BOARD, meeting, people, two_polls, vp_meeting
from tests.web import Site

pytestmark = pytest.mark.e2e


async def test_the_board_reads_a_meetings_answers_and_a_polls_results(
    served: tuple[Site, str],
) -> None:
    s, base = served
    ids = await people(s)
    await vp_meeting(s, ids)
    named, _secret = await two_polls(s, ids)
    started = await meeting(  # began ten minutes ago: attendance is taken on the page
        s,
        "SCT-VP",
        "Họp tổ đột xuất",
        {ids["Phạm Văn An"]: ("yes", None, False), ids["Lê Văn Bình"]: ("yes", None, True)},
        hours=-1 / 6,
    )
    link = await s.link_from_chat(BOARD)
    async with chromium() as browser:
        desk = await browser.new_context(**DESK, locale="vi-VN")
        page = await desk.new_page()
        await page.goto(base + link)
        await page.get_by_role("button", name="Vào trang quản lý").click()
        await page.wait_for_url(f"{base}/web")
        await page.get_by_role("link", name="Cuộc họp").first.click()
        await page.get_by_role("link", name="Sinh hoạt tổ tháng 12").click()
        await page.get_by_role("cell", name="Đi công tác").wait_for()
        await shot(page, "meeting-answers")
        await page.get_by_role("link", name="Chưa trả lời (1)").click()
        await page.get_by_role("cell", name="Phạm Văn An").wait_for()
        assert await page.get_by_role("cell", name="Nguyễn Thị Ánh").count() == 0
        await page.get_by_role("link", name="Bình chọn").first.click()
        await page.get_by_role("link", name="Đi dã ngoại thứ Bảy?").click()
        await page.get_by_role("heading", name="Ai chọn gì").wait_for()
        row = page.get_by_role("row", name="1. Có")
        assert "67%" in await row.inner_text()
        await shot(page, "poll-results")
        phone = await browser.new_context(**PHONE, locale="vi-VN")
        await phone.add_cookies(await desk.cookies())
        small = await phone.new_page()
        await small.goto(f"{base}/web/binhchon/xem?id={named}")
        await small.get_by_role("heading", name="Ai chọn gì").wait_for()
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width  # nothing wider than the phone's screen
        await shot(small, "poll-results-phone")
        await page.get_by_role("link", name="Cuộc họp").first.click()
        await shot(page, "meetings")
        await page.get_by_role("link", name="Họp tổ đột xuất").click()
        await page.get_by_label("Có mặt: Phạm Văn An").check()
        await page.get_by_role("button", name="Lưu điểm danh").click()
        await page.get_by_text("Đã lưu điểm danh: 1 thay đổi.").wait_for()
        assert await page.get_by_label("Có mặt: Phạm Văn An").is_checked()
        await shot(page, "meeting-attendance")
        assert page.url.startswith(f"{base}/web/hop/xem?id={started}")
