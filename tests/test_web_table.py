"""The board's member table on the web: search without diacritics, filters, the Vietnamese
order, pages, the .xlsx export, and only the board's own units (refusals audited)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from models.audit import AuditEntry
from tests.people import add_member, seed
from tests.web import Site, make_role, site, unit_id

BOARD, LEADER = "2", "4"


async def _people(s: Site) -> None:
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    binh = await add_member(s.app, "Lê Văn Bình", "SCT-VP", "+84913000001")
    async with s.app.db.session() as session:
        binh.card_number = "79123456"
        session.add(binh)
        await session.commit()
    await add_member(s.app, "Nguyễn Thị Ánh", "SCT-KT", "+84913000002", gender="nu")
    await add_member(s.app, "Phạm Văn An", "SCT-VP", "+84913000003")
    await add_member(s.app, "Đỗ Minh Đức", "SCT-KT", "+84913000004", status="pending")
    await add_member(s.app, "Hoàng Văn Dũng", "SCT-VP", "+84913000005")
    await add_member(s.app, "Nguyễn Văn Xây", "SXD-VP", "+84913000006")  # another union


def _names(html: str) -> list[str]:
    """The names column of the table, top to bottom."""
    return re.findall(r'<tr><td>\d+</td><td><a href="[^"]+">([^<]+)</a></td>', html)


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        return list(
            (await session.exec(select(AuditEntry).where(AuditEntry.action == action))).all()
        )


async def test_the_table_lists_the_boards_units_in_vietnamese_order(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/doanvien")
        assert page.status_code == 200
        assert _names(page.text) == [
            "Phạm Văn An",
            "Nguyễn Thị Ánh",
            "Trần Văn Bảo",
            "Lê Văn Bình",
            "Hoàng Văn Dũng",
            "Đỗ Minh Đức",
            "Phạm Văn Tổ",
        ]
        assert "Nguyễn Văn Xây" not in page.text


async def test_search_and_filters(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        found = await browser.get("/web/doanvien", params={"q": "nguyen thi anh"})
        assert _names(found.text) == ["Nguyễn Thị Ánh"]
        by_phone = await browser.get("/web/doanvien", params={"q": "0913 000 005"})
        assert _names(by_phone.text) == ["Hoàng Văn Dũng"]
        kt = str(await unit_id(s.app, "SCT-KT"))
        in_unit = await browser.get("/web/doanvien", params={"donvi": kt})
        assert _names(in_unit.text) == ["Nguyễn Thị Ánh", "Đỗ Minh Đức"]
        women = await browser.get("/web/doanvien", params={"gioitinh": "nu"})
        assert _names(women.text) == ["Nguyễn Thị Ánh"]
        with_card = await browser.get("/web/doanvien", params={"the": "co"})
        assert _names(with_card.text) == ["Lê Văn Bình"]
        without = await browser.get("/web/doanvien", params={"the": "chua", "donvi": kt})
        assert _names(without.text) == ["Nguyễn Thị Ánh", "Đỗ Minh Đức"]
        waiting = await browser.get("/web/doanvien", params={"trangthai": "pending"})
        assert _names(waiting.text) == ["Đỗ Minh Đức"]
        odd = await browser.get("/web/doanvien", params={"gioitinh": "x", "trangthai": "' OR 1=1"})
        assert len(_names(odd.text)) == 7  # unknown filter values are ignored


async def test_another_unions_unit_is_refused_and_audited(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        sxd = await unit_id(s.app, "SXD-VP")
        refused = await browser.get("/web/doanvien", params={"donvi": str(sxd)})
        assert refused.status_code == 403
        assert "Nguyễn Văn Xây" not in refused.text
        denied = await _audit(s, "access_denied")
        assert [(d.actor, d.target) for d in denied] == [(f"console:{BOARD}", f"unit:{sxd}")]


async def test_pages_of_fifty(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await seed(s.app, 60, "SCT-VP")
        await s.sign_in(browser, BOARD)
        first = await browser.get("/web/doanvien")
        assert len(_names(first.text)) == 50 and "67 người (trang 1/2)" in first.text
        second = await browser.get("/web/doanvien", params={"trang": "2"})
        assert len(_names(second.text)) == 17
        assert set(_names(first.text)).isdisjoint(_names(second.text))


async def test_the_export_is_the_xuatds_file(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        answer = await browser.get("/web/doanvien.xlsx")
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].startswith(
            'attachment; filename="doan-vien-SCT-'
        )
        sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
        names = [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
        assert "Nguyễn Thị Ánh" in names and "Nguyễn Văn Xây" not in names
        assert [a.target for a in await _audit(s, "members_exported")] == ["SCT"]


async def test_a_to_truong_sees_only_their_tổ_and_no_export(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, LEADER)
        own = await browser.get("/web/doanvien")
        assert own.status_code == 200
        assert _names(own.text) == ["Phạm Văn An", "Lê Văn Bình", "Hoàng Văn Dũng", "Phạm Văn Tổ"]
        assert "/web/doanvien.xlsx" not in own.text and "/web/doanvien/nhap" not in own.text
        kt = await unit_id(s.app, "SCT-KT")
        refused = await browser.get("/web/doanvien", params={"donvi": str(kt)})
        assert refused.status_code == 403 and "Nguyễn Thị Ánh" not in refused.text
        assert (await browser.get("/web/doanvien.xlsx")).status_code == 403
        denied = await _audit(s, "access_denied")
        assert [d.target for d in denied] == [f"unit:{kt}", "web:/web/doanvien.xlsx"]
