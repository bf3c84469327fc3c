"""What can go wrong when sending, in platform-neutral terms.

Adapters translate their library's exceptions into these, so the delivery engine decides
retries, pauses and final states the same way for every platform.
"""

from __future__ import annotations


class SendError(Exception):
    """Base class; `str(error)` is a short technical reason, never shown to members."""


class RateLimited(SendError):
    """The platform asked us to wait (HTTP 429)."""

    def __init__(self, retry_after: float, reason: str = "rate limited") -> None:
        super().__init__(reason)
        self.retry_after = retry_after


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
