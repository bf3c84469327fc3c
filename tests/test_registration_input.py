"""Every registration step survives bad input: clear Vietnamese answers, nothing saved lost."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import App
from bot.chat import Contact
from bot.clock import FakeClock
from models.dialogs import DialogState
from models.members import Member
from tests.conftest import ConsoleUser, private_event
from tests.console_flows import register_lan


async def start_at_name(console: ConsoleUser) -> None:
    await console.say("/dangky SCT-VP")


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("", "chưa nhập họ tên"),
        ("   ", "chưa nhập họ tên"),
        ("Lan", "đủ cả họ và tên"),
        ("x" * 5000, "dài quá"),
        ("Nguyễn 😀 Lan", "chỉ gồm chữ cái"),
        ("محمد علي", "chỉ gồm chữ cái"),
        ("<b>Nguyễn</b> Lan", "chỉ gồm chữ cái"),
        ("'; DROP TABLE members;--", "chỉ gồm chữ cái"),
        ("Nguyễn Văn 3", "chỉ gồm chữ cái"),
    ],
)
async def test_bad_names_are_refused_with_reason(
    console: ConsoleUser, typed: str, answer: str
) -> None:
    await start_at_name(console)
    out = await console.say(typed)
    assert answer in out
    assert "Bước 2/8" in out  # asked again, same step


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("31/02/2000", "Không có ngày 31/02/2000"),
        ("05/09/90", "đủ 4 chữ số"),
        ("hôm qua", "ngày/tháng/năm"),
        ("05/09/2020", "mới 6 tuổi"),
        ("01/01/2099", "không thể ở tương lai"),
    ],
)
async def test_bad_birth_dates(console: ConsoleUser, typed: str, answer: str) -> None:
    await start_at_name(console)
    await console.say("Nguyễn Thị Lan")
    await console.say("2")  # Nữ
    out = await console.say(typed)
    assert answer in out and "Bước 4/8" in out


async def test_bad_phone_and_stickers(app: App, console: ConsoleUser) -> None:
    await start_at_name(console)
    for line in ("Nguyễn Thị Lan", "nu", "05/09/1990"):
        await console.say(line)
    out = await console.say("12345")
    assert "không phải số điện thoại Việt Nam hợp lệ" in out  # 12345: no mobile prefix
    out = await console.say("0112 345 678")
    assert "Việt Nam hợp lệ" in out
    # a sticker arrives where text is expected
    sticker = private_event(event_id="stk1", attachment="sticker")
    await app.handle(sticker)
    assert "chỉ đọc được tin nhắn chữ" in console.out.getvalue()
    # someone else's contact card is refused
    other = private_event(event_id="c1", contact=Contact("+84987654321", "555"))
    await app.handle(other)
    assert "số điện thoại của người khác" in console.out.getvalue()
    own = private_event(event_id="c2", contact=Contact("84987654321", "1001"))
    await app.handle(own)
    assert "0987 654 321" in console.out.getvalue()
    async with app.db.session() as session:
        state = await session.get(DialogState, ("console", "1001"))
        assert state is not None and state.step == "job_title"
        assert state.data["full_name"] == "Nguyễn Thị Lan"  # nothing earlier was lost


async def test_back_and_skip(app: App, console: ConsoleUser) -> None:
    await start_at_name(console)
    await console.say("Nguyễn Thị Lan")
    out = await console.say("2")  # gender buttons: [1] Nam [2] Nữ
    assert "Bước 4/8" in out
    out = await console.say("1")  # birth date step buttons: [1] Quay lại [2] Hủy
    assert "Bước 3/8" in out and "Giới tính" in out
    await console.say("2")
    for line in ("05/09/1990", "0912345678", "Kế toán"):
        await console.say(line)
    out = await console.say("1")  # card step: [1] Bỏ qua
    assert "Bước 8/8" in out
    out = await console.say("1")  # joined date: [1] Bỏ qua -> summary
    assert "Số thẻ đoàn viên: (chưa có)" in out and "Gửi đăng ký" in out
    out = await console.say("1")
    async with app.db.session() as session:
        member = (await session.exec(select(Member))).one()
        assert member.card_number is None and member.gender == "nu"


async def test_restart_mid_dialog_continues(
    app: App, console: ConsoleUser, settings, clock: FakeClock
) -> None:
    from bot.adapters.console import ConsoleAdapter
    from bot.runtime import build_app

    await start_at_name(console)
    await console.say("Trần Văn Bình")
    await app.db.dispose()
    # a new process on the same database
    fresh = await build_app(settings, clock)
    adapter = ConsoleAdapter(fresh, "1001", "Lan", out=console.out)
    fresh.add_adapter(adapter)
    console.adapter = adapter
    out = await console.say("Nam")  # the gender step is still where we were
    assert "Bước 4/8" in out
    async with fresh.db.session() as session:
        state = await session.get(DialogState, ("console", "1001"))
        assert state is not None and state.data["full_name"] == "Trần Văn Bình"
    await fresh.db.dispose()


async def test_cancel_clears_dialog(app: App, console: ConsoleUser) -> None:
    await start_at_name(console)
    out = await console.say("/huy")
    assert "Đã hủy" in out
    out = await console.say("Nguyễn Thị Lan")
    assert "chưa hiểu" in out  # no dialog any more: help instead of silence
    async with app.db.session() as session:
        assert await session.get(DialogState, ("console", "1001")) is None


async def test_duplicate_event_is_handled_once(app: App, console: ConsoleUser) -> None:
    await start_at_name(console)
    event = private_event(event_id="same", text="Nguyễn Thị Lan")
    await app.handle(event)
    await app.handle(event)
    assert console.out.getvalue().count("Bước 3/8") == 1


async def test_summary_edit_one_field(app: App, console: ConsoleUser) -> None:
    await register_lan(console)
    out = await console.say("2")  # ✎ Sửa thông tin
    assert "muốn sửa mục nào" in out
    # field buttons: unit, full_name, gender, birth_date, phone, job, card, joined
    out = await console.say("4")  # Ngày sinh
    assert "Ngày sinh" in out
    out = await console.say("06/10/1991")
    assert "06/10/1991" in out and "Gửi đăng ký" in out  # straight back to the summary
    await console.say("1")
    async with app.db.session() as session:
        member = (await session.exec(select(Member))).one()
        assert member.birth_date.isoformat() == "1991-10-06"
        assert member.status == "pending"


async def test_duplicate_phone_is_caught(app: App, console: ConsoleUser) -> None:
    await register_lan(console)
    await console.say("1")
    await console.as_user("1002", "Mai")
    await register_lan(console)
    out = await console.say("1")
    assert "đã được đăng ký" in out
    async with app.db.session() as session:
        assert len((await session.exec(select(Member))).all()) == 1
