"""Telegram join requests to a linked group that approves new members: a member is let in at
once, an outsider after registering and the board's approval, declined after a rejection;
a member of another unit is put to the board. The bot writes in private only, and pending
requests and decisions survive a restart."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.clock import FakeClock
from models.audit import AuditEntry
from models.groups import JoinRequest
from tests.fakes.telegram import FakeTelegram
from tests.people import add_member, seed
from tests.tg import ADMIN, Bot, handled, say, start_bot, stop_bot, tg_settings
from tests.tg_flows import register_in_private

GROUP = -1003330001
TITLE = "Tổ Văn phòng"
OUTSIDER = 7001


async def linked_group(fake: FakeTelegram, bot: Bot) -> None:
    """The board added the bot as an administrator that may add members, and linked it."""
    fake.bot_added_as_admin(GROUP, ADMIN, {"can_invite_users", "can_pin_messages"}, title=TITLE)
    await say(
        fake,
        ADMIN,
        "/lienketnhom SCT-VP",
        "đã được liên kết",
        chat_id=GROUP,
        chat_type="supergroup",
    )
    await say(fake, ADMIN, "/toi", str(ADMIN))  # the board member has a private chat with it
    fake.strict_chats = True  # from here the bot may write only where Telegram lets it


def said_in_group(fake: FakeTelegram, mark: int) -> list[str]:
    return [m.body for m in fake.sent[mark:] if m.chat_id == GROUP]


async def states(bot: Bot) -> list[str]:
    async with bot.app.db.session() as session:
        return [r.state for r in (await session.exec(select(JoinRequest))).all()]


def method_order(fake: FakeTelegram, chat_id: int, method: str) -> tuple[int, int]:
    """Where, among the calls, the first send to `chat_id` and the first `method` are."""
    names = [(m.lower(), p.get("chat_id")) for m, p in fake.calls]
    first_send = next(i for i, (m, c) in enumerate(names) if m == "sendmessage" and c == chat_id)
    first_call = next(i for i, (m, _c) in enumerate(names) if m == method.lower())
    return first_send, first_call


async def test_updates_include_join_requests(fake: FakeTelegram, bot: Bot) -> None:
    await handled(bot, fake)
    asked = fake.calls_of("getUpdates")[-1]["allowed_updates"]
    assert "chat_join_request" in asked


async def test_a_member_is_let_in_at_once(fake: FakeTelegram, bot: Bot) -> None:
    await linked_group(fake, bot)
    (member,) = await seed(bot.app, 1)  # never wrote to the bot: only the request lets it write
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, member, "Hoa", title=TITLE)
    welcome = await fake.wait_for(member, contains="đã được duyệt", since=mark)
    assert "Tổ công đoàn Văn phòng" in welcome.body and TITLE in welcome.body
    await fake.wait_until(lambda: fake.is_member(GROUP, member), what="the member let in")
    await handled(bot, fake)
    sent, approved = method_order(fake, member, "approveChatJoinRequest")
    assert sent < approved  # written to while the request still allowed it
    assert fake.pending_join_requests(GROUP) == []
    assert await states(bot) == ["approved"]
    assert not any("Đoàn Viên Số" in body for body in said_in_group(fake, mark))


async def test_an_outsider_registers_and_is_let_in_when_the_board_approves(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    bot = await start_bot(settings, clock)
    await linked_group(fake, bot)
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, OUTSIDER, "Bình", title=TITLE)
    invited = await fake.wait_for(OUTSIDER, contains="vui lòng đăng ký đoàn viên", since=mark)
    assert TITLE in invited.body
    await fake.wait_for(ADMIN, contains="Bình xin vào nhóm", since=mark)
    await register_in_private(fake, OUTSIDER, "Trần Văn Bình", "0912000111")
    request = await fake.wait_for(ADMIN, contains="Yêu cầu đăng ký đoàn viên mới", since=mark)
    assert fake.pending_join_requests(GROUP) == [OUTSIDER]  # nobody let in yet

    await stop_bot(bot)  # the waiting request outlives a restart
    bot = await start_bot(settings, clock)
    try:
        mark = fake.mark()
        fake.user_presses(ADMIN, request, request.button("Duyệt"))
        await fake.wait_for(OUTSIDER, contains="đã được duyệt vào nhóm", since=mark)
        await fake.wait_until(lambda: fake.is_member(GROUP, OUTSIDER), what="let in")
        await handled(bot, fake)
        assert await states(bot) == ["approved"]
        assert not any("Trần Văn Bình" in body for body in said_in_group(fake, 0))
        assert not any("0912" in body for body in said_in_group(fake, 0))
    finally:
        await stop_bot(bot)


async def test_an_outsider_is_declined_when_the_board_rejects(fake: FakeTelegram, bot: Bot) -> None:
    await linked_group(fake, bot)
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, OUTSIDER, "Bình", title=TITLE)
    await register_in_private(fake, OUTSIDER, "Trần Văn Bình", "0912000111")
    request = await fake.wait_for(ADMIN, contains="Yêu cầu đăng ký đoàn viên mới", since=mark)
    fake.user_presses(ADMIN, request, request.button("Từ chối"))
    await fake.wait_for(ADMIN, contains="nhập lý do từ chối", since=mark)
    mark = fake.mark()
    await say(fake, ADMIN, "Không phải người của cơ quan", "Đã từ chối")
    await fake.wait_for(
        OUTSIDER, contains="vào nhóm «Tổ Văn phòng» của anh/chị chưa được chấp nhận", since=mark
    )
    await handled(bot, fake)
    assert [p["user_id"] for p in fake.calls_of("declineChatJoinRequest")] == [OUTSIDER]
    assert not fake.is_member(GROUP, OUTSIDER)
    assert fake.pending_join_requests(GROUP) == []
    assert await states(bot) == ["declined"]


async def test_a_roster_match_is_let_in_with_its_registration(fake: FakeTelegram, bot: Bot) -> None:
    await add_member(bot.app, "Lê Thị Cúc", "SCT-VP", "+84912000222", status="roster")
    await linked_group(fake, bot)
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, OUTSIDER, "Cúc", title=TITLE)
    await register_in_private(
        fake, OUTSIDER, "Lê Thị Cúc", "0912000222", expect="khớp với danh sách"
    )
    await fake.wait_for(OUTSIDER, contains="đã được duyệt vào nhóm", since=mark)
    await fake.wait_until(lambda: fake.is_member(GROUP, OUTSIDER), what="let in")


async def test_a_member_of_another_unit_is_put_to_the_board(fake: FakeTelegram, bot: Bot) -> None:
    await linked_group(fake, bot)
    (other,) = await seed(bot.app, 1, "SCT-KT")
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, other, "Hà", title=TITLE)
    await fake.wait_for(other, contains="Ban Chấp hành sẽ xem xét", since=mark)
    card = await fake.wait_for(ADMIN, contains="Tổ công đoàn Kỹ thuật", since=mark)
    assert not fake.is_member(GROUP, other)
    # a forged press, then the real one, then the same one again
    mark = fake.mark()
    fake.user_presses(ADMIN, card, "v1:jr:ok:999")
    await fake.wait_for(ADMIN, contains="Lựa chọn này đã cũ", since=mark)
    let_in = card.button("Cho vào nhóm")
    fake.user_presses(ADMIN, card, let_in)
    await fake.wait_for(other, contains="đã được duyệt vào nhóm", since=mark)
    await fake.wait_for_edit(ADMIN, contains="Đã cho Đoàn Viên Số A0 vào nhóm")
    await fake.wait_until(lambda: fake.is_member(GROUP, other), what="let in")
    mark = fake.mark()
    fake.user_presses(ADMIN, card, let_in)
    await fake.wait_for(ADMIN, contains="đã được xử lý rồi", since=mark)
    assert len(fake.calls_of("approveChatJoinRequest")) == 1


async def test_a_member_of_the_union_may_not_decide_for_the_board(
    fake: FakeTelegram, bot: Bot
) -> None:
    await linked_group(fake, bot)
    member, other = await seed(bot.app, 2, "SCT-KT")
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, other, "Hà", title=TITLE)
    card = await fake.wait_for(ADMIN, contains="xin vào nhóm", since=mark)
    # a member replays the card's button in their own chat with the bot
    mine = await say(fake, member, "/toi", str(member))
    mark = fake.mark()
    fake.user_presses(member, mine, card.button("Cho vào nhóm"))
    await fake.wait_for(member, contains="chỉ dành cho Ban Chấp hành", since=mark)
    await handled(bot, fake)
    assert fake.calls_of("approveChatJoinRequest") == []
    async with bot.app.db.session() as session:
        refused = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "access_denied"))
        ).all()
    assert [r.target for r in refused] == ["button:jr"]


async def test_a_request_handled_meanwhile_by_another_admin(fake: FakeTelegram, bot: Bot) -> None:
    await linked_group(fake, bot)
    (other,) = await seed(bot.app, 1, "SCT-KT")
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, other, "Hà", title=TITLE)
    card = await fake.wait_for(ADMIN, contains="xin vào nhóm", since=mark)
    fake.admin_handles_request(GROUP, other, approve=True)  # in the Telegram app, by hand
    mark = fake.mark()
    fake.user_presses(ADMIN, card, card.button("Cho vào nhóm"))
    await fake.wait_for_edit(ADMIN, contains="Đã cho")
    await handled(bot, fake)
    refusals = [body["description"] for m, _p, body in fake.errors if m == "approveChatJoinRequest"]
    assert refusals == ["Bad Request: USER_ALREADY_PARTICIPANT"]
    assert await states(bot) == ["approved"]


async def test_a_decision_interrupted_is_told_after_a_restart(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    bot = await start_bot(settings, clock)
    await linked_group(fake, bot)
    (member,) = await seed(bot.app, 1)
    fake.fail_next("approveChatJoinRequest", error_code=502, description="Bad Gateway")
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, member, "Hoa", title=TITLE)
    await fake.wait_for(member, contains="đã được duyệt", since=mark)
    await handled(bot, fake)
    assert not fake.is_member(GROUP, member)
    assert await states(bot) == ["approving"]
    await stop_bot(bot)
    bot = await start_bot(settings, clock)
    try:
        await fake.wait_until(lambda: fake.is_member(GROUP, member), what="let in after restart")
        await handled(bot, fake)
        assert await states(bot) == ["approved"]
    finally:
        await stop_bot(bot)


async def test_no_join_request_handling_in_a_group_not_linked(fake: FakeTelegram, bot: Bot) -> None:
    fake.bot_added_as_admin(GROUP, ADMIN, {"can_invite_users"}, title=TITLE)
    await handled(bot, fake)
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, OUTSIDER, "Bình", title=TITLE)
    await handled(bot, fake)
    assert fake.sent[mark:] == []
    assert fake.pending_join_requests(GROUP) == [OUTSIDER]  # left to the group's admins


async def test_a_request_declined_meanwhile_is_not_overruled(fake: FakeTelegram, bot: Bot) -> None:
    await linked_group(fake, bot)
    (other,) = await seed(bot.app, 1, "SCT-KT")
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, other, "Hà", title=TITLE)
    card = await fake.wait_for(ADMIN, contains="xin vào nhóm", since=mark)
    fake.admin_handles_request(GROUP, other, approve=False)
    fake.user_presses(ADMIN, card, card.button("Cho vào nhóm"))
    await fake.wait_for_edit(ADMIN, contains="Đã cho")
    await handled(bot, fake)
    refusals = [body["description"] for m, _p, body in fake.errors if m == "approveChatJoinRequest"]
    assert refusals == ["Bad Request: HIDE_REQUESTER_MISSING"]
    assert not fake.is_member(GROUP, other)
    assert await states(bot) == ["gone"]


async def test_the_board_hears_when_the_bot_lost_the_right_to_add_members(
    fake: FakeTelegram, bot: Bot
) -> None:
    await linked_group(fake, bot)
    fake._bot_rights[GROUP].discard("can_invite_users")  # an owner took the right away
    (member,) = await seed(bot.app, 1)
    mark = fake.mark()
    fake.user_asks_to_join(GROUP, member, "Hoa", title=TITLE)
    await fake.wait_for(
        ADMIN, contains="không duyệt được một yêu cầu vào nhóm «Tổ Văn phòng»", since=mark
    )
    await handled(bot, fake)
    refusals = [body["description"] for m, _p, body in fake.errors if m == "approveChatJoinRequest"]
    assert refusals == ["Bad Request: CHAT_ADMIN_REQUIRED"]
    assert fake.pending_join_requests(GROUP) == [member]  # still there for a human admin
    assert await states(bot) == ["gone"]
