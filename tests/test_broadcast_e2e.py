"""Board broadcasts end to end on Telegram, through the delivery engine, with faults injected
by the fake Bot API server: every message ends delivered or reported, none is sent twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FakeClock
from models import members, units
from models.db import Database
from models.members import Identity, Member
from models.outbox import OutboxItem
from tests.fakes.telegram import FakeTelegram
from tests.people import FIRST, seed
from tests.settle import settled, until
from tests.tg import ADMIN, GROUP, Bot, press, received, say, start_bot, stop_bot, tg_settings
from tests.tg_flows import compose


async def test_broadcast_with_faults_every_message_accounted_once(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake, delivery={"max_attempts": 3}), clock)
    try:
        chats = await seed(bot.app, 40)
        blocked, limited, flaky, slow, lost = chats[3], chats[5], chats[7], chats[9], chats[11]
        fake.blocked_users.add(blocked)
        fake.fail_next(
            "sendMessage",
            error_code=429,
            description="Too Many Requests",
            retry_after=1,
            chat_id=limited,
        )
        fake.fail_next(
            "sendMessage", error_code=502, description="Bad Gateway", chat_id=flaky, times=2
        )
        # Telegram takes the message but answers too late: must not be sent again.
        fake.stall_next("sendMessage", seconds=1.5, chat_id=slow)
        # The request never gets through, three times: gives up after max_attempts.
        fake.fail_next(
            "sendMessage",
            error_code=500,
            description="Internal Server Error",
            chat_id=lost,
            times=5,
        )
        preview = await compose(fake, "Họp toàn thể lúc 14:00 thứ Sáu.", "Tất cả đoàn viên")
        assert "Sẽ gửi tới: 40 đoàn viên" in preview.body
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        await fake.wait_for(ADMIN, contains="Thông báo số 1 đang được gửi", since=mark)
        # transient retries back off 2 s, 4 s … on the injected clock: move time along until
        # the report comes (however slow this machine is at the moment)
        for _ in range(60):
            if any("đã gửi xong" in m.body for m in fake.messages_to(ADMIN)):
                break
            await asyncio.sleep(0.3)
            clock.advance(seconds=5)
            for worker in bot.app.workers:
                worker.wake()
        report = await fake.wait_for(ADMIN, contains="đã gửi xong", timeout=10)
        got = received(fake, chats, "Họp toàn thể")
        assert max(got.values()) == 1  # nobody got it twice
        assert set(got) == set(chats) - {blocked, lost}  # slow one was delivered (once)
        assert "37/40 đã nhận" in report.body and "1 không liên lạc được" in report.body
        assert "1 lỗi" in report.body and "1 chưa chắc đã nhận" in report.body
        who = await press(fake, ADMIN, report, "Xem ai chưa nhận", "chưa nhận được")
        assert who.body.count("•") == 3 and "chặn bot" in who.body
        async with bot.app.db.session() as session:
            states = Counter((await session.exec(select(OutboxItem.state))).all())
            assert states == {"sent": 37, "unreachable": 1, "failed": 1, "uncertain": 1}
            ident = await members.identity(session, "telegram", str(blocked))
            assert ident is not None and ident.unreachable_at is not None
        # the progress message was edited in place, not re-sent per recipient
        progress = [
            m
            for m in fake.messages_to(ADMIN)
            if "Thông báo số 1" in m.body and "đang được gửi" not in m.body  # not the confirmation
        ]
        assert len(progress) <= 3
    finally:
        await stop_bot(bot)


async def test_blocked_members_are_skipped_until_they_return(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 5)
    fake.blocked_users.add(chats[0])
    preview = await compose(fake, "Thông báo lần một", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã gửi xong")
    preview = await compose(fake, "Thông báo lần hai", "Tất cả đoàn viên")
    assert "Sẽ gửi tới: 4 đoàn viên" in preview.body and "đã chặn bot" in preview.body
    # they unblock and write to the bot: reachable again
    fake.blocked_users.discard(chats[0])
    await say(fake, chats[0], "/trogiup", "Các lệnh")
    preview = await compose(fake, "Thông báo lần ba", "Tất cả đoàn viên")
    assert "Sẽ gửi tới: 5 đoàn viên" in preview.body


async def test_bad_input_and_refusals(fake: FakeTelegram, bot: Bot) -> None:
    await seed(bot.app, 2)
    await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
    await say(fake, ADMIN, "x" * 10_000, "10.000 ký tự, vượt quá 4.000")
    mark = fake.mark()
    fake.user_sends_sticker(ADMIN)
    await fake.wait_for(ADMIN, contains="chỉ kèm được ảnh hoặc tệp", since=mark)
    mark = fake.mark()
    fake.user_sends_document(ADMIN, "virus.exe", b"MZ...")
    await fake.wait_for(ADMIN, contains="Loại tệp này chưa được hỗ trợ", since=mark)
    units_msg = await say(fake, ADMIN, "Nội dung hợp lệ", "Gửi cho đơn vị nào")
    aud = await press(
        fake, ADMIN, units_msg, "Toàn bộ Công đoàn cơ sở Sở Công Thương", "Gửi cho ai"
    )
    when = await press(fake, ADMIN, aud, "Các tổ trưởng", "Gửi ngay hay hẹn giờ")
    await press(fake, ADMIN, when, "Gửi ngay", "Không có người nhận nào")
    # a member may not broadcast at all
    await say(fake, FIRST, "/thongbao", "chỉ dành cho Ban Chấp hành")


async def test_board_cannot_reach_outside_its_subtree(fake: FakeTelegram, bot: Bot) -> None:
    from tests.people import make_board

    await make_board(bot.app, "0", "unused", "SXD")  # a console board member, not used here
    async with bot.app.db.session() as session:
        unit = await units.by_code(session, "SXD")
        member = Member(
            full_name="",
            name_key="",
            unit_id=unit.id,
            status="active",  # type: ignore[union-attr, arg-type]
            phone="+84911000999",
        )
        member.set_name("Lê Văn Xây")
        session.add(member)
        await session.flush()
        session.add(Identity(platform="telegram", user_id="777", member_id=member.id))
        from models import roles

        await roles.grant(session, member.id, "bch", unit, "test")  # type: ignore[arg-type]
        await session.commit()
    await say(fake, 777, "/thongbao", "nội dung thông báo")
    # SXD has one child: the picker offers only SXD's units; typing another union's code fails
    await say(fake, 777, "Thông báo nội bộ", "Gửi cho đơn vị nào")
    await say(fake, 777, "SCT-VP", "không thuộc phạm vi")


async def test_confirming_twice_sends_once(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 3)
    preview = await compose(fake, "Chỉ một lần thôi", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã được gửi hoặc đã hủy")
    await fake.wait_for(ADMIN, contains="đã gửi xong")
    assert sum(received(fake, chats, "Chỉ một lần thôi").values()) == 3


async def test_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 3)
    # the fake clock starts at 23/11/2026 09:00 in Vietnam
    preview = await compose(fake, "Nhắc họp sáng mai", "Tất cả đoàn viên", when="24/11 7h30")
    assert "Thứ Ba, 24/11/2026 07:30" in preview.body
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="Đã hẹn gửi thông báo số 1", since=mark)
    await settled(bot.app)  # its rows are in, none due yet
    assert sum(received(fake, chats, "Nhắc họp sáng mai").values()) == 0
    clock.advance(hours=23)
    for worker in bot.app.workers:
        worker.wake()
    await fake.wait_for(ADMIN, contains="đã gửi xong")
    assert sum(received(fake, chats, "Nhắc họp sáng mai").values()) == 3
    # a second one is scheduled, then cancelled before its time
    preview = await compose(fake, "Thông báo sẽ hủy", "Tất cả đoàn viên", when="30/11 8:00")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    listing = await say(fake, ADMIN, "/huythongbao", "Chọn thông báo cần dừng")
    await press(fake, ADMIN, listing, "số 2", "Đã dừng Thông báo số 2: 3 tin")
    clock.advance(days=10)
    for worker in bot.app.workers:
        worker.wake()
    await settled(bot.app)
    assert sum(received(fake, chats, "Thông báo sẽ hủy").values()) == 0


async def test_cancel_while_running_and_replies_jump_the_queue(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake, delivery={"messages_per_second": 10}), clock)
    try:
        chats = await seed(bot.app, 60)
        preview = await compose(fake, "Thông báo dài hơi", "Tất cả đoàn viên")
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        progress = await fake.wait_for(ADMIN, contains="Thông báo số 1: đã xử lý")
        await fake.wait_until(
            lambda: sum(received(fake, chats, "dài hơi").values()) >= 5,
            what="the broadcast under way",
        )
        # a member asks something while 60 messages go out at 10/s: answered at once
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await say(fake, chats[-1], "/trogiup", "Các lệnh")
        assert loop.time() - asked < 2.0  # the broadcast alone still needs ~5 s
        mark = fake.mark()
        fake.user_presses(ADMIN, progress, progress.button("Dừng gửi"))
        stopped = await fake.wait_for(ADMIN, contains="Đã dừng Thông báo số 1", since=mark)
        await fake.wait_for(ADMIN, contains="đã dừng:")
        got = received(fake, chats, "Thông báo dài hơi")
        assert 0 < sum(got.values()) < 60 and max(got.values()) == 1
        async with bot.app.db.session() as session:
            states = Counter((await session.exec(select(OutboxItem.state))).all())
        assert states["sent"] == sum(got.values())
        assert states["cancelled"] + states["sent"] == 60
        assert f"{states['cancelled']} tin" in stopped.body
    finally:
        await stop_bot(bot)


async def test_restart_mid_broadcast_resumes_without_duplicates(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake, delivery={"messages_per_second": 20})
    bot = await start_bot(settings, clock)
    chats = await seed(bot.app, 50)
    preview = await compose(fake, "Thông báo qua khởi động lại", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_until(
        lambda: sum(received(fake, chats, "khởi động lại").values()) >= 15, what="15 sent"
    )
    await stop_bot(bot)  # the process goes away mid-broadcast
    # as after a kill -9 mid-request: one row left in flight, it may have reached the person

    db = Database(settings.database.url)
    async with db.session() as session:
        row = (await session.exec(select(OutboxItem).where(OutboxItem.state == "queued"))).first()
        assert row is not None
        row.state = "sending"
        session.add(row)
        await session.commit()
        in_flight_chat = int(row.chat_id)
    await db.dispose()
    bot = await start_bot(settings, clock)
    try:
        await fake.wait_for(ADMIN, contains="đã gửi xong", timeout=10)
        got = received(fake, chats, "khởi động lại")
        assert max(got.values()) == 1
        assert set(got) == set(chats) - {in_flight_chat}
        async with bot.app.db.session() as session:
            states = Counter((await session.exec(select(OutboxItem.state))).all())
        assert states == {"sent": 49, "uncertain": 1}
    finally:
        await stop_bot(bot)


async def test_a_refused_token_stops_sending_and_keeps_every_row_queued(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    """Telegram answers 401 when the token was revoked: no message can go out, so the rows
    wait (they used to end "failed", each of them lost) and the admin chat is told once; after
    a restart with a working token the announcement reaches everyone once."""
    settings = tg_settings(
        tmp_path, fake, delivery={"concurrency": 1}, admin_chat=f"telegram:{ADMIN}"
    )
    bot = await start_bot(settings, clock)
    chats = await seed(bot.app, 12)
    fake.fail_next("sendMessage", error_code=401, description="Unauthorized", chat_id=chats[4])
    preview = await compose(fake, "Thông báo khi token bị thu hồi", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="từ chối token của bot")

    async def nothing_in_flight(session: AsyncSession) -> bool:
        rows = (await session.exec(select(OutboxItem.state))).all()
        return len(rows) == 12 and "sending" not in rows

    await until(bot.app, nothing_in_flight, timeout=10, failure="rows still in flight")
    async with bot.app.db.session() as session:
        states = Counter((await session.exec(select(OutboxItem.state))).all())
    assert states["failed"] == 0
    assert states["sent"] + states["queued"] == 12 and states["queued"] >= 8
    await stop_bot(bot)
    assert sum("từ chối token của bot" in m.body for m in fake.messages_to(ADMIN)) == 1

    bot = await start_bot(settings, clock)
    try:
        await fake.wait_for(ADMIN, contains="đã gửi xong", timeout=10)
        got = received(fake, chats, "token bị thu hồi")
        assert set(got) == set(chats) and max(got.values()) == 1
    finally:
        await stop_bot(bot)


async def test_groups_audience_with_pin_and_migration(fake: FakeTelegram, bot: Bot) -> None:
    fake.bot_added_to_group(GROUP, by_user_id=ADMIN, title="Tổ Văn phòng")
    await say(
        fake,
        ADMIN,
        "/lienketnhom SCT-VP",
        "đã được liên kết",
        chat_id=GROUP,
        chat_type="group",
        chat_title="Tổ Văn phòng",
    )
    # the group silently became a supergroup: the first send learns the new id
    fake.group_migrates(GROUP, -1005550001, title="Tổ Văn phòng")
    await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
    units_msg = await say(fake, ADMIN, "Thông báo cho nhóm", "Gửi cho đơn vị nào")
    aud = await press(fake, ADMIN, units_msg, "Tổ công đoàn Văn phòng", "Gửi cho ai")
    when = await press(fake, ADMIN, aud, "Các nhóm chat", "Gửi ngay hay hẹn giờ")
    pin = await press(fake, ADMIN, when, "Gửi ngay", "Ghim thông báo")
    preview = await press(fake, ADMIN, pin, "Ghim", "Sẽ gửi tới: 1 nhóm chat")
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
    sent = [m for m in fake.sent if "Thông báo cho nhóm" in m.body and m.chat_id < 0]
    assert [m.chat_id for m in sent] == [-1005550001]
    assert [p["chat_id"] for p in fake.calls_of("pinChatMessage")] == [-1005550001]


async def test_members_read_recent_announcements(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    preview = await compose(fake, "Tin vui: thưởng Tết", "Tất cả đoàn viên")
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã gửi xong")
    clock.advance(days=1)
    # someone who joined later catches up
    late = await seed(bot.app, 1, start=30_000)
    msg = await say(fake, late[0], "/tinmoi", "Tin vui: thưởng Tết")
    assert "1 thông báo gần đây" in msg.body and "Thứ Hai, 23/11/2026" in msg.body
    assert len(chats) == 2
