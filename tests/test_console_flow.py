"""The registration and approval flows, driven through the console adapter as a person types."""

from __future__ import annotations

from sqlmodel import select

from bot.app import App
from models.audit import AuditEntry
from models.members import Member
from tests.conftest import ConsoleUser
from tests.console_flows import register_lan


async def test_register_and_approve(app: App, console: ConsoleUser) -> None:
    await register_lan(console)
    out = await console.say("1")  # ✔ Gửi đăng ký
    assert "Đã gửi yêu cầu đăng ký" in out
    # the config admin console:1 got the request with buttons
    assert "tin gửi tới người dùng console:1" in out and "Duyệt" in out
    await console.as_user("1", "Quản trị")
    out = await console.say("1")  # ✔ Duyệt
    assert "Đã duyệt đoàn viên Nguyễn Thị Lan" in out
    assert "console:1001" in out and "đã được Ban Chấp hành duyệt" in out
    async with app.db.session() as session:
        member = (await session.exec(select(Member))).one()
        assert member.status == "active" and member.phone == "+84912345678"
        actions = [a.action for a in (await session.exec(select(AuditEntry))).all()]
        assert "member_approved" in actions
    await console.as_user("1001", "Lan")
    out = await console.say("/hoso")
    assert "Nguyễn Thị Lan" in out and "05/09/1990" in out
