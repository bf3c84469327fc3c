"""Meetings end to end on Telegram: planning, invitations with .ics, RSVP, reminders from the
scheduler (also across a restart), rescheduling, cancelling, attendance, minutes, recurrence."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.clock import FakeClock
from models.meetings import Invite, Meeting
from models.reminders import Reminder
from tests.fakes.telegram import FakeTelegram
from tests.people import seed
from tests.settle import reminders_settled, settled
from tests.tg import ADMIN, Bot, press, received, say, start_bot, stop_bot, tg_settings
from tests.tg_flows import plan, send_invitations

# The fake clock starts on Monday 23/11/2026 09:00 in Vietnam.


async def fire(bot: Bot) -> int:
    """What the APScheduler wake-up does when it fires (tests move the clock instead)."""
    handled = await bot.app.scheduler.run_due()
    await settled(bot.app)  # what it queued is expanded and sent
    return handled


async def test_invite_rsvp_and_reminders_survive_restart(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    bot = await start_bot(settings, clock)
    chats = await seed(bot.app, 4)
    preview = await plan(fake)
    assert "Thứ Tư, 25/11/2026 14:00–16:00" in preview.body and "4 người" in preview.body
    await send_invitations(fake, preview)
    invitations = [await fake.wait_for(c, contains="THƯ MỜI HỌP") for c in chats]
    name, ics = invitations[0].document  # type: ignore[misc]
    assert name.endswith(".ics") and b"BEGIN:VEVENT" in ics and b"20261125T070000Z" in ics
    # answers
    await press(fake, chats[0], invitations[0], "Tham dự", "Đã ghi nhận: Tham dự")
    await press(fake, chats[1], invitations[1], "Vắng", "lý do vắng")
    await say(fake, chats[1], "Đi công tác Hà Nội", "Đã ghi nhận: Vắng")
    # someone not invited presses a copied button
    stranger = (await seed(bot.app, 1, "SXD-VP", start=40_000))[0]
    menu = await say(fake, stranger, "/start", "Chào")
    mark = fake.mark()
    fake.user_presses(stranger, menu, invitations[2].button("Tham dự"))
    await fake.wait_for(stranger, contains="không có trong danh sách mời", since=mark)
    # the organiser sees who answered what
    listing = await say(fake, ADMIN, "/quanlyhop", "Chọn cuộc họp")
    status = await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")
    assert "Tham dự (1)" in status.body and "Đi công tác Hà Nội" in status.body
    assert "Chưa trả lời (2)" in status.body
    # one day before: the first reminder, not to the one who said no; a double fire adds nothing
    clock.set(datetime.fromisoformat("2026-11-24T07:00:00+00:00"))
    assert await fire(bot) == 1
    assert await fire(bot) == 0
    await fake.wait_until(
        lambda: sum(received(fake, chats, "Nhắc lịch họp").values()) >= 3,
        what="the one-day reminders",
    )
    await settled(bot.app)  # nothing left to send: a duplicate would have been sent
    reminded = received(fake, chats, "Nhắc lịch họp")
    assert set(reminded) == set(chats) - {chats[1]} and max(reminded.values()) == 1
    # the process stops; the one-hour reminder falls due while it is down; it comes back
    await stop_bot(bot)
    clock.set(datetime.fromisoformat("2026-11-25T06:05:00+00:00"))  # 13:05, reminder due 13:00
    bot = await start_bot(settings, clock)
    try:
        await fake.wait_until(
            lambda: sum(received(fake, chats, "Nhắc lịch họp").values()) == 6,
            what="the late reminders",
        )
        late = [m for m in fake.sent if "gửi muộn" in m.body]
        assert len(late) == 3
        # after the start, answers can no longer change
        clock.set(datetime.fromisoformat("2026-11-25T07:01:00+00:00"))
        await press(fake, chats[3], invitations[3], "Tham dự", "đã bắt đầu")
        await settled(bot.app)
        assert sum(received(fake, chats, "Nhắc lịch họp").values()) == 6
    finally:
        await stop_bot(bot)


async def test_reschedule_cancel_and_refusals(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    await send_invitations(fake, await plan(fake))
    listing = await say(fake, ADMIN, "/quanlyhop", "Chọn cuộc họp")
    status = await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")
    await press(fake, ADMIN, status, "Đổi giờ", "Giờ mới")
    await say(fake, ADMIN, "31/02 9h", "Không có ngày 31/02, anh/chị vui lòng kiểm tra lại")
    confirm = await say(fake, ADMIN, "26/11 9h", "Đổi «Sinh hoạt tổ công đoàn» sang")
    done = await press(fake, ADMIN, confirm, "Đổi giờ và báo", "Đã đổi sang")
    assert "Thứ Năm, 26/11/2026 09:00–11:00" in done.body
    moved = await fake.wait_for(chats[0], contains="THAY ĐỔI THỜI GIAN HỌP")
    assert moved.document is not None and b"SEQUENCE:1" in moved.document[1]
    async with bot.app.db.session() as session:
        pending = (await session.exec(select(Reminder).where(Reminder.state == "pending"))).all()
        assert sorted(r.key for r in pending) == ["mr:1:v1:1440", "mr:1:v1:60"]
    status = await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")
    ask = await press(fake, ADMIN, status, "Hủy họp", "chắc chắn hủy")
    await press(fake, ADMIN, ask, "Có, hủy", "Đã hủy")
    gone = await fake.wait_for(chats[1], contains="HỦY HỌP")
    assert b"METHOD:CANCEL" in gone.document[1]  # type: ignore[index]
    await press(fake, ADMIN, ask, "Có, hủy", "đã hủy trước đó")
    clock.advance(days=5)
    assert await bot.app.scheduler.run_due() == 0  # no reminder for a cancelled meeting


async def test_bad_dates_offsets_and_audience(fake: FakeTelegram, bot: Bot) -> None:
    await seed(bot.app, 1)
    kinds = await say(fake, ADMIN, "/hop", "loại họp")
    titles = await press(fake, ADMIN, kinds, "Họp Ban Chấp hành", "Tên cuộc họp")
    await press(fake, ADMIN, titles, "Dùng tên", "Họp lúc nào")
    await say(fake, ADMIN, "20/11/2026 14h", "đã qua")
    await say(fake, ADMIN, "31/02 14h", "Không có ngày 31/02")
    await say(fake, ADMIN, "hôm nay 11h", "Bot hiểu là: Thứ Hai, 23/11/2026 11:00")
    await say(fake, ADMIN, "10:30", "Giờ kết thúc phải sau giờ bắt đầu")
    await say(fake, ADMIN, "12:00", "Địa điểm")
    await say(fake, ADMIN, "https://meet.example.org/abc", "Nội dung")
    unit_msg = await say(fake, ADMIN, "Bàn kế hoạch năm 2027", "đơn vị nào")
    aud = await press(fake, ADMIN, unit_msg, "Tổ công đoàn Văn phòng", "Mời những ai")
    offs = await press(fake, ADMIN, aud, "Tất cả đoàn viên", "Nhắc lịch trước")
    await press(fake, ADMIN, offs, "1 ngày và 1 giờ", "chỉ còn 2 giờ")  # the meeting is at 11:00
    await say(fake, ADMIN, "30 phút", "có lặp lại")
    # a member may not plan meetings
    member = (await seed(bot.app, 1, start=45_000))[0]
    await say(fake, member, "/hop", "dành cho Ban Chấp hành và tổ trưởng")


async def test_attendance_minutes_and_yearly_report(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 3)
    await send_invitations(fake, await plan(fake))
    async with bot.app.db.session() as session:
        code = (await session.exec(select(Meeting))).one().checkin_code
    await say(fake, chats[0], f"/diemdanh {code}", "Chưa đến giờ")
    clock.set(datetime.fromisoformat("2026-11-25T07:10:00+00:00"))  # 14:10, during the meeting
    await say(fake, chats[0], f"/diemdanh {code.lower()}", "Đã điểm danh")
    await say(fake, chats[1], "/diemdanh ZZZZZZ", "không đúng")
    listing = await say(fake, ADMIN, "/quanlyhop", "Chọn cuộc họp")
    status = await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")
    sheet = await press(fake, ADMIN, status, "Điểm danh", "1/3 có mặt")
    fake.user_presses(ADMIN, sheet, sheet.button("⬜"))
    await fake.wait_for_edit(ADMIN, contains="2/3 có mặt")
    await press(fake, ADMIN, status, "Biên bản", "gửi biên bản")
    await say(fake, ADMIN, "Biên bản: thống nhất kế hoạch tháng 12.", "Đã lưu biên bản")
    clock.set(datetime.fromisoformat("2026-11-26T02:00:00+00:00"))
    past = await say(fake, chats[2], "/lichhop", "Biên bản các cuộc họp gần đây")
    await press(fake, chats[2], past, "Sinh hoạt tổ", "thống nhất kế hoạch tháng 12")
    report = await say(fake, ADMIN, "/baocaohop", "Chuyên cần họp năm 2026")
    assert report.document is not None and report.document[0] == "chuyen-can-2026.xlsx"
    import io

    from openpyxl import load_workbook

    rows = list(
        load_workbook(io.BytesIO(report.document[1])).active.iter_rows(min_row=3, values_only=True)
    )
    assert sorted(r[3] for r in rows) == [0, 1, 1] and all(r[2] == 1 for r in rows)
    # minutes replaced by a file whose name is longer than its column (PostgreSQL would refuse
    # to store it whole)
    await press(fake, ADMIN, status, "Biên bản", "gửi biên bản")
    mark = fake.mark()
    fake.user_sends_document(ADMIN, "bien-ban-" + "hop-to-cong-doan-" * 15 + ".pdf", b"%PDF-1.4")
    await fake.wait_for(ADMIN, contains="Đã lưu biên bản", since=mark)
    async with bot.app.db.session() as session:
        saved = (await session.exec(select(Meeting))).one().minutes_file_name
    assert saved is not None and len(saved) == 200 and saved.endswith("-doan-.pdf")


async def test_recurring_meeting_plans_the_next_one(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    preview = await plan(fake, start="thứ Hai tuần sau 8h", repeat="Hằng tuần")
    assert "Thứ Hai, 30/11/2026 08:00" in preview.body
    await send_invitations(fake, preview)
    clock.set(datetime.fromisoformat("2026-11-30T01:00:00+00:00"))  # the meeting starts
    await fire(bot)
    async with bot.app.db.session() as session:
        starts = [m.starts_at for m in (await session.exec(select(Meeting))).all()]
        invites = Counter(i.meeting_id for i in (await session.exec(select(Invite))).all())
    assert [s.isoformat() for s in starts] == [
        "2026-11-30T01:00:00+00:00",
        "2026-12-07T01:00:00+00:00",
    ]
    assert invites == {1: 2, 2: 2}
    await fake.wait_until(
        lambda: sum(received(fake, chats, "THƯ MỜI HỌP").values()) == 4, what="the next invitations"
    )


async def test_recurring_announcement(fake: FakeTelegram, bot: Bot, clock: FakeClock) -> None:
    chats = await seed(bot.app, 2)
    await say(fake, ADMIN, "/thongbao", "nội dung")
    units_msg = await say(fake, ADMIN, "Giao ban đầu tuần", "đơn vị nào")
    aud = await press(fake, ADMIN, units_msg, "Toàn bộ Công đoàn cơ sở Sở Công Thương", "ai")
    when = await press(fake, ADMIN, aud, "Tất cả đoàn viên", "hẹn giờ")
    await press(fake, ADMIN, when, "Hẹn giờ", "thời điểm gửi")
    repeat = await say(fake, ADMIN, "thứ Hai tuần sau 7h30", "Lặp lại không")
    preview = await press(fake, ADMIN, repeat, "Hằng tuần", "Xem trước")
    assert "Hằng tuần" in preview.body
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="Đã hẹn gửi")
    for week in range(3):
        clock.set(datetime.fromisoformat("2026-11-30T00:30:00+00:00") + timedelta(weeks=week))
        await fire(bot)
        await fake.wait_until(
            lambda w=week: sum(received(fake, chats, "Giao ban đầu tuần").values()) == 2 * (w + 1),
            what=f"week {week + 1}",
        )
    got = received(fake, chats, "Giao ban đầu tuần")
    assert got == {chats[0]: 3, chats[1]: 3}


def test_monthly_rules_keep_the_weekday_rank() -> None:
    from zoneinfo import ZoneInfo

    from handlers.meetings.plan import next_start

    tz = ZoneInfo("Asia/Ho_Chi_Minh")

    def after(local: str, rule: str) -> str:
        start = datetime.fromisoformat(local).replace(tzinfo=tz)
        meeting = Meeting(
            unit_id=1,
            title="x",
            starts_at=start,
            ends_at=start,
            repeat=rule,
            created_at=start,
            updated_at=start,
        )
        return next_start(meeting, tz).astimezone(tz).strftime("%a %d/%m/%Y %H:%M")

    assert after("2026-12-07T08:00", "monthly_nth") == "Mon 04/01/2027 08:00"  # first Monday
    assert after("2026-11-30T08:00", "monthly_nth") == "Mon 28/12/2026 08:00"  # 5th → last
    assert after("2027-01-31T14:00", "monthly_day") == "Sun 28/02/2027 14:00"  # clamped
    assert after("2026-12-28T08:00", "weekly") == "Mon 04/01/2027 08:00"


async def test_reminders_missed_after_the_start_are_skipped_and_past_meetings_frozen(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    bot = await start_bot(settings, clock)
    chats = await seed(bot.app, 2)
    await send_invitations(fake, await plan(fake))
    await stop_bot(bot)
    clock.set(datetime.fromisoformat("2026-11-25T07:30:00+00:00"))  # down until 14:30
    bot = await start_bot(settings, clock)
    try:
        await reminders_settled(bot.app)
        assert await bot.app.scheduler.run_due() == 0  # the wake-up at start handled them
        async with bot.app.db.session() as session:
            rows = (await session.exec(select(Reminder))).all()
        assert {r.state for r in rows} == {"skipped"}
        assert all("already started" in (r.note or "") for r in rows)
        assert sum(received(fake, chats, "Nhắc lịch họp").values()) == 0
        listing = await say(fake, ADMIN, "/quanlyhop", "Chọn cuộc họp")
        status = await press(fake, ADMIN, listing, "Sinh hoạt tổ", "Mã điểm danh")
        assert "Đổi giờ" not in str(status.buttons()) and "Hủy họp" not in str(status.buttons())
        mark = fake.mark()
        fake.user_presses(ADMIN, status, "v1:mm:resched:1")
        await fake.wait_for(ADMIN, contains="đã diễn ra", since=mark)
    finally:
        await stop_bot(bot)
