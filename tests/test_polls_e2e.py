"""Quick polls on Telegram (native polls) end to end: in a group and fanned out to members,
named and anonymous, votes changed, retracted and delivered twice, outsiders, a restart while
open, the deadline closing it from the scheduler, results, nudges and the export."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import FakeClock
from models.polls import Poll, PollVote
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.people import seed
from tests.tg import (
    ADMIN,
    GROUP,
    Bot,
    copies_recorded,
    handled,
    press,
    say,
    start_bot,
    stop_bot,
    tg_settings,
)


async def link_group(fake: FakeTelegram) -> None:
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


async def in_group(fake: FakeTelegram, user: int, text: str, expect: str) -> SentMessage:
    return await say(fake, user, text, expect, chat_id=GROUP, chat_type="group")


async def group_poll(fake: FakeTelegram, user: int, line: str, *presses: str) -> SentMessage:
    card = await in_group(fake, user, line, "📊 Bình chọn")
    for label in presses:
        mark = fake.mark()
        fake.user_presses(user, card, card.button(label), chat_id=GROUP)
        await fake.wait_until(lambda m=mark: len(fake.sent) > m, what=f"answer to {label}")
    mark = fake.mark()
    fake.user_presses(user, card, card.button("Gửi bình chọn"), chat_id=GROUP)
    await fake.wait_until(lambda: bool(fake.polls_in(GROUP)), what="the native poll")
    await fake.wait_for(GROUP, contains="Đã tạo bình chọn", since=mark)
    await fake.wait_idle()
    return fake.polls_in(GROUP)[-1]


async def votes_in_db(bot: Bot) -> dict[str, list[int]]:
    async with bot.app.db.session() as session:
        rows = (await session.exec(select(PollVote))).all()
    return {v.name: v.choices for v in rows}


async def test_group_poll_named_votes_restart_and_close_at_deadline(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake), clock)
    chats = await seed(bot.app, 3)
    await link_group(fake)
    # a deadline from the card: "in 1 hour"
    card = await in_group(
        fake, chats[0], "/binhchon Thứ Bảy đi dã ngoại? | Có | Không | Có thể", "📊 Bình chọn"
    )
    assert "Công khai" in card.body and "Chỉ chọn một" in card.body
    fake.user_presses(chats[0], card, card.button("Hạn"), chat_id=GROUP)
    choices = await fake.wait_for(GROUP, contains="kết thúc khi nào")
    fake.user_presses(chats[0], choices, choices.button("Sau 1 giờ"), chat_id=GROUP)
    card = await fake.wait_for(GROUP, contains="Hạn: Thứ Hai, 23/11/2026 10:00")
    mark = fake.mark()
    fake.user_presses(chats[0], card, card.button("Gửi bình chọn"), chat_id=GROUP)
    await fake.wait_for(GROUP, contains="Đã tạo bình chọn số 1", since=mark)
    await fake.wait_until(lambda: bool(fake.polls_in(GROUP)), what="the native poll")
    poll = fake.polls_in(GROUP)[0]
    await copies_recorded(bot, 1)
    assert poll.poll is not None and poll.poll["is_anonymous"] is False
    # votes, a change of mind, a retraction, and the same update delivered twice
    fake.user_votes(chats[0], poll, [0], first_name="Lan")
    fake.user_votes(chats[1], poll, [1], first_name="Minh")
    updates = fake.user_votes(chats[1], poll, [2], first_name="Minh")
    fake.repeat_update(updates[0])
    fake.user_votes(chats[2], poll, [0], first_name="Hà")
    fake.user_votes(chats[2], poll, [], first_name="Hà")
    await handled(bot, fake)
    assert sorted((await votes_in_db(bot)).values()) == [[0], [2]]
    # someone outside the union votes with a name that looks like a formula
    fake.user_votes(9191, poll, [1], first_name='=HYPERLINK("http://x","Mở")')
    await handled(bot, fake)
    # results in the group: counts, never names
    result = await in_group(fake, chats[2], "/ketqua", "Kết quả tạm thời")
    assert "1. Có — 1 (33%)" in result.body and "3. Có thể — 1 (33%)" in result.body
    assert "Đoàn Viên" not in result.body
    # a restart while the poll is open: votes are in the database, the deadline still fires
    await stop_bot(bot)
    bot = await start_bot(tg_settings(tmp_path, fake), clock)
    fake.user_votes(chats[2], poll, [1], first_name="Hà")
    await handled(bot, fake)
    # the organiser sees who chose what, in private
    listing = await say(fake, chats[0], "/ketqua 1", "Quản lý bình chọn số 1")
    who = await press(fake, chats[0], listing, "Ai chọn gì", "Ai chọn gì")
    assert "1. Có (1): Đoàn Viên Số A0" in who.body
    assert "2. Không (2): " in who.body and "Đoàn Viên Số C2" in who.body
    sheet = await press(fake, chats[0], listing, "Xuất Excel", "Kết quả bình chọn số 1")
    ballots = load_workbook(io.BytesIO(sheet.document[1]))["Phiếu"]  # type: ignore[index]
    names = [row[0] for row in ballots.iter_rows(min_row=2)]
    formula = next(c for c in names if str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"  # stays text in the board's spreadsheet
    # the deadline: closed from the scheduler, stopped on Telegram, results in the group
    mark = fake.mark()
    clock.advance(minutes=61)
    await bot.app.scheduler.run_due()
    final = await fake.wait_for(GROUP, contains="KẾT QUẢ BÌNH CHỌN", since=mark)
    assert final.photo is not None and final.photo[:4] == b"\x89PNG"
    assert "Số người tham gia: 4" in final.body
    await fake.wait_until(lambda: bool(fake.calls_of("stopPoll")), what="stopPoll")
    assert fake.user_votes(chats[1], poll, [0]) == []  # Telegram no longer takes answers
    async with bot.app.db.session() as session:
        stored = (await session.exec(select(Poll))).one()
    assert stored.state == "closed"
    await stop_bot(bot)


async def test_fan_out_to_members_with_outsider_nudge_and_export(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 3)
    outsider = (await seed(bot.app, 1, "SXD-VP", start=30000))[0]
    ask = await say(fake, ADMIN, "/binhchon", "Câu hỏi bình chọn là gì")
    assert ask
    options = await say(fake, ADMIN, "Ai tham gia hội thao công đoàn?", "Các lựa chọn")
    card = await press(fake, ADMIN, options, "Có / Không / Có thể", "📊 Bình chọn")
    where = await press(fake, ADMIN, card, "Gửi tới", "cho đơn vị nào")
    whom = await press(fake, ADMIN, where, "Tổ công đoàn Văn phòng", "Gửi bình chọn của")
    card = await press(fake, ADMIN, whom, "Từng đoàn viên", "Gửi riêng tới từng đoàn viên")
    mark = fake.mark()
    fake.user_presses(ADMIN, card, card.button("Gửi bình chọn"))
    await fake.wait_for(ADMIN, contains="gửi tới 3 đoàn viên", since=mark)
    await fake.wait_until(
        lambda: all(fake.polls_in(c) for c in chats), what="a native poll in each chat"
    )
    await copies_recorded(bot, 3)
    fake.user_votes(chats[0], fake.polls_in(chats[0])[0], [0])
    # a forwarded copy reaches someone outside the target: not counted, told politely
    fake.user_votes(outsider, fake.polls_in(chats[1])[0], [1], first_name="Khách")
    await fake.wait_for(outsider, contains="không được tính")
    await handled(bot, fake)
    assert list((await votes_in_db(bot)).values()) == [[0]]
    panel = await say(fake, ADMIN, "/ketqua 1", "Quản lý bình chọn số 1")
    missing = await press(fake, ADMIN, panel, "Chưa trả lời", "2 đoàn viên chưa trả lời")
    assert "Đoàn Viên Số B1" in missing.body and "Đoàn Viên Số A0" not in missing.body
    await press(fake, ADMIN, panel, "Nhắc người chưa trả lời", "Đang nhắc 2 đoàn viên")
    await fake.wait_for(chats[1], contains="Nhắc bình chọn")
    await fake.wait_for(chats[2], contains="Nhắc bình chọn")
    sheet = await press(fake, ADMIN, panel, "Xuất Excel", "Kết quả bình chọn số 1")
    wb = load_workbook(io.BytesIO(sheet.document[1]))  # type: ignore[index]
    assert [r[:2] for r in wb["Kết quả"].iter_rows(min_row=3, max_row=5, values_only=True)] == [
        ("Có", 1),
        ("Không", 0),
        ("Có thể", 0),
    ]
    assert len(list(wb["Chưa trả lời"].iter_rows(min_row=2))) == 2
    # a member cannot see the details
    mark = fake.mark()
    own = fake.messages_to(chats[0])[-1]
    fake.user_presses(chats[0], own, "v1:pr:who:1")
    await fake.wait_for(chats[0], contains="chỉ người tạo bình chọn", since=mark)
    # closing early announces the result in the organiser's chat
    mark = fake.mark()
    fake.user_presses(ADMIN, panel, panel.button("Kết thúc ngay"))
    await fake.wait_for(ADMIN, contains="KẾT QUẢ BÌNH CHỌN", since=mark)
    await fake.wait_until(lambda: len(fake.calls_of("stopPoll")) == 3, what="3 copies stopped")


async def test_anonymous_counts_aggregate_across_copies(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 2)
    await say(fake, ADMIN, "/binhchon", "Câu hỏi")
    options = await say(fake, ADMIN, "Chọn màu áo đồng phục?", "Các lựa chọn")
    card = await say(fake, ADMIN, "Xanh\nĐỏ\nTrắng", "📊 Bình chọn")
    fake.user_presses(ADMIN, card, card.button("Ẩn danh / công khai"))
    await fake.wait_for_edit(ADMIN, contains="Ẩn danh: không ai xem")
    fake.user_presses(ADMIN, card, card.button("Một / nhiều"))
    await fake.wait_for_edit(ADMIN, contains="Được chọn nhiều")
    where = await press(fake, ADMIN, card, "Gửi tới", "cho đơn vị nào")
    whom = await press(fake, ADMIN, where, "Tổ công đoàn Văn phòng", "Gửi bình chọn của")
    card = await press(fake, ADMIN, whom, "Từng đoàn viên", "Gửi riêng")
    await press(fake, ADMIN, card, "Gửi bình chọn", "gửi tới 2 đoàn viên")
    await fake.wait_until(lambda: all(fake.polls_in(c) for c in chats), what="both copies")
    await copies_recorded(bot, 2)
    first, second = fake.polls_in(chats[0])[0], fake.polls_in(chats[1])[0]
    assert first.poll["is_anonymous"] and first.poll["allows_multiple_answers"]  # type: ignore[index]
    fake.user_votes(chats[0], first, [0, 2])
    fake.user_votes(chats[1], second, [2])
    await handled(bot, fake)
    assert await votes_in_db(bot) == {}  # anonymous: no names stored
    mark = fake.mark()
    panel = await say(fake, ADMIN, "/ketqua 1", "Quản lý bình chọn số 1")
    assert "Ai chọn gì" not in str(panel.buttons())
    # (the job's "done" notice may come in between: look for the results, not a position)
    result = await fake.wait_for(ADMIN, contains="1. Xanh —", since=mark)
    assert "1. Xanh — 1 (50%)" in result.body and "3. Trắng — 2 (100%)" in result.body
    assert options


async def test_bad_poll_input_gets_clear_answers(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 1)
    await link_group(fake)
    await in_group(fake, chats[0], "/binhchon Chỉ một lựa chọn? | Có", "ít nhất 2 lựa chọn")
    many = " | ".join(f"Phương án {i}" for i in range(13))
    await in_group(fake, chats[0], f"/binhchon Nhiều quá? | {many}", "tối đa 12")
    await in_group(fake, chats[0], "/binhchon Trùng? | Có | có", "bị trùng")
    await in_group(fake, chats[0], "/binhchon " + "x" * 301 + " | A | B", "tối đa 300")
    await in_group(fake, chats[0], "/binhchon Thiếu lựa chọn", "Cách tạo bình chọn trong nhóm")
    # in private a plain member cannot fan out
    await say(fake, chats[0], "/binhchon", "dành cho Ban Chấp hành và tổ trưởng")
    # a typed deadline in the past
    await say(fake, ADMIN, "/binhchon Họp mặt 8/3? | Có | Không", "📊 Bình chọn")
    card = fake.messages_to(ADMIN)[-1]
    times = await press(fake, ADMIN, card, "Hạn", "kết thúc khi nào")
    await press(fake, ADMIN, times, "Nhập thời điểm", "Nhập thời điểm kết thúc")
    await say(fake, ADMIN, "20/11/2026 9:00", "đã qua")
    await press(fake, ADMIN, card, "Gửi bình chọn", "chọn nơi gửi")


async def test_group_that_becomes_a_supergroup_keeps_its_poll(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 2)
    await link_group(fake)
    poll = await group_poll(fake, chats[0], "/binhchon Liên hoan cuối năm? | Có | Không")
    await copies_recorded(bot, 1)
    fake.user_votes(chats[1], poll, [0])
    new_id = -1005550002
    fake.group_migrates(GROUP, new_id, title="Tổ Văn phòng")
    await handled(bot, fake)
    result = await say(fake, chats[1], "/ketqua", "Kết quả tạm thời", chat_id=new_id)
    assert "1. Có — 1 (100%)" in result.body
    panel = await say(fake, chats[0], "/ketqua 1", "Quản lý bình chọn số 1")
    mark = fake.mark()
    fake.user_presses(chats[0], panel, panel.button("Kết thúc ngay"))
    await fake.wait_for(new_id, contains="KẾT QUẢ BÌNH CHỌN", since=mark)


async def test_long_results_come_whole_after_the_chart(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 1)
    await link_group(fake)
    options = " | ".join(f"Phương án số {i}: " + "đi tham quan di tích " * 4 for i in range(12))
    await group_poll(fake, chats[0], f"/binhchon Chọn nơi tham quan năm 2027? | {options}")
    panel = await say(fake, chats[0], "/ketqua 1", "Quản lý bình chọn số 1")
    mark = fake.mark()
    fake.user_presses(chats[0], panel, panel.button("Kết thúc ngay"))
    final = await fake.wait_for(GROUP, contains="KẾT QUẢ BÌNH CHỌN", since=mark)
    assert len(final.body) > 1024 and "Số người tham gia: 0" in final.body  # nothing cut
    photos = [m for m in fake.sent[mark:] if m.chat_id == GROUP and m.photo]
    assert len(photos) == 1 and not photos[0].caption


async def test_someone_elses_card_cannot_be_pressed(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 2)
    await link_group(fake)
    card = await in_group(fake, chats[0], "/binhchon Đồng phục màu gì? | Xanh | Trắng", "📊")
    await in_group(fake, chats[1], "/binhchon Của tôi? | A | B", "📊")  # a draft of their own
    mark = fake.mark()
    fake.user_presses(chats[1], card, card.button("Gửi bình chọn"), chat_id=GROUP)
    await fake.wait_for(GROUP, contains="Phiên tạo bình chọn này đã kết thúc", since=mark)
    await handled(bot, fake)
    assert fake.polls_in(GROUP) == []
    # the owner still can
    await group_poll_press(fake, chats[0], card)


async def group_poll_press(fake: FakeTelegram, user: int, card: SentMessage) -> None:
    mark = fake.mark()
    fake.user_presses(user, card, card.button("Gửi bình chọn"), chat_id=GROUP)
    await fake.wait_for(GROUP, contains="Đã tạo bình chọn", since=mark)
