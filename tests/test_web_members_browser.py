"""The member table in a real headless Chromium: a tổ trưởng signs in, sees their own tổ,
and a hand-typed address for another tổ, or for another tổ's member, gets the refusal page
(audited); the board edits a member and previews a roster import (screenshots). Skipped,
saying why, where Chromium is not installed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import select

from models.audit import AuditEntry
from tests.browser import DESK, chromium, shot
from tests.people import add_member
from tests.web import Site, make_role, unit_id

pytestmark = pytest.mark.e2e

BOARD, LEADER = "2", "4"
REFUSAL = "Xin lỗi, đơn vị này không thuộc phạm vi anh/chị quản lý."


async def _sign_in(s: Site, browser: Any, base: str, user: str) -> Any:
    desk = await browser.new_context(**DESK, locale="vi-VN")
    page = await desk.new_page()
    await page.goto(base + await s.link_from_chat(user))
    await page.get_by_role("button", name="Vào trang quản lý").click()
    await page.wait_for_url(f"{base}/web")
    return page


async def _denied(s: Site) -> list[tuple[str, str]]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == "access_denied")
        return [(a.actor, a.target) for a in (await session.exec(query.order_by(AuditEntry.id)))]


async def test_a_to_truong_cannot_open_another_to(served: tuple[Site, str]) -> None:
    s, base = served
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    await add_member(s.app, "Lê Văn Bình", "SCT-VP", "+84913000001")
    anh = await add_member(s.app, "Nguyễn Thị Ánh", "SCT-KT", "+84913000002", gender="nu")
    kt = await unit_id(s.app, "SCT-KT")
    async with chromium() as browser:
        page = await _sign_in(s, browser, base, LEADER)
        await page.get_by_role("link", name="Danh sách đoàn viên").first.click()
        await page.get_by_role("cell", name="Lê Văn Bình").wait_for()
        assert await page.get_by_text("Nguyễn Thị Ánh").count() == 0
        await page.get_by_role("link", name="Lê Văn Bình").click()
        await page.get_by_role("heading", name="Lê Văn Bình").wait_for()
        assert await page.get_by_role("button", name="Lưu hồ sơ").count() == 0
        # Hand-typed addresses: another tổ's list, another tổ's member.
        for path in (f"/web/doanvien?donvi={kt}", f"/web/doanvien/hoso?id={anh.id}"):
            answer = await page.goto(base + path)
            assert answer is not None and answer.status == 403
            await page.get_by_text(REFUSAL).wait_for()
            assert await page.get_by_text("Nguyễn Thị Ánh").count() == 0
    assert await _denied(s) == [
        (f"console:{LEADER}", f"unit:{kt}"),
        (f"console:{LEADER}", f"member:{anh.id}"),
    ]


def _roster() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["STT", "Họ và tên", "Giới tính", "Số điện thoại", "Chức vụ", "Mã đơn vị"])
    ws.append([1, "Đặng Thị Hoa", "Nữ", "0914 000 001", "Kế toán viên", "SCT-KT"])
    ws.append([2, "Lê Văn Bình", "Nam", "0913000001", "Trưởng phòng Kế hoạch", "SCT-KT"])
    ws.append([3, "Số Sai", "Nam", "12345", "", "SCT-KT"])
    ws.append([4, "Người Ngoài", "Nam", "0914 000 004", "", "SXD-VP"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


async def test_the_board_edits_a_member_and_previews_an_import(served: tuple[Site, str]) -> None:
    s, base = served
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    binh = await add_member(s.app, "Lê Văn Bình", "SCT-VP", "+84913000001")
    async with chromium() as browser:
        page = await _sign_in(s, browser, base, BOARD)
        await page.goto(f"{base}/web/doanvien/hoso?id={binh.id}")
        await page.get_by_label("Số điện thoại").fill("0912")
        await page.get_by_label("Email").fill("binh.le@gmail.com")
        await page.get_by_role("button", name="Lưu hồ sơ").click()
        await page.locator("#e-phone").wait_for()
        await shot(page, "member-edit")
        await page.goto(f"{base}/web/doanvien/nhap")
        await page.get_by_label("Tệp danh sách (.xlsx)").set_input_files(
            files=[
                {
                    "name": "danh-sach.xlsx",
                    "mimeType": "application/octet-stream",
                    "buffer": _roster(),
                }
            ]
        )
        await page.get_by_role("button", name="Xem trước thay đổi").click()
        await page.get_by_role("heading", name="Xem trước khi nhập danh sách").wait_for()
        await page.get_by_text("Trưởng phòng Kế hoạch").wait_for()
        await shot(page, "roster-import-preview")
        await page.get_by_role("button", name="Xác nhận nhập danh sách").click()
        await page.get_by_text("Đã nhập danh sách: 1 người mới, 1 người được cập nhật").wait_for()
