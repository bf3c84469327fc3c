"""The fake Bot API refuses keyboards Telegram refuses: more than 100 inline buttons, rows
wider than 8, over about 10 KB of markup, callback_data outside 1–64 bytes (sources in
tests/fakes/telegram/limits.py), on every method that takes a keyboard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram

USER = 501
TOO_LONG = r"(?i)reply markup is too long"


def column(count: int, label: str = "Tổ {i}") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label.format(i=i), callback_data=f"u:{i}")] for i in range(count)]
    )


@pytest.fixture
async def api(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        yield bot


async def test_inline_keyboard_limits_on_send_and_edit(fake: FakeTelegram, api: Bot) -> None:
    sent = await api.send_message(USER, "100 nút", reply_markup=column(100))
    assert len(fake.sent[-1].buttons()) == 100
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_message(USER, "1.002 nút", reply_markup=column(1002))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.edit_message_reply_markup(USER, sent.message_id, reply_markup=column(101))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.edit_message_text(
            "trang mới", chat_id=USER, message_id=sent.message_id, reply_markup=column(101)
        )
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.edit_message_reply_markup(inline_message_id="abc", reply_markup=column(101))
    assert len(fake.sent[-1].buttons()) == 100  # the refused edits changed nothing

    eight = [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(8)]
    await api.send_message(USER, "8 một hàng", reply_markup=InlineKeyboardMarkup([eight]))
    nine = [*eight, InlineKeyboardButton("9", callback_data="9")]
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_message(USER, "9 một hàng", reply_markup=InlineKeyboardMarkup([nine]))

    # fewer than 100 buttons, but long labels: over 10 KB of markup
    wordy = "Tổ công đoàn Phân xưởng Dệt nhuộm và Hoàn tất số {i} — ca ngày"
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_message(USER, "dài", reply_markup=column(99, wordy))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_document(USER, b"%PDF-1.4", filename="a.pdf", reply_markup=column(101))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_poll(USER, "Hỏi?", ["a", "b"], reply_markup=column(101))
    assert len(fake.keyboard_refusals()) == 8


async def test_callback_data_is_1_to_64_bytes(fake: FakeTelegram, api: Bot) -> None:
    def one(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data=data)]])

    await api.send_message(USER, "64 byte", reply_markup=one("x" * 64))
    await api.send_message(USER, "64 byte có dấu", reply_markup=one("đ" * 32))
    for data in ("x" * 65, "đ" * 33):  # bytes, not characters: "đ" is two
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await api.send_message(USER, "quá dài", reply_markup=one(data))
    assert len(fake.keyboard_refusals()) == 2


async def test_reply_keyboard_limits(fake: FakeTelegram, api: Bot) -> None:
    def keyboard(rows: int, per_row: int) -> ReplyKeyboardMarkup:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(f"{r}.{c}") for c in range(per_row)] for r in range(rows)]
        )

    await api.send_message(USER, "300 nút", reply_markup=keyboard(25, 12))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_message(USER, "301 nút", reply_markup=keyboard(301, 1))
    with pytest.raises(BadRequest, match=TOO_LONG):
        await api.send_message(USER, "13 một hàng", reply_markup=keyboard(1, 13))
