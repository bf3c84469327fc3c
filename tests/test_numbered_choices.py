"""Apps without buttons (the console, Zalo): numbered choices stay unambiguous when several cards
are on screen at once, and typing a choice's label works like typing its number."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from models.members import Member
from tests.conftest import ConsoleUser
from tests.console_flows import register_lan
from tests.fakes.zalo import FakeZalo
from tests.people import add_member
from tests.zl import ZADMIN, ZBot, zsay


async def _statuses(app: App) -> dict[str, str]:
    async with app.db.session() as session:
        return {m.full_name: m.status for m in (await session.exec(select(Member))).all()}


async def _two_requests(app: App) -> None:
    await add_member(app, "Trần Văn Bình", "SCT-VP", "+84911000001", status="pending")
    await add_member(app, "Lê Thị Cúc", "SCT-KT", "+84911000002", status="pending")


async def test_choduyet_numbers_across_cards_in_the_console(app: App, console: ConsoleUser) -> None:
    await _two_requests(app)
    await console.as_user("1", "Quản trị")
    out = await console.say("/choduyet")
    numbers = re.findall(r"\[(\d+)\] (.+)", out)
    assert [n for n, _ in numbers] == ["1", "2", "3", "4"], out
    assert "Trần Văn Bình" in out.split("[1]")[0]  # the first card is Bình's
    out = await console.say("1")
    assert "Đã duyệt đoàn viên Trần Văn Bình" in out
    assert await _statuses(app) == {"Trần Văn Bình": "active", "Lê Thị Cúc": "pending"}
    out = await console.say("3")  # the second card's «Duyệt», still numbered 3
    assert "Đã duyệt đoàn viên Lê Thị Cúc" in out


async def test_choduyet_numbers_across_cards_on_zalo(zfake: FakeZalo, zbot: ZBot) -> None:
    await _two_requests(zbot.app)
    mark = zfake.mark()
    zfake.user_sends(ZADMIN, "/choduyet")
    second = await zfake.wait_for(ZADMIN, contains="Lê Thị Cúc", since=mark)
    first = next(m for m in zfake.sent[mark:] if "Trần Văn Bình" in m.body)
    assert "1. ✔ Duyệt" in first.body and "2. ✖ Từ chối" in first.body
    assert "3. ✔ Duyệt" in second.body and "4. ✖ Từ chối" in second.body
    assert "Trả lời 3 hoặc 4" in second.body
    await zsay(zfake, ZADMIN, "1", "Đã duyệt đoàn viên Trần Văn Bình")
    assert (await _statuses(zbot.app))["Lê Thị Cúc"] == "pending"
    await zsay(zfake, ZADMIN, "3", "Đã duyệt đoàn viên Lê Thị Cúc")


async def test_typing_the_label_at_the_confirm_step_in_the_console(
    app: App, console: ConsoleUser
) -> None:
    await register_lan(console)
    out = await console.say("gửi đăng ký")  # the label of «✔ Gửi đăng ký», as typed
    assert "Đã gửi yêu cầu đăng ký" in out


async def test_typing_the_label_at_the_confirm_step_on_zalo(zfake: FakeZalo, zbot: ZBot) -> None:
    user = "7777"
    await zsay(zfake, user, "/dangky SCT-VP", "Bước 2/8")
    await zsay(zfake, user, "Nguyễn Thị Lan", "Bước 3/8")
    await zsay(zfake, user, "nữ", "Bước 4/8")
    await zsay(zfake, user, "05/09/1990", "Bước 5/8")
    await zsay(zfake, user, "0912345678", "Bước 6/8")
    await zsay(zfake, user, "Chuyên viên", "Bước 7/8")
    await zsay(zfake, user, "Bo qua", "Bước 8/8")  # «Bỏ qua» typed without accents
    await zsay(zfake, user, "01/06/2015", "Gửi đăng ký")
    await zsay(zfake, user, "Gửi đăng ký", "Đã gửi yêu cầu đăng ký")
