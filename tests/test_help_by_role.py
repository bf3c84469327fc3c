"""/trogiup lists what this person can use: the organisers' commands only for those who
organise (the board and tổ trưởng)."""

from __future__ import annotations

from bot.app import App
from models import members, roles, units
from tests.conftest import ConsoleUser
from tests.people import add_member

ORGANISERS = ("/hop ", "/quanlyhop ", "/thidua_tapthe ")


async def _member(app: App, user: str, name: str, phone: str, role: str | None = None) -> None:
    member = await add_member(app, name, "SCT-VP", phone)
    async with app.db.session() as session:
        ident = await members.ensure_identity(session, "console", user, name)
        ident.member_id = member.id
        if role is not None:
            unit = await units.by_code(session, "SCT-VP")
            assert unit is not None
            await roles.grant(session, member.id, role, unit, "test")  # type: ignore[arg-type]
        await session.commit()


async def test_plain_member_sees_only_what_they_can_use(app: App, console: ConsoleUser) -> None:
    await _member(app, "5001", "Trần Thị Mai", "+84911222001")
    await console.as_user("5001", "Mai")
    out = await console.say("/trogiup")
    assert "/hoso " in out and "/lichhop " in out and "/thidua " in out
    assert [c for c in ORGANISERS if c in out] == [], out


async def test_to_truong_and_board_see_the_organisers_commands(
    app: App, console: ConsoleUser
) -> None:
    await _member(app, "5002", "Lê Văn Tổ", "+84911222002", role="to_truong")
    await console.as_user("5002", "Tổ")
    out = await console.say("/trogiup")
    assert [c for c in ORGANISERS if c in out] == list(ORGANISERS), out
    assert "/choduyet " not in out
    await console.as_user("1", "Quản trị")
    out = await console.say("/trogiup")
    assert [c for c in ORGANISERS if c in out] == list(ORGANISERS), out
