"""An in-process fake of the Telegram Bot API for end-to-end tests.

A real uvicorn server on 127.0.0.1 speaks enough of the Bot API that an unmodified
``telegram.ext.Application`` can long-poll it, while tests play the human users
(``user_sends``, ``user_presses``, ...) and inspect what the bot did (``sent``, ``edits``,
``calls``). Errors use Telegram's HTTP status codes and descriptions, so PTB raises the same
exception classes (Forbidden, BadRequest, RetryAfter, ChatMigrated) as it would in production.

Where things are: ``text.py`` (parse modes and entity errors, UTF-16 lengths), ``limits.py``
(Telegram's limits and error texts, with sources), ``state.py`` (chats, messages, updates,
polls, files; acting as users, waiting for the bot), ``endpoints.py`` (``FakeTelegram``: the
HTTP routes, parameter checks and answers, fault injection).

Typical use::

    fake = FakeTelegram()
    await fake.start()
    app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url)
           .base_file_url(fake.base_file_url).build())
    ...
    fake.user_sends(42, "/start")
    msg = await fake.wait_for(42, contains="Xin chào")
    fake.user_presses(42, msg, msg.button("Đăng ký"))
"""

from __future__ import annotations

from tests.fakes.telegram.endpoints import FakeTelegram, UploadedFile
from tests.fakes.telegram.limits import PAID_BROADCAST_REFUSED
from tests.fakes.telegram.state import SentMessage
from tests.fakes.telegram.text import render_text

__all__ = ["PAID_BROADCAST_REFUSED", "FakeTelegram", "SentMessage", "UploadedFile", "render_text"]
