"""Forum topics on Telegram: answers stay in the topic they were asked in, and a group linked
from one topic gets the unit's announcements and polls in that topic."""

from __future__ import annotations

from sqlmodel import select

from models.groups import ChatGroup
from models.outbox import OutboxItem
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.people import seed
from tests.tg import ADMIN, Bot, handled, press, say

FORUM = -1002220001
TITLE = "Công đoàn Văn phòng"


def in_forum(fake: FakeTelegram, user: int, text: str, thread: int | None = None) -> None:
    fake.user_sends(
        user, text, first_name="Lan", chat_id=FORUM, chat_type="supergroup", thread_id=thread
    )


async def forum_with_bot(fake: FakeTelegram, bot: Bot, *topics: str) -> list[int]:
    fake.make_forum(FORUM, TITLE)
    threads = [fake.open_topic(FORUM, name) for name in topics]
    fake.bot_added_to_group(FORUM, by_user_id=ADMIN, title=TITLE)
    await handled(bot, fake)
    return threads


async def broadcast_to_groups(fake: FakeTelegram, text: str) -> None:
    await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
    units_msg = await say(fake, ADMIN, text, "Gửi cho đơn vị nào")
    aud = await press(fake, ADMIN, units_msg, "Tổ công đoàn Văn phòng", "Gửi cho ai")
    when = await press(fake, ADMIN, aud, "Các nhóm chat", "Gửi ngay hay hẹn giờ")
    pin = await press(fake, ADMIN, when, "Gửi ngay", "Ghim thông báo")
    preview = await press(fake, ADMIN, pin, "Ghim", "Sẽ gửi tới: 1 nhóm chat")
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)


def bodies(messages: list[SentMessage]) -> list[str]:
    return [m.body for m in messages]


async def test_answers_and_a_group_poll_stay_in_their_topic(fake: FakeTelegram, bot: Bot) -> None:
    (talk,) = await forum_with_bot(fake, bot, "Hỏi đáp")
    chats = await seed(bot.app, 1)
    # a command typed in a topic is answered in that topic; one in the main chat, there
    mark = fake.mark()
    in_forum(fake, chats[0], "/start", talk)
    hello = await fake.wait_for(FORUM, contains="nhắn riêng cho bot", since=mark)
    assert hello.thread_id == talk
    assert hello.params["message_thread_id"] == talk
    mark = fake.mark()
    in_forum(fake, chats[0], "/start")
    hello = await fake.wait_for(FORUM, contains="nhắn riêng cho bot", since=mark)
    assert hello.thread_id is None
    assert "message_thread_id" not in hello.params
    # a quick poll in the topic: the card, every answer and the poll itself
    mark = fake.mark()
    in_forum(fake, ADMIN, "/binhchon Đi dã ngoại Thứ Bảy? | Có | Không", talk)
    card = await fake.wait_for(FORUM, contains="📊 Bình chọn", since=mark)
    assert card.thread_id == talk
    fake.user_presses(ADMIN, card, card.button("Gửi bình chọn"))
    await fake.wait_for(FORUM, contains="Đã tạo bình chọn", since=mark)
    await fake.wait_until(lambda: bool(fake.polls_in(FORUM)), what="the native poll")
    await handled(bot, fake)
    assert [m.thread_id for m in fake.sent[mark:] if m.chat_id == FORUM] == [talk] * 3
    assert [p.thread_id for p in fake.polls_in(FORUM)] == [talk]
    # asked in the topic, the results are shown there; closed early by its organiser in
    # private, the final results go back to where the poll was made
    mark = fake.mark()
    in_forum(fake, chats[0], "/ketqua 1", talk)
    now = await fake.wait_for(FORUM, contains="Kết quả tạm thời", since=mark)
    assert now.thread_id == talk
    await say(fake, ADMIN, "/ketqua 1", "Kết quả tạm thời")
    manage = await fake.wait_for(ADMIN, contains="Quản lý bình chọn số 1", since=mark)
    fake.user_presses(ADMIN, manage, manage.button("Kết thúc ngay"))
    final = await fake.wait_for(FORUM, contains="KẾT QUẢ BÌNH CHỌN", since=mark)
    assert final.thread_id == talk


async def test_announcements_go_to_the_linked_topic(fake: FakeTelegram, bot: Bot) -> None:
    news, chatter = await forum_with_bot(fake, bot, "Thông báo", "Tán gẫu")
    # the board links the group from its "Thông báo" topic
    mark = fake.mark()
    in_forum(fake, ADMIN, "/lienketnhom SCT-VP", news)
    linked = await fake.wait_for(FORUM, contains="Chủ đề này của nhóm đã được liên kết", since=mark)
    assert linked.thread_id == news
    async with bot.app.db.session() as session:
        group = (await session.exec(select(ChatGroup))).one()
    assert (group.chat_id, group.thread_id) == (str(FORUM), str(news))

    await broadcast_to_groups(fake, "Họp tổ chiều thứ Sáu")
    assert "Họp tổ chiều thứ Sáu" in bodies(fake.in_topic(FORUM, news))[-1]
    assert not any("Họp tổ chiều thứ Sáu" in body for body in bodies(fake.in_topic(FORUM, chatter)))
    assert not any("Họp tổ chiều thứ Sáu" in body for body in bodies(fake.in_topic(FORUM, None)))
    assert fake.pinned[FORUM] == fake.in_topic(FORUM, news)[-1].message_id
    async with bot.app.db.session() as session:
        rows = (await session.exec(select(OutboxItem))).all()
    assert [(r.chat_id, r.thread_id, r.state) for r in rows] == [(str(FORUM), str(news), "sent")]

    # the topic is deleted: the next announcement reaches the group's main chat instead
    fake.delete_topic(FORUM, news)
    await broadcast_to_groups(fake, "Nghỉ lễ từ thứ Hai")
    assert "Nghỉ lễ từ thứ Hai" in bodies(fake.in_topic(FORUM, None))[-1]
    refused = [e for e in fake.errors if e[1].get("chat_id") == FORUM]
    assert [body["description"] for _m, _p, body in refused] == [
        "Bad Request: message thread not found"
    ]

    # linked again from the main chat: the whole group, no topic
    mark = fake.mark()
    in_forum(fake, ADMIN, "/lienketnhom SCT-VP")
    await fake.wait_for(FORUM, contains="Nhóm này đã được liên kết", since=mark)
    await broadcast_to_groups(fake, "Đóng đoàn phí tháng 12")
    assert "Đóng đoàn phí tháng 12" in bodies(fake.in_topic(FORUM, None))[-1]
