"""/phanquyen as admins type it: «bỏ» with its accent removes a role, an unknown last word is
refused with the usage, and a member number nobody has is said so."""

from __future__ import annotations

from bot.app import App
from models import roles
from tests.conftest import ConsoleUser
from tests.people import add_member


async def _roles_of(app: App, member_id: int) -> list[tuple[str, str]]:
    async with app.db.session() as session:
        return [(role, unit.code) for role, unit in await roles.of_member(session, member_id)]


async def test_phanquyen_bo_with_accent_removes(app: App, console: ConsoleUser) -> None:
    member = await add_member(app, "Võ Văn Tổ", "SCT-VP", "+84933000111")
    await console.as_user("1", "Quản trị")
    out = await console.say(f"/phanquyen {member.id} bch SCT")
    assert "Đã giao vai trò" in out
    for word in ("bỏ", "Bỏ", "xóa", "xoá"):
        out = await console.say(f"/phanquyen {member.id} bch SCT {word}")
        assert "Đã bỏ vai trò" in out, (word, out)
        assert await _roles_of(app, member.id) == [], word
        await console.say(f"/phanquyen {member.id} bch SCT")
    out = await console.say(f"/phanquyen {member.id} bch SCT bo")
    assert "Đã bỏ vai trò" in out
    await console.say(f"/phanquyen {member.id} bch SCT")
    out = await console.say(f"/phanquyen {member.id} bch SCT xoa")
    assert "Đã bỏ vai trò" in out and await _roles_of(app, member.id) == []


async def test_phanquyen_unknown_fourth_word_is_refused(app: App, console: ConsoleUser) -> None:
    member = await add_member(app, "Võ Văn Tổ", "SCT-VP", "+84933000111")
    await console.as_user("1", "Quản trị")
    for word in ("giao", "boo", "thêm", "x"):
        out = await console.say(f"/phanquyen {member.id} bch SCT {word}")
        assert "Cách dùng" in out, (word, out)
        assert await _roles_of(app, member.id) == [], word


async def test_phanquyen_for_a_member_that_does_not_exist(app: App, console: ConsoleUser) -> None:
    await console.as_user("1", "Quản trị")
    out = await console.say("/phanquyen 99 bch SCT")
    assert "Không có đoàn viên mã 99" in out, out
    out = await console.say("/phanquyen 99 bch SCT bỏ")
    assert "Không có đoàn viên mã 99" in out, out
