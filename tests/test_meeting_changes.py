"""Changing a meeting after the invitations went out (/quanlyhop): the notices name the unit, the
organiser confirms a new time before anyone is told, and hears what happened to the reminders."""

from __future__ import annotations

from sqlmodel import select

from models.reminders import Reminder
from tests.fakes.telegram import FakeTelegram
from tests.people import seed
from tests.tg import ADMIN, Bot, press, say
from tests.tg_flows import plan, send_invitations

# The fake clock starts on Monday 23/11/2026 09:00 in Vietnam; the meeting is on 25/11 14:00.
UNIT_LINE = "🏢 Tổ công đoàn Văn phòng"


def _no_empty_unit_line(body: str) -> bool:
    return all(line.strip() != "🏢" for line in body.splitlines())


async def _status(fake: FakeTelegram):
    listing = await say(fake, ADMIN, "/quanlyhop", "Chọn cuộc họp")
    return await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")


async def test_reschedule_is_confirmed_first_and_names_the_unit(
    fake: FakeTelegram, bot: Bot
) -> None:
    chats = await seed(bot.app, 2)
    await send_invitations(fake, await plan(fake))
    await press(fake, ADMIN, await _status(fake), "Đổi giờ", "Giờ mới")
    preview = await say(fake, ADMIN, "26/11 9h", "Đổi «Sinh hoạt tổ công đoàn» sang")
    assert "Thứ Năm, 26/11/2026 09:00–11:00" in preview.body and "2 người" in preview.body
    assert not [m for c in chats for m in fake.messages_to(c) if "THAY ĐỔI" in m.body]
    done = await press(fake, ADMIN, preview, "Đổi giờ và báo", "Đã đổi sang")
    assert "trước 1 ngày" in done.body and "1 giờ" in done.body
    moved = await fake.wait_for(chats[0], contains="THAY ĐỔI THỜI GIAN HỌP")
    assert UNIT_LINE in moved.body and _no_empty_unit_line(moved.body), moved.body


async def test_reschedule_can_be_called_off(fake: FakeTelegram, bot: Bot) -> None:
    await seed(bot.app, 1)
    await send_invitations(fake, await plan(fake))
    await press(fake, ADMIN, await _status(fake), "Đổi giờ", "Giờ mới")
    preview = await say(fake, ADMIN, "26/11 9h", "Đổi «Sinh hoạt tổ công đoàn» sang")
    await press(fake, ADMIN, preview, "Giữ giờ cũ", "giữ nguyên")
    status = await _status(fake)
    assert "Thứ Tư, 25/11/2026 14:00–16:00" in status.body
    await press(fake, ADMIN, preview, "Đổi giờ và báo", "đã cũ")  # the preview is spent


async def test_reschedule_too_close_says_the_reminders_are_not_sent(
    fake: FakeTelegram, bot: Bot
) -> None:
    await seed(bot.app, 1)
    await send_invitations(fake, await plan(fake))
    await press(fake, ADMIN, await _status(fake), "Đổi giờ", "Giờ mới")
    preview = await say(fake, ADMIN, "23/11 9h40", "Đổi «Sinh hoạt tổ công đoàn» sang")
    assert "không gửi" in preview.body, preview.body
    done = await press(fake, ADMIN, preview, "Đổi giờ và báo", "Đã đổi sang")
    assert "chuyển theo" not in done.body and "không gửi" in done.body, done.body
    async with bot.app.db.session() as session:
        pending = (await session.exec(select(Reminder).where(Reminder.state == "pending"))).all()
    assert [r.key for r in pending if r.kind == "meeting_reminder"] == []


async def test_nudge_names_the_unit(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 1)
    await send_invitations(fake, await plan(fake))
    await press(fake, ADMIN, await _status(fake), "Nhắc người chưa trả lời", "Đang gửi lời nhắc")
    nudge = await fake.wait_for(chats[0], contains="chưa trả lời thư mời")
    assert UNIT_LINE in nudge.body and _no_empty_unit_line(nudge.body), nudge.body
