"""Board tools: approve/reject, refusals for members, list, search without diacritics, export,
roster import with automatic approval, roles."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.app import App
from bot.i18n import Translator
from handlers.members.roster import import_roster
from models import members
from models.audit import AuditEntry
from models.members import Member
from tests.conftest import ConsoleUser, private_event
from tests.console_flows import register_lan
from tests.people import add_member, make_board


async def test_unit_board_member_gets_request_and_rejects_with_reason(
    app: App, console: ConsoleUser
) -> None:
    await make_board(app, "2001", "Phạm Văn Chủ", "SCT")
    await register_lan(console)
    out = await console.say("1")
    assert "console:2001" in out  # the BCH of SCT was told
    await console.as_user("2001", "Chủ tịch")
    out = await console.say("2")  # ✖ Từ chối
    assert "lý do từ chối" in out
    out = await console.say("ab")
    assert "ngắn quá" in out
    out = await console.say("Sai đơn vị, vui lòng chọn tổ Kỹ thuật")
    assert "Đã từ chối" in out and "Sai đơn vị" in out  # the registrant hears the reason
    out = await console.say("/choduyet")
    assert "Không có yêu cầu" in out
    async with app.db.session() as session:
        member = (
            await session.exec(select(Member).where(Member.full_name == "Nguyễn Thị Lan"))
        ).one()
        assert member.status == "rejected"
    # the registrant may register again
    await console.as_user("1001", "Lan")
    out = await console.say("/dangky")
    assert "Bước 1/8" in out


async def test_the_registrant_is_answered_before_the_board_is_told(
    app: App, console: ConsoleUser
) -> None:
    """The person who pressed «Gửi đăng ký» is waiting for the answer; the board members told
    about the request are not, so their messages go after it."""
    await make_board(app, "2001", "Phạm Văn Chủ", "SCT")
    await register_lan(console)
    out = await console.say("1")
    submitted = out.index("Đã gửi yêu cầu đăng ký tới Ban Chấp hành")
    assert out.index("── tin gửi tới người dùng console:2001") > submitted
    assert out.index("Yêu cầu đăng ký đoàn viên mới") > submitted


async def test_board_of_other_union_cannot_approve(app: App, console: ConsoleUser) -> None:
    await make_board(app, "3001", "Lê Thị Xây", "SXD")
    await register_lan(console)
    await console.say("1")
    async with app.db.session() as session:
        lan = (await session.exec(select(Member).where(Member.status == "pending"))).one()
    await console.as_user("3001", "BCH SXD")
    await app.handle(private_event("3001", "BCH SXD", payload=f"v1:appr:ok:{lan.id}"))
    assert "không thuộc phạm vi" in console.out.getvalue()
    async with app.db.session() as session:
        assert (await members.get(session, lan.id)).status == "pending"  # type: ignore[arg-type, union-attr]


async def test_member_refused_board_commands_and_logged(app: App, console: ConsoleUser) -> None:
    await add_member(app, "Nguyễn Văn An", "SCT-VP", "+84911111111")
    for command in ("/doanvien", "/xuatds", "/choduyet", "/timkiem an"):
        out = await console.say(command)
        assert "chỉ dành cho Ban Chấp hành" in out
    async with app.db.session() as session:
        denied = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "access_denied"))
        ).all()
        assert len(denied) == 4 and denied[0].actor == "console:1001"


async def test_list_search_and_export(app: App, console: ConsoleUser, tmp_path: Path) -> None:
    await make_board(app, "2001", "Phạm Văn Chủ", "SCT")
    for i in range(20):
        await add_member(app, f"Nguyễn Văn Thành {chr(65 + i)}", "SCT-VP", f"+8491200{i:04d}")
    await add_member(app, "Đặng Thị Ánh", "SCT-KT", "+84988777666", gender="nu")
    await add_member(app, "Ngô Văn Ngoài", "SXD-VP", "+84977000111")
    await console.as_user("2001", "Chủ tịch")
    out = await console.say("/doanvien")
    assert "22 người (trang 1/2)" in out and "Ngô Văn Ngoài" not in out
    out = await console.say("/timkiem dang thi anh")
    assert "Tìm thấy 1" in out and "Đặng Thị Ánh" in out
    out = await console.say("1")
    assert "0988 777 666" in out  # personal data in the board's private chat only
    out = await console.say("/timkiem ngoai")
    assert "Không tìm thấy" in out  # another union's member stays invisible
    out = await console.say("/xuatds")
    files = list((tmp_path / "exports").glob("doan-vien-SCT-*.xlsx"))
    assert len(files) == 1 and "đã lưu" in out
    wb = load_workbook(files[0])
    rows = list(wb["Tất cả"].iter_rows(min_row=4, values_only=True))
    assert len(rows) == 22
    assert {r[7] for r in rows} == {"SCT", "SCT-VP", "SCT-KT"}
    assert "SCT-VP" in wb.sheetnames and "SCT-KT" in wb.sheetnames


def roster_file(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH ĐOÀN VIÊN"])
    ws.append(
        [
            "STT",
            "Họ và tên",
            "Giới tính",
            "Ngày sinh",
            "Số điện thoại",
            "Mã đơn vị",
            "Số thẻ đoàn viên",
        ]
    )
    ws.append([1, "Nguyễn Thị Lan", "Nữ", "05/09/1990", "0912 345 678", "SCT-VP", "79123456"])
    ws.append([2, "Trần Văn Bình", "Nam", date(1985, 1, 2), "0987654321", "SCT-KT", ""])
    ws.append([3, "Lỗi Đơn Vị", "Nam", "01/01/1980", "0977111222", "KHONGCO", ""])
    ws.append([4, "Số Sai", "Nam", "01/01/1980", "12345", "SCT-KT", ""])
    wb.save(path)
    return path


async def test_roster_import_then_self_registration_is_auto_approved(
    app: App, console: ConsoleUser, tmp_path: Path
) -> None:
    async with app.db.session() as session:
        t = Translator("vi", app.settings.tz)
        path = roster_file(tmp_path / "ds.xlsx")
        report = await import_roster(session, path, date(2026, 11, 23), t)
        await session.commit()
    assert (report.created, report.updated, report.skipped) == (2, 0, 2)
    assert any("KHONGCO" in e for e in report.errors)
    await register_lan(console)
    out = await console.say("1")
    assert "khớp với danh sách đoàn viên" in out
    async with app.db.session() as session:
        lan = (await session.exec(select(Member).where(Member.phone == "+84912345678"))).all()
        assert len(lan) == 1 and lan[0].status == "active"


async def test_admin_grants_role_in_chat(app: App, console: ConsoleUser) -> None:
    member = await add_member(app, "Võ Văn Tổ", "SCT-VP", "+84933000111")
    out = await console.say(f"/phanquyen {member.id} bch SCT")
    assert "chỉ dành cho Ban Chấp hành" in out  # a guest is refused
    await console.as_user("1", "Quản trị")
    out = await console.say(f"/phanquyen {member.id} to_truong SCT-VP")
    assert "Đã giao vai trò Tổ trưởng" in out
    out = await console.say("/phanquyen 999 bch SCT")
    assert "Không có đoàn viên mã 999" in out


async def test_language_switch_to_english(console: ConsoleUser) -> None:
    out = await console.say("/ngonngu")
    assert "English" in out
    out = await console.say("2")
    assert "Switched to English" in out
    out = await console.say("/dangky SCT-VP")
    assert "Step 2/8" in out and "full name" in out.lower()
