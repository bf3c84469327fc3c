"""When each app last heard from its platform: a long poll that answered (updates or none),
or a webhook call. And whether the platform refused the bot's token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock


@dataclass
class AppBeat:
    started_at: datetime
    polling: bool = True
    last_ok: datetime | None = None
    refused_at: datetime | None = None


class Heartbeats:
    def __init__(self, clock: Clock, on_refused: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.apps: dict[str, AppBeat] = {}
        # Told once per refusal (a token that works again and fails later is told again).
        self.on_refused = on_refused

    def _beat(self, bot: str) -> AppBeat:
        if bot not in self.apps:
            self.apps[bot] = AppBeat(started_at=self.clock.now())
        return self.apps[bot]

    def started(self, bot: str, *, polling: bool) -> None:
        """The app began receiving: its staleness counts from now until its first answer."""
        self.apps[bot] = AppBeat(started_at=self.clock.now(), polling=polling)

    def answered(self, bot: str) -> None:
        """The platform answered a poll (even "nothing new"), or posted a webhook."""
        beat = self._beat(bot)
        beat.last_ok = self.clock.now()
        beat.refused_at = None

    def refused(self, bot: str, *, tell: bool = True) -> None:
        """The platform refused the token (HTTP 401); `tell`: the admin chat hears it here
        (False where another part tells it)."""
        beat = self._beat(bot)
        first = beat.refused_at is None
        beat.refused_at = self.clock.now()
        if first and tell and self.on_refused is not None:
            self.on_refused(bot)
