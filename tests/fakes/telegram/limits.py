"""Telegram's limits and error texts as the fake Bot API enforces them, each with its source:
text and caption lengths, polls, keyboards, command names. ``endpoints.py`` checks every call
against these; ``state.py`` reads the keyboard error to list refusals."""

from __future__ import annotations

import re

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
GETUPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
# Poll limits as the Bot API enforces them (Bot API 10.0 lowered the option minimum to 1;
# the fake keeps 2, since a one-option poll is a bug in this bot). sendPoll: "question: Poll
# question, 1-300 characters"; InputPollOption: "text: Option text, 1-100 characters"
# (https://core.telegram.org/bots/api#sendpoll, #inputpolloption), counted like every length
# in the Bot API in UTF-16 code units (see text.utf16_len).
TEXT_MAX, CAPTION_MAX = 4096, 1024  # UTF-16 code units, see text.utf16_len
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
POLL_MIN_OPTIONS = 2
POLL_MAX_OPTIONS = 12
POLL_OPEN_PERIOD = (5, 2_628_000)
# A paid send the bot's Stars balance cannot pay for (the fake's wording: not documented).
PAID_BROADCAST_REFUSED = "Bad Request: not enough Telegram Stars to pay for the broadcast"

# Keyboard limits. The Bot API documents only callback_data: "1-64 bytes"
# (https://core.telegram.org/bots/api#inlinekeyboardbutton). The button counts are not in the
# docs; they are what Telegram is observed to enforce, and what bots run into:
# "Bad Request: reply markup is too long" (REPLY_MARKUP_TOO_LONG) beyond 100 inline buttons
# (tginfo/Telegram-Limits, "Keyboard buttons number: up to 100" and issue #228: 100 inline
# buttons, 8 per row, 300 reply-keyboard buttons, 12 per row; pyTelegramBotAPI issue #511;
# node-telegram-bot-api issue #200; TelegramBots issue #218) and beyond about 10 KB of markup
# (Telegram-Limits: "Message markup data, e.g. inline buttons: up to 10 KB"). Wider rows are
# not shown whole by the apps. The fake refuses all of these with the same error, so a bot
# that passes here stays inside every one of them.
CALLBACK_DATA_BYTES = (1, 64)
INLINE_MAX_BUTTONS, INLINE_MAX_PER_ROW = 100, 8
REPLY_MAX_BUTTONS, REPLY_MAX_PER_ROW = 300, 12
MARKUP_MAX_BYTES = 10 * 1024
MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
