"""Lists of people in Vietnamese order: by given name (the last word), then family and middle
names, letters in the Vietnamese alphabet (a ă â … d đ … o ô ơ … u ư) and tones in dictionary
order (ngang, huyền, hỏi, ngã, sắc, nặng)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from bot.app import App
from bot.textutil import vi_sort_key
from models import members, units
from models.meetings import Invite, Meeting
from models.members import Member
from tests.conftest import ConsoleUser
from tests.people import add_member, make_board

IN_ORDER = [
    "Nguyễn Văn An",
    "Phạm Văn Anh",
    "Đỗ Thị Ánh",
    "Trần Văn Bình",
    "Lê Thị Dung",
    "Hoàng Văn Đức",
    "Lê Thị Mai",
    "Nguyễn Thị Mai",
    "Vũ Thị Oanh",
    "Bùi Văn Ổn",
    "Lý Văn Uy",
    "Trịnh Văn Ước",
]


def test_the_key_sorts_by_given_name_the_vietnamese_way() -> None:
    assert sorted(reversed(IN_ORDER), key=vi_sort_key) == IN_ORDER
    tones = ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ"]  # ngang, huyền, hỏi, ngã, sắc, nặng
    assert sorted(reversed(tones), key=vi_sort_key) == tones
    letters = ["A", "Ă", "Â", "D", "Đ", "O", "Ô", "Ơ", "U", "Ư"]
    assert sorted(reversed(letters), key=vi_sort_key) == letters
    assert vi_sort_key("nguyễn  văn AN") == vi_sort_key("Nguyễn Văn An")


async def _everyone(app: App) -> None:
    await make_board(app, "2001", "Phạm Văn Chủ", "SCT")
    for i, name in enumerate(reversed(IN_ORDER)):
        await add_member(app, name, "SCT-VP", f"+8491300{i:04d}")


async def test_member_list_search_and_export_in_vietnamese_order(
    app: App, console: ConsoleUser, tmp_path: Path
) -> None:
    await _everyone(app)
    await console.as_user("2001", "Chủ tịch")
    out = await console.say("/doanvien")
    listed = re.findall(r"^\d+\. (.+)$", out, flags=re.MULTILINE)
    assert [n for n in listed if n in IN_ORDER] == IN_ORDER, out
    out = await console.say("/timkiem mai")
    found = re.findall(r"\[\d+\] (.+?) \(", out)
    assert found == ["Lê Thị Mai", "Nguyễn Thị Mai"], out
    await console.say("/xuatds")
    (file,) = (tmp_path / "exports").glob("doan-vien-SCT-*.xlsx")
    rows = list(load_workbook(file)["Tất cả"].iter_rows(min_row=4, values_only=True))
    assert [r[1] for r in rows if r[1] in IN_ORDER] == IN_ORDER


async def test_meeting_answers_listed_in_vietnamese_order(app: App, console: ConsoleUser) -> None:
    await _everyone(app)
    async with app.db.session() as session:
        unit = await units.by_code(session, "SCT-VP")
        assert unit is not None
        people = (await session.exec(select(Member))).all()
        now = app.clock.now()
        meeting = Meeting(
            unit_id=unit.id,  # type: ignore[arg-type]
            title="Họp tổ",
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=1),
            created_at=now,
            updated_at=now,
        )
        session.add(meeting)
        await session.flush()
        for person in sorted(people, key=lambda p: p.phone or ""):
            if person.full_name in IN_ORDER:
                session.add(Invite(meeting_id=meeting.id, member_id=person.id))  # type: ignore[arg-type]
        await session.commit()
    await console.as_user("1", "Quản trị")
    await console.say("/quanlyhop")
    out = await console.say("1")
    line = next(x for x in out.splitlines() if x.startswith("Chưa trả lời"))
    assert line.split(": ", 1)[1].split(", ") == IN_ORDER, line


async def test_people_in_a_list_are_put_in_vietnamese_order(app: App) -> None:
    await _everyone(app)
    async with app.db.session() as session:
        shuffled = sorted((await session.exec(select(Member))).all(), key=lambda m: m.phone or "")
    assert [m.full_name for m in members.by_name(shuffled) if m.full_name in IN_ORDER] == IN_ORDER


def test_marks_that_no_letter_takes_do_not_break_the_order() -> None:
    """"İ" lowers to i + a combining dot that composes with nothing; foreign names and odd
    keyboards bring such marks. They are left out of the key instead of failing."""
    from models.names import vi_sort_key, vi_sort_text

    assert vi_sort_key("Zalo Viên İ") == vi_sort_key("Zalo Viên i")
    assert vi_sort_text("Zalo Viên İ") == vi_sort_text("Zalo Viên i")
    assert vi_sort_text("x\u0306") == vi_sort_text("x")
