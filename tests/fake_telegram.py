"""Old home of the fake Telegram Bot API, kept so older imports keep working: it now lives in
tests/fakes/telegram/ (import from ``tests.fakes.telegram``)."""

from tests.fakes.telegram import (
    PAID_BROADCAST_REFUSED,
    FakeTelegram,
    SentMessage,
    UploadedFile,
    render_text,
)

__all__ = ["PAID_BROADCAST_REFUSED", "FakeTelegram", "SentMessage", "UploadedFile", "render_text"]
