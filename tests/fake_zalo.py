"""Old home of the fake Zalo Bot API, kept so older imports keep working: it now lives in
tests/fakes/zalo/ (import from ``tests.fakes.zalo``)."""

from tests.fakes.zalo import MAX_TEXT, SECRET_HEADER, FakeZalo, SentZaloMessage, WebhookDelivery

__all__ = ["MAX_TEXT", "SECRET_HEADER", "FakeZalo", "SentZaloMessage", "WebhookDelivery"]
