"""The same polls as numbered text polls where there are no native ones (the console now,
Zalo later): answer "1" or "1,3", change, withdraw with "0", late answers, results."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.runtime import Background
from models import units
from models.members import Identity, Member
from tests.conftest import ConsoleUser
from tests.settle import settled


def choice(output: str, label: str) -> str:
    """The number the console shows for the button whose label contains `label`."""
    for number, text in re.findall(r"\[(\d+)\] (.+)", output):
        if label in text:
            return number
    raise AssertionError(f"no button {label!r} in:\n{output}")


@pytest.fixture
async def running(app: App, console: ConsoleUser) -> AsyncIterator[ConsoleUser]:
    async with app.db.session() as session:
        unit = await units.by_code(session, "SCT-VP")
        assert unit is not None
        for number, name in ((2001, "Trần Văn Minh"), (2002, "Lê Thị Hoa")):
            member = Member(full_name="", name_key="", unit_id=unit.id, status="active")  # type: ignore[arg-type]
            member.set_name(name)
            session.add(member)
            await session.flush()
            session.add(Identity(platform="console", user_id=str(number), member_id=member.id))
        await session.commit()
    background = Background(app)
    background.start()
    yield console
    await background.close()


async def wait_for_output(console: ConsoleUser, text: str, app: App) -> str:
    import asyncio

    for _ in range(200):
        if text in console.out.getvalue():
            return console.out.getvalue()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{text!r} never printed:\n{console.out.getvalue()[-2000:]}")


async def test_text_poll_in_the_console(running: ConsoleUser, app: App) -> None:
    console = running
    await console.as_user("1", "Quản trị")
    await console.say("/binhchon")
    out = await console.say("Tổ chức tham quan vào tháng mấy?")
    out = await console.say("Tháng 4 | Tháng 5 | Tháng 6")
    out = await console.say(choice(out, "Gửi tới"))
    out = await console.say(choice(out, "Tổ công đoàn Văn phòng"))
    out = await console.say(choice(out, "Từng đoàn viên"))
    out = await console.say(choice(out, "Gửi bình chọn"))
    assert "đang gửi tới 2 đoàn viên" in out
    await settled(app)  # both copies sent and recorded
    printed = await wait_for_output(console, "Trả lời bằng một số", app)
    assert "📊 BÌNH CHỌN: Tổ chức tham quan vào tháng mấy?\n1. Tháng 4" in printed
    await console.as_user("2001", "Minh")
    assert "chỉ được chọn một" in await console.say("1,3")
    assert "từ 1 đến 3" in await console.say("5")
    assert "Đã ghi nhận lựa chọn" in await console.say("2")
    assert "2. Tháng 5" in await console.say("2")
    assert "Đã rút lại" in await console.say("0")
    assert "3. Tháng 6" in await console.say("3")
    await console.as_user("2002", "Hoa")
    assert "1. Tháng 4" in await console.say("1")
    await console.as_user("1", "Quản trị")
    out = await console.say("/ketqua 1")
    assert "1. Tháng 4 — 1 (50%)" in out and "3. Tháng 6 — 1 (50%)" in out
    out = await console.say(choice(out, "Ai chọn gì"))
    assert "3. Tháng 6 (1): Trần Văn Minh" in out
    await console.say("/ketqua 1")
    out = console.out.getvalue()
    await console.say(choice(out[out.rindex("Quản lý bình chọn") :], "Kết thúc ngay"))
    await wait_for_output(console, "KẾT QUẢ BÌNH CHỌN", app)
    # a late answer is told the poll closed and changes nothing
    await console.as_user("2002", "Hoa")
    assert "đã kết thúc" in await console.say("2")
    await console.as_user("1", "Quản trị")
    assert "2. Tháng 5 — 0 (0%)" in await console.say("/ketqua 1")


async def test_missing_list_when_everyone_answered(running: ConsoleUser, app: App) -> None:
    console = running
    await console.as_user("1", "Quản trị")
    await console.say("/binhchon")
    await console.say("Đi dã ngoại thứ Bảy?")
    out = await console.say("Có | Không")
    out = await console.say(choice(out, "Gửi tới"))
    out = await console.say(choice(out, "Tổ công đoàn Văn phòng"))
    out = await console.say(choice(out, "Từng đoàn viên"))
    await console.say(choice(out, "Gửi bình chọn"))
    await settled(app)
    await wait_for_output(console, "Trả lời bằng một số", app)
    for user in ("2001", "2002"):
        await console.as_user(user, "Người")
        assert "Đã ghi nhận lựa chọn" in await console.say("1")
    await console.as_user("1", "Quản trị")
    await console.say("/ketqua 1")
    out = console.out.getvalue()
    out = await console.say(choice(out[out.rindex("Quản lý bình chọn") :], "Chưa trả lời"))
    assert "Tất cả đã trả lời" in out, out
    assert "0 đoàn viên chưa trả lời" not in out
