"""Tests for tests/fakes/telegram/, driven by a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Poll,
    PollAnswer,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, EndPointNotFound, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    PollHandler,
    TypeHandler,
    filters,
)

from tests.fakes.telegram import FakeTelegram, render_text

# Any warning (unclosed sockets, un-awaited coroutines, PTB deprecations) fails the test.
pytestmark = pytest.mark.filterwarnings("error")

USER = 501
GROUP = -4001
SUPERGROUP = -1001234567890


@dataclass
class Seen:
    update_ids: list[int] = field(default_factory=list)
    member_changes: list[tuple[int, str]] = field(default_factory=list)


def build_app(fake: FakeTelegram, seen: Seen) -> Application:
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )

    async def record(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        seen.update_ids.append(update.update_id)

    async def start(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Xin chào <b>đoàn viên</b>!", parse_mode="HTML")

    async def echo(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Đồng ý", callback_data="ok:1")],
                [InlineKeyboardButton("Trang chủ", url="https://congdoan.vn")],
            ]
        )
        await message.reply_text(f"Bạn nói: {message.text}", reply_markup=keyboard)

    async def contact(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.contact is not None
        own = message.contact.user_id == message.from_user.id if message.from_user else False
        await message.reply_text(f"Số {message.contact.phone_number} own={own}")

    async def pressed(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã nhận")
        await query.edit_message_text(f"Đã chọn {query.data}")

    async def member(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        assert change is not None
        seen.member_changes.append((change.chat.id, change.new_chat_member.status))

    app.add_handler(TypeHandler(Update, record), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.CONTACT, contact))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    return app


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def running(fake: FakeTelegram) -> AsyncIterator[tuple[Application, Seen]]:
    seen = Seen()
    app = build_app(fake, seen)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    yield app, seen
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


@pytest.mark.asyncio
async def test_full_round_trip_and_clean_shutdown() -> None:
    fake = FakeTelegram()
    await fake.start()
    seen = Seen()
    app = build_app(fake, seen)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        assert app.bot.username == "congdoan_test_bot"
        fake.user_sends(USER, "/start", first_name="Lan")
        hello = await fake.wait_for(USER, contains="Xin chào đoàn viên")  # rendered HTML
        assert hello.text == "Xin chào <b>đoàn viên</b>!"
        assert hello.params["parse_mode"] == "HTML"

        mark = fake.mark()
        fake.user_sends(USER, "123")  # a numeric text must stay a string end to end
        echo = await fake.wait_for(USER, contains="Bạn nói: 123", since=mark)
        assert echo.buttons() == [("Đồng ý", "ok:1"), ("Trang chủ", "https://congdoan.vn")]

        press = fake.user_presses(USER, echo, echo.button("Đồng ý"))
        edit = await fake.wait_for_edit(USER, contains="Đã chọn ok:1")
        assert edit["method"] == "editMessageText" and edit["message_id"] == echo.message_id
        assert echo.text == "Đã chọn ok:1" and echo.reply_markup is None  # keyboard dropped
        await fake.wait_idle()
        assert [a["text"] for a in fake.answers] == ["Đã nhận"]
        assert fake.answers[0]["callback_query_id"] == press["callback_query"]["id"]
        assert [m for m, _ in fake.calls[:2]] == ["getMe", "deleteWebhook"]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


@pytest.mark.asyncio
async def test_documents_photos_and_file_download(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, _ = running
    csv = "Họ tên,Đơn vị\nLan,Tổ 1\n".encode()
    message = await app.bot.send_document(
        USER, document=csv, filename="doan_vien.csv", caption="Danh sách"
    )
    sent = fake.sent[-1]
    assert sent.method == "sendDocument"
    assert sent.document == ("doan_vien.csv", csv)
    assert sent.caption == "Danh sách" and sent.message_id == message.message_id
    assert message.document is not None and message.document.file_name == "doan_vien.csv"

    tg_file = await app.bot.get_file(message.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == csv

    photo = await app.bot.send_photo(USER, photo=b"\x89PNG data", caption="Ảnh")
    assert fake.sent[-1].photo == b"\x89PNG data"
    assert photo.photo and photo.caption == "Ảnh"
    # Re-sending by file_id needs no upload and keeps the content.
    await app.bot.send_document(USER, document=message.document.file_id)
    assert fake.sent[-1].document == ("doan_vien.csv", csv)


@pytest.mark.asyncio
async def test_fault_injection(
    fake: FakeTelegram, running: tuple[Application, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = running
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB warns on int retry_after otherwise
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(USER, "một")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await app.bot.send_message(USER, "hai")  # only the next call failed

    fake.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: chat not found",
        chat_id=777,
        times=2,
    )
    await app.bot.send_message(USER, "other chats unaffected")
    for _ in range(2):
        with pytest.raises(BadRequest, match="Chat not found"):
            await app.bot.send_message(777, "x")
    await app.bot.send_message(777, "now fine")

    fake.blocked_users.add(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await app.bot.send_message(USER, "hello?")
    fake.blocked_users.clear()

    fake.group_migrates(GROUP, SUPERGROUP, title="BCH Công đoàn")
    with pytest.raises(ChatMigrated) as migrated:
        await app.bot.send_message(GROUP, "to the old id")
    assert migrated.value.new_chat_id == SUPERGROUP
    await app.bot.send_message(SUPERGROUP, "to the new id")

    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("definitelyNotAMethod", api_kwargs={"a": 1})
    assert ("definitelyNotAMethod", {"a": 1}) in fake.calls
    await fake.wait_idle()


@pytest.mark.asyncio
async def test_telegram_validation(fake: FakeTelegram, running: tuple[Application, Seen]) -> None:
    app, _ = running
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(USER, "Tên: <Lan>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await app.bot.send_message(USER, "Phí: 10.000đ", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        too_long = InlineKeyboardButton("a", callback_data="x" * 65)  # limit is 64 bytes
        await app.bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup([[too_long]]))
    with pytest.raises(BadRequest, match="too long"):
        await app.bot.send_message(USER, "a" * 4097)
    message = await app.bot.send_message(USER, "cố định")
    with pytest.raises(BadRequest, match="not modified"):
        await app.bot.edit_message_text("cố định", chat_id=USER, message_id=message.message_id)
    assert fake.sent[-1].body == "cố định" and len(fake.sent) == 1
    assert render_text("Phí: 10\\.000đ *đậm* _nghiêng_", "MarkdownV2") == "Phí: 10.000đ đậm nghiêng"
    assert render_text("a &lt;b&gt; <i>c</i>", "HTML") == "a <b> c"


@pytest.mark.asyncio
async def test_duplicate_delivery_and_updates_shapes(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, seen = running
    first = fake.user_sends(USER, "lặp")
    await fake.wait_for(USER, contains="Bạn nói: lặp")
    await fake.wait_idle()
    fake.queue_raw_update(first)  # Telegram re-delivers the same update_id
    await fake.wait_for(USER, contains="Bạn nói: lặp", count=2)
    assert seen.update_ids.count(first["update_id"]) == 2

    fake.user_sends_contact(USER, "84901234567")
    await fake.wait_for(USER, contains="Số 84901234567 own=True")

    fake.bot_added_to_group(SUPERGROUP, by_user_id=USER, title="Tổ Công đoàn")
    fake.bot_removed_from_group(GROUP, by_user_id=USER)
    await fake.wait_until(lambda: len(seen.member_changes) == 2, what="my_chat_member")
    assert seen.member_changes == [(SUPERGROUP, "member"), (GROUP, "left")]
    with pytest.raises(Forbidden, match="kicked"):
        await app.bot.send_message(GROUP, "still there?")

    # Every helper must produce JSON that PTB parses.
    shapes = [
        fake.user_sends_sticker(USER),
        fake.user_sends_photo(USER, caption="ảnh"),
        fake.user_sends_voice(USER, duration=4),
        fake.user_sends_document(USER, "don.pdf", b"%PDF"),
        fake.user_joins_group(SUPERGROUP, 502, first_name="Minh"),
        fake.user_sends(502, "/start@congdoan_test_bot hi", chat_id=SUPERGROUP),
        fake.group_migrates(GROUP, -1009999, with_migrate_from=True),
        fake.user_blocks_bot(503),
    ]
    updates = [Update.de_json(raw, app.bot) for raw in shapes]
    msgs = [u.effective_message for u in updates[:-1]]
    assert all(m is not None for m in msgs)
    sticker, photo, voice, document, joined, command, migrate = msgs
    assert sticker is not None and sticker.sticker is not None and sticker.sticker.type == "regular"
    assert photo is not None and photo.photo and photo.caption == "ảnh"
    assert voice is not None and voice.voice is not None
    assert document is not None and document.document is not None
    assert joined is not None and joined.new_chat_members[0].first_name == "Minh"
    assert command is not None and command.chat.type == "supergroup"
    assert command.entities[0].length == len("/start@congdoan_test_bot")
    assert migrate is not None and migrate.migrate_to_chat_id == -1009999
    blocked = updates[-1].my_chat_member
    assert blocked is not None and blocked.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="blocked"):
        await app.bot.send_message(503, "hello?")
    await fake.wait_idle()


@pytest.mark.asyncio
async def test_raw_http_json_get_and_errors(fake: FakeTelegram) -> None:
    base = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        me = (await client.get(f"{base}/getMe")).json()
        assert me["ok"] and me["result"]["username"] == "congdoan_test_bot"
        markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
        response = await client.post(
            f"{base}/sendMessage", json={"chat_id": USER, "text": "123", "reply_markup": markup}
        )
        assert response.json()["result"]["text"] == "123"
        assert fake.sent[-1].button("Có") == "yes" and fake.sent[-1].text == "123"
        response = await client.post(f"{base}/noSuchMethod", data={"x": "1"})
        assert response.status_code == 404
        assert response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        assert fake.calls[-1] == ("noSuchMethod", {"x": 1})
        response = await client.post(f"{fake.base_url}0:WRONG/getMe")
        assert response.status_code == 401
        updates = (await client.post(f"{base}/getUpdates", data={"timeout": "0"})).json()
        assert updates == {"ok": True, "result": []}


@pytest.mark.asyncio
async def test_commands_and_wait_for_timeout(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, _ = running
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")]
    await app.bot.set_my_commands(commands, language_code="vi")
    await app.bot.set_my_commands(commands[:1], scope=BotCommandScopeAllGroupChats())
    assert [c["command"] for c in fake.commands_for(language_code="vi")] == ["start", "help"]
    assert len(fake.commands_for({"type": "all_group_chats"})) == 1
    assert await app.bot.get_my_commands(language_code="vi") == tuple(commands)
    await app.bot.delete_my_commands(language_code="vi")
    assert fake.commands_for(language_code="vi") == []

    await app.bot.send_message(USER, "tin có sẵn")
    with pytest.raises(AssertionError, match="tin có sẵn"):
        await fake.wait_for(USER, contains="không bao giờ", timeout=0.2)
    chat = await app.bot.get_chat(SUPERGROUP)
    assert chat.type == "supergroup"


@dataclass
class PollSeen:
    answers: list[PollAnswer] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)


def watch_polls(app: Application) -> PollSeen:
    seen = PollSeen()

    async def on_answer(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.poll_answer is not None
        seen.answers.append(update.poll_answer)

    async def on_poll(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.poll is not None
        seen.polls.append(update.poll)

    app.add_handler(PollAnswerHandler(on_answer), group=1)
    app.add_handler(PollHandler(on_poll), group=1)
    return seen


@pytest.mark.asyncio
async def test_send_poll_round_trip_and_validation(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, _ = running
    message = await app.bot.send_poll(
        GROUP,
        "  Chọn ngày họp BCH?  ",
        ["Thứ Hai", "Thứ Ba", "Thứ Tư"],
        is_anonymous=False,
        allows_multiple_answers=True,
    )
    poll = message.poll
    assert poll is not None and poll.question == "Chọn ngày họp BCH?"  # stripped
    assert [o.text for o in poll.options] == ["Thứ Hai", "Thứ Ba", "Thứ Tư"]
    assert poll.total_voter_count == 0 and not poll.is_closed and not poll.is_anonymous
    assert poll.allows_multiple_answers and poll.type == "regular" and poll.id.isdigit()
    sent = await fake.wait_for(GROUP, contains="ngày họp BCH")
    assert fake.polls_in(GROUP) == [sent] and fake.polls_in(USER) == []
    assert sent.method == "sendPoll" and sent.message_id == message.message_id
    assert sent.poll is not None and sent.poll["id"] == poll.id
    assert "'Thứ Ba: 0'" in sent.describe()

    # Defaults: anonymous, single answer, fresh poll id.
    other = await app.bot.send_poll(USER, "Có tham gia?", ["Có", "Không"])
    assert other.poll is not None and other.poll.is_anonymous
    assert not other.poll.allows_multiple_answers and other.poll.id != poll.id

    cases = [
        ("Hỏi?", ["Một"], "at least 2 option"),
        ("Hỏi?", [str(i) for i in range(13)], "more than 12 options"),
        ("x" * 301, ["a", "b"], "question length must not exceed 300"),
        ("Hỏi?", ["a", "b" * 101], "options length must not exceed 100"),
        ("   ", ["a", "b"], "question must be non-empty"),
        ("Hỏi?", ["a", " "], "options must be non-empty"),
    ]
    for question, options, error in cases:
        with pytest.raises(BadRequest, match=error):
            await app.bot.send_poll(USER, question, options)
    await app.bot.send_poll(USER, "x" * 300, [str(i) for i in range(12)])  # limits inclusive

    fake.blocked_users.add(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await app.bot.send_poll(USER, "Còn đó không?", ["Có", "Không"])
    fake.blocked_users.clear()
    fake.fail_next("sendPoll", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_poll(USER, "Lỗi?", ["Có", "Không"])
    assert len(fake.polls_in(USER)) == 2


@pytest.mark.asyncio
async def test_named_poll_votes_and_retraction(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, _ = running
    seen = watch_polls(app)
    await app.bot.send_poll(
        GROUP, "Ngày nào?", ["T2", "T3", "T4"], is_anonymous=False, allows_multiple_answers=True
    )
    sent = fake.polls_in(GROUP)[-1]
    assert sent.poll is not None
    poll_id = sent.poll["id"]

    updates = fake.user_votes(USER, sent, [2, 0], first_name="Lan")
    assert [next(k for k in u if k != "update_id") for u in updates] == ["poll_answer", "poll"]
    await fake.wait_until(lambda: len(seen.polls) == 1, what="first poll update")
    answer = seen.answers[0]
    assert answer.poll_id == poll_id and answer.option_ids == (0, 2)
    assert answer.user is not None and answer.user.id == USER and answer.user.first_name == "Lan"
    assert [o.voter_count for o in seen.polls[0].options] == [1, 0, 1]
    assert seen.polls[0].total_voter_count == 1

    fake.user_votes(502, sent, [0])
    await fake.wait_until(lambda: len(seen.polls) == 2, what="second poll update")
    assert [o.voter_count for o in seen.polls[1].options] == [2, 0, 1]
    assert seen.polls[1].total_voter_count == 2  # distinct voters, not votes

    fake.user_votes(USER, sent, [])  # retraction
    await fake.wait_until(lambda: len(seen.polls) == 3, what="poll update after retraction")
    assert seen.answers[-1].option_ids == () and seen.answers[-1].user is not None
    assert [o.voter_count for o in seen.polls[2].options] == [1, 0, 0]
    assert sent.poll["total_voter_count"] == 1  # the live state in `sent`
    assert fake.user_votes(USER, sent, []) == []  # nothing to retract: no update
    assert "['T2: 1', 'T3: 0', 'T4: 0']" in sent.describe()

    single = await app.bot.send_poll(GROUP, "Một lựa chọn?", ["Có", "Không"], is_anonymous=False)
    single_sent = fake.polls_in(GROUP)[-1]
    assert single_sent.message_id == single.message_id
    with pytest.raises(AssertionError, match="one answer only"):
        fake.user_votes(USER, single_sent, [0, 1])
    with pytest.raises(AssertionError, match="out of range"):
        fake.user_votes(USER, single_sent, [2])
    await app.bot.send_message(GROUP, "tin thường")
    with pytest.raises(AssertionError, match="not a poll"):
        fake.user_votes(USER, fake.messages_to(GROUP)[-1], [0])
    await fake.wait_idle()
    assert len(seen.answers) == 3 and len(seen.polls) == 3


@pytest.mark.asyncio
async def test_anonymous_poll_stop_poll_and_repeat(
    fake: FakeTelegram, running: tuple[Application, Seen]
) -> None:
    app, seen_ids = running
    seen = watch_polls(app)
    message = await app.bot.send_poll(SUPERGROUP, "Ẩn danh?", ["Có", "Không"])
    sent = fake.polls_in(SUPERGROUP)[0]

    updates = fake.user_votes(USER, sent, [1])
    assert len(updates) == 1 and updates[0]["poll"]["options"][1]["voter_count"] == 1
    await fake.wait_until(lambda: len(seen.polls) == 1, what="anonymous poll update")
    assert seen.answers == []  # no poll_answer for anonymous polls

    fake.repeat_update(updates[0])  # same update_id again: the bot must cope
    await fake.wait_until(
        lambda: seen_ids.update_ids.count(updates[0]["update_id"]) == 2, what="re-delivery"
    )

    stopped = await app.bot.stop_poll(SUPERGROUP, message.message_id)
    assert stopped.is_closed and stopped.total_voter_count == 1 and stopped.id == sent.poll["id"]
    assert sent.poll is not None and sent.poll["is_closed"] and "closed" in sent.describe()
    await fake.wait_until(lambda: any(p.is_closed for p in seen.polls), what="closing update")
    assert fake.user_votes(502, sent, [0]) == []  # closed: clients can't vote any more
    assert sent.poll["total_voter_count"] == 1

    with pytest.raises(BadRequest, match="already been closed"):
        await app.bot.stop_poll(SUPERGROUP, message.message_id)
    text = await app.bot.send_message(SUPERGROUP, "không phải bình chọn")
    with pytest.raises(BadRequest, match="not a poll"):
        await app.bot.stop_poll(SUPERGROUP, text.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message with poll to stop not found"):
        await app.bot.stop_poll(SUPERGROUP, 9999)
    with pytest.raises(AssertionError, match="needs an update that was queued"):
        fake.repeat_update({"update_id": 99_999_999, "poll": updates[0]["poll"]})
    await fake.wait_idle()
    assert len(seen.polls) == 3  # vote, repeated vote, stop


@pytest.mark.asyncio
async def test_poll_over_raw_http(fake: FakeTelegram) -> None:
    base = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        # Form-encoded like PTB: a numeric question must stay a string.
        form = {"chat_id": str(USER), "question": "2026", "options": '["Có", {"text": "Không"}]'}
        response = (await client.post(f"{base}/sendPoll", data=form)).json()
        assert response["ok"] and response["result"]["poll"]["question"] == "2026"
        response = await client.post(
            f"{base}/sendPoll", json={"chat_id": USER, "question": "?", "options": "Có"}
        )
        assert response.status_code == 400
        assert response.json()["description"] == "Bad Request: can't parse options JSON object"
        sent = fake.polls_in(USER)[0]
        fake.user_votes(USER, sent, [0])
        result = (
            await client.post(
                f"{base}/getUpdates", json={"allowed_updates": ["poll", "poll_answer"]}
            )
        ).json()["result"]
        assert [list(u)[1] for u in result] == ["poll"]
        assert result[0]["poll"]["options"][0] == {
            "persistent_id": "0",
            "text": "Có",
            "voter_count": 1,
        }
