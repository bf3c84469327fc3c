"""The web pages in a real headless Chromium: a member fills the registration form on a
phone-sized screen, opened as a Telegram Mini App would open it (the signed data in the
address's #tgWebAppData), and the board approves it on the dashboard after signing in with
the link /web gives. Skipped, saying why, where Chromium is not installed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlmodel import select

from models import emulation, units
from models.emulation import Pledge
from models.members import Member
from tests.browser import DESK, PHONE, chromium, shot
from tests.emulation_world import BOARD as EMULATION_BOARD
from tests.emulation_world import REVIEW_TIME, pledged_world
from tests.web import Site, make_role, mini_app_data

pytestmark = pytest.mark.e2e

LAN_TELEGRAM = 5551
BOARD = "2"


async def _open_campaign(s: Site) -> None:
    titles = [title.model_dump() for title in s.app.settings.emulation.titles]
    async with s.app.db.session() as session:
        unit = await units.by_code(session, "SCT")
        assert unit is not None and unit.id is not None
        await emulation.create_campaign(
            session=session,
            unit_id=unit.id,
            year=2026,
            deadline=s.clock.now() + timedelta(days=10),
            titles=titles,
            targets=[],
            created_by=None,
            now=s.clock.now(),
        )
        await session.commit()


async def _board_signs_in(browser: Any, s: Site, base: str, user: str) -> tuple[Any, Any]:
    """A desk browser signed in with the link /web gives `user`: (its context, the home page)."""
    link = await s.link_from_chat(user)
    desk = await browser.new_context(**DESK, locale="vi-VN")
    page = await desk.new_page()
    await page.goto(base + link)
    await page.get_by_role("button", name="Vào trang quản lý").click()
    await page.wait_for_url(f"{base}/web")
    return desk, page


async def _status_of(s: Site, name: str) -> str:
    async with s.app.db.session() as session:
        found = (await session.exec(select(Member).where(Member.full_name == name))).first()
    assert found is not None
    return found.status


async def test_a_member_registers_on_a_phone_and_the_board_approves(
    served: tuple[Site, str],
) -> None:
    s, base = served
    await make_role(s.app, "console", BOARD, "Trần Văn Bình", "SCT", "bch", "+84901111111")
    data = mini_app_data(LAN_TELEGRAM, auth_date=int(s.clock.now().timestamp()))
    async with chromium() as browser:
        phone = await browser.new_context(**PHONE, locale="vi-VN")
        page = await phone.new_page()
        # As Telegram opens it: the data as one encoded parameter of the address's fragment.
        fragment = f"tgWebAppData={quote(data, safe='')}&tgWebAppVersion=8.0"
        await page.goto(f"{base}/web/tg?next=/web/dangky#{fragment}")
        await page.wait_for_url(f"{base}/web/dangky")
        await page.get_by_label("Đơn vị").select_option(label="\u00a0\u00a0Tổ công đoàn Văn phòng")
        await page.get_by_label("Họ và tên").fill("nguyễn thị lan")
        await page.get_by_label("Nữ").check()
        await page.get_by_label("Ngày sinh").fill("05/09/1990")
        await page.get_by_label("Số điện thoại").fill("0912")  # too short: the chat's message
        await page.get_by_label("Chức vụ, công việc").fill("Chuyên viên phòng Kế hoạch")
        await page.get_by_role("button", name="Gửi đăng ký").click()
        error = page.locator("#e-phone")
        await error.wait_for()
        assert "0912" not in (await error.inner_text())
        assert await page.get_by_label("Số điện thoại").get_attribute("aria-invalid") == "true"
        await shot(page, "registration-error-phone")
        await page.get_by_label("Số điện thoại").fill("0912 345 678")
        await shot(page, "registration-phone")
        await page.get_by_role("button", name="Gửi đăng ký").click()
        await page.get_by_text("Đã gửi yêu cầu đăng ký tới Ban Chấp hành").wait_for()
        await shot(page, "registration-sent-phone")
        assert await _status_of(s, "Nguyễn Thị Lan") == "pending"
        assert "Đã gửi yêu cầu đăng ký" in s.telegram.texts(str(LAN_TELEGRAM))

        _desk, board = await _board_signs_in(browser, s, base, BOARD)
        await board.get_by_role("link", name="Yêu cầu đăng ký chờ duyệt").first.click()
        await board.get_by_label("Nguyễn Thị Lan").check()
        await shot(board, "pending-requests")
        await board.get_by_role("button", name="Duyệt các yêu cầu đã chọn").click()
        await board.get_by_text("Đã duyệt 1 đoàn viên.").wait_for()
        assert await _status_of(s, "Nguyễn Thị Lan") == "active"
        assert "đã được Ban Chấp hành duyệt" in s.telegram.texts(str(LAN_TELEGRAM))
        await board.get_by_role("link", name="Danh sách đoàn viên").first.click()
        await board.get_by_label("Tìm theo tên, số điện thoại hoặc số thẻ").fill("nguyen thi")
        await board.get_by_role("button", name="Lọc danh sách").click()
        await board.get_by_role("cell", name="Nguyễn Thị Lan").wait_for()
        await shot(board, "member-table")
        # Now a member, Lan opens the menu button's page again: her profile is offered.
        fresh = mini_app_data(LAN_TELEGRAM, auth_date=int(s.clock.now().timestamp()))
        await page.goto(f"{base}/web/tg?next=/web#tgWebAppData={quote(fresh, safe='')}")
        await page.wait_for_url(f"{base}/web")
        await page.get_by_role("link", name="Hồ sơ đoàn viên của tôi").first.click()
        await page.get_by_label("Email").fill("lan.nguyen@gmail.com")
        await page.get_by_label("Ngày vào công đoàn").fill("01/06/2015")
        await page.get_by_role("button", name="Lưu hồ sơ").click()
        await page.get_by_text("Đã lưu: 2 mục thay đổi.").wait_for()
        await shot(page, "profile-phone")
        # The year's emulation campaign is open: she pledges from the same page's menu.
        await _open_campaign(s)
        await page.goto(f"{base}/web")
        await page.get_by_role("link", name="Đăng ký thi đua").first.click()
        await page.get_by_label("Lao động tiên tiến").check()
        await page.get_by_label("Cam kết, phấn đấu của anh/chị").fill("Hoàn thành tốt nhiệm vụ")
        await page.get_by_role("button", name="Lưu đăng ký").click()
        await page.get_by_text("Đã ghi nhận đăng ký thi đua năm 2026").first.wait_for()
        await shot(page, "pledges-phone")
        # Signing out ends the session: the page asks to sign in again.
        await board.get_by_role("button", name="Đăng xuất").click()
        await board.get_by_text("đã đăng xuất").wait_for()
        answer = await board.goto(f"{base}/web/duyet")
        assert answer is not None and answer.status == 401


async def test_the_board_follows_emulation_and_records_a_review(
    served: tuple[Site, str],
) -> None:
    s, base = served
    await pledged_world(s)
    s.clock.set(REVIEW_TIME)
    async with chromium() as browser:
        desk, page = await _board_signs_in(browser, s, base, EMULATION_BOARD)
        await page.get_by_role("link", name="Tiến độ thi đua").first.click()
        await page.get_by_role("heading", name="Tiến độ thi đua năm 2026").wait_for()
        await page.get_by_role("row", name="Lao động tiên tiến 14 17 82\u00a0%").wait_for()
        # the report's chart, drawn by the server, is shown (and described in its alt text)
        chart = page.get_by_role("img", name="Biểu đồ tỷ lệ đoàn viên đã đăng ký", exact=False)
        await chart.wait_for()
        await page.wait_for_function(
            "() => { const i = document.querySelector('img.chart');"
            " return i.complete && i.naturalWidth > 0; }"
        )
        await shot(page, "emulation-progress")
        phone = await browser.new_context(**PHONE, locale="vi-VN")
        await phone.add_cookies(await desk.cookies())
        small = await phone.new_page()
        await small.goto(f"{base}/web/thidua/tiendo")
        await small.get_by_role("heading", name="Tiến độ thi đua năm 2026").wait_for()
        await shot(small, "emulation-progress-phone")
        await page.get_by_role("link", name="Ghi kết quả bình xét cuối năm").click()
        decision = page.get_by_role("group", name="Đoàn Viên Số V0: Lao động tiên tiến")
        await decision.get_by_label("Đạt", exact=True).check()
        await shot(page, "emulation-review")
        await page.get_by_role("button", name="Lưu kết quả bình xét").click()
        await page.get_by_text("Đã lưu 1 kết quả bình xét.").wait_for()
        await shot(page, "emulation-review-saved")
    async with s.app.db.session() as session:
        rows = (await session.exec(select(Pledge, Member).join(Member))).all()
    decided = {(m.full_name, p.title_code): p.result for p, m in rows if p.result}
    assert decided == {("Đoàn Viên Số V0", "LDTT"): "dat"}
