"""Lengths as Telegram counts them: in UTF-16 code units, where an emoji counts two. A 3,900-
emoji announcement passed the 4,000-character check and went out at 7,847 units; a 300-emoji
poll question passed a 300 limit. The bot now counts the same way, refuses what cannot go out
and splits what can; the fake Bot API refuses, as Telegram does, anything over its limits."""

from __future__ import annotations

import logging

import httpx
import pytest

from bot import textutil
from bot.app import App
from bot.chat import Document, FileRef, Message
from tests.conftest import ConsoleUser
from tests.fakes.telegram import FakeTelegram
from tests.people import seed
from tests.tg import ADMIN, LAN, Bot, handled, press, received, say
from tests.world import SCT_BOARD, World, assert_no_crash, build, says

EMOJI = "🎉"  # one code point, two UTF-16 units


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- counting and splitting -----------------------------------------------------------------------
def test_utf16_length_counts_emoji_twice() -> None:
    assert textutil.utf16_len("Họp 🎉") == 6 and textutil.utf16_len(EMOJI * 3900) == 7800


@pytest.mark.parametrize(
    "text",
    [
        EMOJI * 3000,
        ("Dòng có biểu tượng 🎉🎉 " * 20 + "\n") * 30,
        "x" + EMOJI * 5000,
        "👨\u200d👩\u200d👧" * 900,  # a family emoji: several code points joined
    ],
)
def test_split_by_utf16_units_keeps_every_piece_under_the_limit(text: str) -> None:
    chunks = textutil.split_text(text, 4096, utf16=True)
    assert len(chunks) > 1 and all(units(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


# --- the fake Bot API enforces Telegram's limits in UTF-16 units ------------------------------
async def test_fake_bot_api_counts_utf16_units(fake: FakeTelegram) -> None:
    base = f"{fake.base_url}{fake.token}"
    fake.user_sends(LAN, "/start")  # the chat exists
    async with httpx.AsyncClient() as client:

        async def call(method: str, **params: object) -> dict:
            return (await client.post(f"{base}/{method}", json=params)).json()

        assert not (await call("sendMessage", chat_id=LAN, text=EMOJI * 2049))["ok"]
        assert (await call("sendMessage", chat_id=LAN, text=EMOJI * 2048))["ok"]
        too_long = await call("sendPoll", chat_id=LAN, question=EMOJI * 151, options=["a", "b"])
        assert "question length must not exceed 300" in too_long["description"]
        assert (await call("sendPoll", chat_id=LAN, question=EMOJI * 150, options=["a", "b"]))["ok"]
        option = await call("sendPoll", chat_id=LAN, question="Hỏi?", options=["a", EMOJI * 51])
        assert "options length must not exceed 100" in option["description"]
        assert (await call("sendPoll", chat_id=LAN, question="Hỏi?", options=["a", EMOJI * 50]))[
            "ok"
        ]


# --- the Telegram adapter splits what is too long for one message or one caption ------------------
async def test_adapter_splits_long_emoji_text(fake: FakeTelegram, bot: Bot) -> None:
    text = ("Chúc mừng năm mới " + EMOJI * 40 + "\n") * 60  # 2,220 characters, 3,540 units
    text += EMOJI * 2500
    await bot.adapter.send(str(LAN), Message(text))
    parts = fake.messages_to(LAN)
    assert len(parts) >= 3 and all(units(p.body) <= 4096 for p in parts)
    assert "".join(p.body for p in parts).replace("\n", "") == text.replace("\n", "")


async def test_adapter_sends_a_long_caption_as_text(fake: FakeTelegram, bot: Bot) -> None:
    caption = "Báo cáo " + EMOJI * 600  # 608 characters, 1,208 units: too long for a caption
    await bot.adapter.send(
        str(LAN), Message(caption, document=Document("bao-cao.xlsx", b"x" * 10, "text/plain"))
    )
    await bot.adapter.send(
        str(LAN), Message(caption, image=Document("bieu-do.png", b"\x89PNG", "image/png"))
    )
    sent = fake.messages_to(LAN)
    assert [m.method for m in sent] == ["sendDocument", "sendMessage", "sendPhoto", "sendMessage"]
    assert sent[1].body == caption and sent[3].body == caption


# --- the bot refuses what Telegram would ----------------------------------------------------------
@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    return await build(app, console)


async def test_announcement_length_counted_in_utf16(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await world.say(SCT_BOARD, "/thongbao")
    out = await world.say(SCT_BOARD, EMOJI * 3900)
    assert_no_crash(out, caplog)
    assert says(out, "bc.too_long") and "7.800" in out, out
    out = await world.say(SCT_BOARD, EMOJI * 1990)  # 3,980 units
    assert says(out, "bc.ask.unit"), out


async def test_caption_length_counted_in_utf16(world: World) -> None:
    await world.say(SCT_BOARD, "/thongbao")
    document = FileRef("console", "document", "file-1", "ke-hoach.pdf", size=1000)
    out = await world.event(SCT_BOARD, file=document, text=EMOJI * 600)
    assert says(out, "bc.caption_too_long") and "1.200" in out, out
    out = await world.event(SCT_BOARD, text=EMOJI * 500)  # the caption, asked again
    assert says(out, "bc.ask.unit"), out


async def test_poll_question_and_options_counted_in_utf16(world: World) -> None:
    out = await world.say(SCT_BOARD, "/binhchon " + EMOJI * 300 + " | Có | Không")
    assert says(out, "poll.question_too_long") and "600" in out, out
    out = await world.say(SCT_BOARD, "/binhchon " + EMOJI * 151 + " | Có | Không")
    assert says(out, "poll.question_too_long"), out
    out = await world.say(SCT_BOARD, "/binhchon Đi đâu? | Biển | " + EMOJI * 51)
    assert says(out, "poll.option_too_long"), out
    out = await world.say(SCT_BOARD, "/binhchon " + EMOJI * 150 + " | Có | " + EMOJI * 50)
    assert "1. Có" in out, out  # the settings card


async def test_longest_emoji_announcement_reaches_members_on_telegram(
    fake: FakeTelegram, bot: Bot
) -> None:
    """4,000 units of text (1,995 emoji), the most an announcement may have, go out in one
    Telegram message with the header; the fake Bot API would refuse anything past 4,096."""
    chats = await seed(bot.app, 3)
    text = "Chúc mừng " + EMOJI * 1995
    await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
    units_msg = await say(fake, ADMIN, text, "Gửi cho đơn vị nào")
    aud = await press(fake, ADMIN, units_msg, "Toàn bộ", "Gửi cho ai")
    when = await press(fake, ADMIN, aud, "Tất cả đoàn viên", "Gửi ngay hay hẹn giờ")
    await press(fake, ADMIN, when, "Gửi ngay", "Xem trước")
    # the preview is longer than a message: its buttons come with its last part
    await handled(bot, fake)
    preview = [m for m in fake.messages_to(ADMIN) if m.buttons()][-1]
    assert "Xem trước" not in preview.body  # a second part
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_until(
        lambda: all(received(fake, chats, "Chúc mừng")[c] == 1 for c in chats),
        what="the announcement",
    )
    for chat in chats:
        (message,) = fake.messages_to(chat)
        assert text in message.body and 4000 < units(message.body) <= 4096
