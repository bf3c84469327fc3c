"""What can go wrong when sending, in platform-neutral terms.

Adapters translate their library's exceptions into these, so the delivery engine decides
retries, pauses and final states the same way for every platform.
"""

from __future__ import annotations

from datetime import datetime


class SendError(Exception):
    """Base class; `str(error)` is a short technical reason, never shown to members."""


class RateLimited(SendError):
    """The platform asked us to wait (HTTP 429)."""

    def __init__(self, retry_after: float, reason: str = "rate limited") -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class QuotaExceeded(RateLimited):
    """The platform's sending quota is used up (Zalo's 429 "Quota exceeded", which may be a
    daily or monthly allowance, not a per-second pace): the delivery engine stops sending on
    that platform for `retry_after` seconds, then tries one message before the rest.

    `since` is when the refusals began; `exhausted` is True once they have lasted longer
    than the configured time (the board and the admin chat are told then, once)."""

    def __init__(self, retry_after: float, *, since: datetime, exhausted: bool) -> None:
        super().__init__(retry_after, "quota exceeded")
        self.since = since
        self.exhausted = exhausted


class Halted(SendError):
    """The platform refused the bot itself (Zalo's 401: token invalid or expired): nothing
    can be sent on it until someone fixes the configuration; queued rows stay queued."""


class Unreachable(SendError):
    """Final for this recipient: blocked the bot, account deleted, bot removed from the group."""


class ChatMoved(SendError):
    """The group became a supergroup and has a new id."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Rejected(SendError):
    """The platform refused this message (bad request): retrying would not help."""


class Transient(SendError):
    """A network error, timeout or server error: worth retrying later.

    `maybe_delivered` is True when the request may have reached the platform before it failed
    (a read timeout, a dropped connection mid-response): re-sending could duplicate it.
    """

    def __init__(self, reason: str, *, maybe_delivered: bool) -> None:
        super().__init__(reason)
        self.maybe_delivered = maybe_delivered
