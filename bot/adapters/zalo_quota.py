"""Zalo's 429 is "Quota exceeded — vượt quá giới hạn sử dụng API cho phép" (the Zalo Bot
Platform's error table), an allowance that may be daily or monthly, not a per-second pace
whose end the server announces. So each refusal pauses sending a little longer than the last
(growing pauses up to a cap); refusals that go on for longer than the configured time count as
the quota being used up, which the delivery engine tells the board and the admin chat about.
A send that gets through ends the streak.

Time is the application's clock (bot/clock.py), so tests move it instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.sending import QuotaExceeded


@dataclass(frozen=True)
class QuotaPolicy:
    first_pause: float = 5.0  # seconds, after the first refusal
    max_pause: float = 3600.0  # seconds: the pauses double up to this
    exhausted_after: float = 600.0  # seconds of refusals before the quota counts as used up


class QuotaWatch:
    def __init__(self, clock: Clock, policy: QuotaPolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or QuotaPolicy()
        self.since: datetime | None = None  # the first refusal of the current streak
        self._pauses = 0
        self._until: datetime | None = None

    def refused(self, retry_after: float | None = None) -> QuotaExceeded:
        """A 429: how long to pause. A refusal while a pause is still running (a request
        sent before it began) does not make the pause grow."""
        now = self.clock.now()
        if self.since is None:
            self.since = now
        if self._until is not None and now < self._until:
            wait = (self._until - now).total_seconds()
        else:
            policy = self.policy
            wait = min(policy.first_pause * 2**self._pauses, policy.max_pause)
            if retry_after is not None:  # Zalo does not document one; honour it if given
                wait = max(wait, retry_after)
            self._pauses += 1
            self._until = now + timedelta(seconds=wait)
        lasted = (now - self.since).total_seconds()
        return QuotaExceeded(
            wait, since=self.since, exhausted=lasted >= self.policy.exhausted_after
        )

    def succeeded(self) -> None:
        """A send got through: the next refusal starts a new streak."""
        self.since = None
        self._pauses = 0
        self._until = None
