"""Long lists on Telegram: a CĐCS with 1,000 tổ. Every picker pages and searches, and no
keyboard the bot sends goes past Telegram's limits (the fake server refuses what Telegram
refuses: more than 100 buttons, rows wider than 8, callback_data over 64 bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from handlers.common.pickers import PAGE_SIZE
from models import members, roles, units
from models.members import Identity, Member
from tests.big_units import DEEP, ROOT, TO_COUNT, big_units
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.tg import Bot, press, say, start_bot, stop_bot, tg_settings

BOARD = 777  # Chủ tịch of the big CĐCS (a board member, not a config admin)
WORKERS = [30_001, 30_002, 30_003]  # members of the deep tổ
# a picker message: PAGE_SIZE choices, ← / →, at most two more rows ("whole list again", or
# "choose this one" and "one level up" when browsing the tree), cancel
MAX_PICKER_BUTTONS = PAGE_SIZE + 5


def big_settings(tmp_path: Path, fake: FakeTelegram) -> Settings:
    settings = tg_settings(tmp_path, fake)
    settings = settings.model_copy(update={"units": big_units()})
    settings.check_units()
    return settings


async def add_member(
    bot: Bot, chat: int, name: str, unit_code: str, role: str | None = None
) -> None:
    async with bot.app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        member = Member(
            full_name="",
            name_key="",
            unit_id=unit.id,  # type: ignore[arg-type]
            status="active",
            phone=f"+8491{chat:07d}",
        )
        member.set_name(name)
        session.add(member)
        await session.flush()
        session.add(Identity(platform="telegram", user_id=str(chat), member_id=member.id))
        if role:
            await roles.grant(session, member.id, role, unit, "test")  # type: ignore[arg-type]
        await session.commit()


@pytest.fixture
async def big(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    running = await start_bot(big_settings(tmp_path, fake), clock)
    await add_member(running, BOARD, "Trần Thị Bích", "DM", roles.BCH)
    for i, chat in enumerate(WORKERS):
        await add_member(running, chat, f"Công Nhân Số {i + 1}", "DM-PXN-HC")
    yield running
    await stop_bot(running)


def labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons()]


def assert_small(fake: FakeTelegram) -> None:
    """Nothing was refused for its keyboard, and every picker stayed one page long."""
    assert fake.keyboard_refusals() == []
    for message in fake.sent:
        assert len(message.buttons()) <= MAX_PICKER_BUTTONS, message.describe()


async def turn(fake: FakeTelegram, message: SentMessage, label: str, expect: str) -> None:
    """Press ← / → (or "whole list") on a picker: the same message is redrawn."""
    since = len(fake.edits)
    fake.user_presses(BOARD, message, message.button(label))
    await fake.wait_for_edit(BOARD, contains=expect, since=since)


async def test_broadcast_to_a_deep_unit_of_1000_to(fake: FakeTelegram, big: Bot) -> None:
    await say(fake, BOARD, "/thongbao", "nội dung thông báo")
    picker = await say(fake, BOARD, "Họp tổ trưởng chiều thứ Sáu.", "Gửi cho đơn vị nào")
    pages = -(-(TO_COUNT + 3) // PAGE_SIZE)
    assert f"Trang 1/{pages}" in picker.body and "Gõ vài chữ trong tên đơn vị" in picker.body
    first = labels(picker)
    assert first[0] == f"Toàn bộ {ROOT}" and "Phân xưởng Nhuộm" in first
    assert "Tổ công đoàn số 2" in first and "Tổ công đoàn số 10" not in first  # natural order
    assert len(first) == PAGE_SIZE + 2  # a page, "Trang sau →", "Hủy"

    await turn(fake, picker, "Trang sau", f"Trang 2/{pages}")
    assert "← Trang trước" in labels(picker) and f"Toàn bộ {ROOT}" not in labels(picker)
    await turn(fake, picker, "Trang trước", f"Trang 1/{pages}")

    # search, accents optional: "so 98" is "số 98" and "số 980" … "số 989"
    found = await say(fake, BOARD, "so 98", "Tìm thấy 11 kết quả cho «so 98»")
    assert "Trang 1/2" in found.body and labels(found)[0] == "Tổ công đoàn số 98"
    await turn(fake, found, "Trang sau", "Trang 2/2")
    assert labels(found)[:3] == [f"Tổ công đoàn số {n}" for n in (987, 988, 989)]
    await say(fake, BOARD, "xyz", "Không tìm thấy kết quả nào cho «xyz»")
    await turn(fake, found, "Xem lại cả danh sách", f"Trang 1/{pages}")

    # a unit two levels down, found by a word of its own name and labelled with its parent
    found = await say(fake, BOARD, "hoa chat", "Tìm thấy 1 kết quả")
    assert labels(found)[0] == f"{DEEP} (Phân xưởng Nhuộm)"
    audience = await press(fake, BOARD, found, DEEP, f"Gửi cho ai trong {DEEP}")
    when = await press(fake, BOARD, audience, "Tất cả đoàn viên", "Gửi ngay hay hẹn giờ")
    preview = await press(fake, BOARD, when, "Gửi ngay", "Xem trước")
    assert "Sẽ gửi tới: 3 đoàn viên" in preview.body
    await press(fake, BOARD, preview, "Xác nhận gửi", "Thông báo số 1 đang được gửi")
    for chat in WORKERS:
        await fake.wait_for(chat, contains="Họp tổ trưởng chiều thứ Sáu.")
    assert_small(fake)


async def test_typed_code_still_picks_a_unit(fake: FakeTelegram, big: Bot) -> None:
    await say(fake, BOARD, "/thongbao", "nội dung thông báo")
    await say(fake, BOARD, "Kiểm tra mã", "Gửi cho đơn vị nào")
    await say(fake, BOARD, "dm-t777", "Gửi cho ai trong Tổ công đoàn số 777")
    async with big.app.db.session() as session:
        assert await members.identity(session, "telegram", str(BOARD)) is not None
    assert_small(fake)


async def plan_meeting_to_unit_step(fake: FakeTelegram) -> SentMessage:
    kinds = await say(fake, BOARD, "/hop", "loại họp")
    titles = await press(fake, BOARD, kinds, "Sinh hoạt tổ", "Tên cuộc họp")
    await press(fake, BOARD, titles, "Dùng tên", "Họp lúc nào")
    await say(fake, BOARD, "25/11 14h", "Họp trong bao lâu")
    durations = fake.messages_to(BOARD)[-1]
    await press(fake, BOARD, durations, "2 giờ", "Địa điểm")
    agenda = await say(fake, BOARD, "Nhà văn hóa công ty", "Nội dung, chương trình")
    return await press(fake, BOARD, agenda, "Bỏ qua", "Cuộc họp của đơn vị nào")


async def test_meeting_poll_and_move_pick_from_1000_to(fake: FakeTelegram, big: Bot) -> None:
    # a meeting for the deep tổ, its invitees then marked present a page at a time
    picker = await plan_meeting_to_unit_step(fake)
    assert "Trang 1/" in picker.body and len(picker.buttons()) == PAGE_SIZE + 2
    await turn(fake, picker, "Trang sau", "Trang 2/")
    found = await say(fake, BOARD, "hoá chất", "Tìm thấy 1 kết quả")  # another accent order
    audience = await press(fake, BOARD, found, DEEP, f"Mời những ai trong {DEEP}")
    offsets = await press(fake, BOARD, audience, "Tất cả đoàn viên", "Nhắc lịch trước bao lâu")
    repeat = await press(fake, BOARD, offsets, "1 ngày và 1 giờ", "có lặp lại")
    preview = await press(fake, BOARD, repeat, "Không lặp lại", "Xem trước cuộc họp")
    await press(fake, BOARD, preview, "Gửi thư mời", "Đã lên lịch")

    # a poll for one tổ among the thousand
    card = await say(fake, BOARD, "/binhchon Đi tham quan ở đâu? | Hạ Long | Sa Pa", "Bình chọn")
    picker = await press(fake, BOARD, card, "Gửi tới", "Gửi bình chọn cho đơn vị nào")
    assert "Trang 1/" in picker.body and "Gõ vài chữ" in picker.body
    await turn(fake, picker, "Trang sau", "Trang 2/")
    found = await say(fake, BOARD, "to cong doan so 1000", "Tìm thấy 1 kết quả")
    await press(
        fake, BOARD, found, "Tổ công đoàn số 1000", "Gửi bình chọn của Tổ công đoàn số 1000"
    )

    # moving a member: the board finds the new tổ by typing
    results = await say(fake, BOARD, "/timkiem cong nhan so 1", "Tìm thấy 1 đoàn viên")
    card = await press(fake, BOARD, results, "Công Nhân Số 1", "Trạng thái")
    picker = await press(fake, BOARD, card, "Chuyển đơn vị", "sang đơn vị nào")
    assert "Trang 1/" in picker.body and DEEP not in labels(picker)  # not where they are
    await turn(fake, picker, "Trang sau", "Trang 2/")
    await turn(fake, picker, "Trang trước", "Trang 1/")
    found = await say(fake, BOARD, "so 77", "Tìm thấy 11 kết quả")  # 77, 770 … 779
    await turn(fake, found, "Trang sau", "Trang 2/2")
    await turn(fake, found, "Trang trước", "Trang 1/2")
    await press(fake, BOARD, found, "Tổ công đoàn số 77", "Đã chuyển Công Nhân Số 1 sang Tổ")
    # the search is over: typed text is no longer taken as one
    await say(fake, BOARD, "so 6", "bot chưa hiểu")
    assert_small(fake)


async def test_registration_browses_pages_and_searches(fake: FakeTelegram, big: Bot) -> None:
    newcomer = 40_001
    top = await say(fake, newcomer, "/dangky", "Anh/chị sinh hoạt ở đơn vị nào")
    assert labels(top)[0] == ROOT  # one CĐCS: nothing to page at the top
    await turn_as(fake, newcomer, top, ROOT, "Trang 1/")
    assert labels(top)[0] == f"✔ Chọn: {ROOT}" and "↑ Lên cấp trên" in labels(top)
    assert len(top.buttons()) <= MAX_PICKER_BUTTONS
    await turn_as(fake, newcomer, top, "Trang sau", "Trang 2/")
    found = await say(fake, newcomer, "hoa chat", "Tìm thấy 1 kết quả")
    await press(fake, newcomer, found, DEEP, f"Đơn vị: {DEEP}.")
    assert_small(fake)


async def turn_as(
    fake: FakeTelegram, user: int, message: SentMessage, label: str, expect: str
) -> None:
    since = len(fake.edits)
    fake.user_presses(user, message, message.button(label))
    await fake.wait_for_edit(user, contains=expect, since=since)


async def test_long_member_lists_page_and_search(
    fake: FakeTelegram, big: Bot, clock: FakeClock
) -> None:
    for i in range(30):
        await add_member(big, 31_000 + i, f"Nguyễn Văn {i}", "DM-PXN-HC")
    # search results, a page at a time; typing again searches again
    results = await say(fake, BOARD, "/timkiem nguyen", "Tìm thấy 30 đoàn viên")
    assert "Trang 1/4" in results.body and len(results.buttons()) == PAGE_SIZE + 1
    await turn(fake, results, "Trang sau", "Trang 2/4")
    again = await say(fake, BOARD, "nguyen van 2", "Tìm thấy 11 đoàn viên")  # 2, 20 … 29
    card = await press(fake, BOARD, again, "Nguyễn Văn 21", "Trạng thái")
    assert "Nguyễn Văn 21" in card.body

    # attendance of a 33-person meeting: a page at a time, marks keep the page
    await plan_meeting_to_unit_step(fake)
    found = await say(fake, BOARD, "hoa chat", "Tìm thấy 1 kết quả")
    audience = await press(fake, BOARD, found, DEEP, "Mời những ai")
    offsets = await press(fake, BOARD, audience, "Tất cả đoàn viên", "Nhắc lịch trước bao lâu")
    repeat = await press(fake, BOARD, offsets, "Không nhắc", "có lặp lại")
    preview = await press(fake, BOARD, repeat, "Không lặp lại", "Xem trước cuộc họp")
    await press(fake, BOARD, preview, "Gửi thư mời", "Đã lên lịch «Sinh hoạt tổ")
    clock.set(datetime.fromisoformat("2026-11-25T07:10:00+00:00"))  # 14:10, during it
    listing = await say(fake, BOARD, "/quanlyhop", "Chọn cuộc họp")
    status = await press(fake, BOARD, listing, "Sinh hoạt tổ", "Mã điểm danh")
    sheet = await press(fake, BOARD, status, "Điểm danh", "0/33 có mặt")
    assert "Trang 1/5" in sheet.body and "Gõ vài chữ trong họ tên" in sheet.body
    await turn(fake, sheet, "Trang sau", "Trang 2/5")
    second = labels(sheet)[0]
    await turn(fake, sheet, second, "1/33 có mặt")
    assert "Trang 2/5" in sheet.body and labels(sheet)[0] == "✅" + second[1:]
    found = await say(fake, BOARD, "nguyen van 7", "Tìm thấy 1 kết quả")
    await turn(fake, found, "Nguyễn Văn 7", "2/33 có mặt")
    assert labels(found)[0] == "✅ Nguyễn Văn 7"
    await turn(fake, found, "Xem lại cả danh sách", "Trang 1/5")
    assert_small(fake)


async def test_collective_titles_unit_picker(fake: FakeTelegram, big: Bot) -> None:
    picker = await say(fake, BOARD, "/thidua_tapthe", "Đăng ký danh hiệu tập thể cho đơn vị nào")
    assert f"Toàn bộ {ROOT}" not in picker.body and ROOT not in labels(picker)
    assert "Trang 1/" in picker.body
    await turn(fake, picker, "Trang sau", "Trang 2/")
    found = await say(fake, BOARD, "hoa chat", "Tìm thấy 1 kết quả")
    await press(fake, BOARD, found, DEEP, "chưa có phong trào thi đua nào đang mở")
    assert_small(fake)
