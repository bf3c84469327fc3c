"""Telling the admin chat that delivery has stalled: rows due for more than
`[delivery] stall_alert_minutes` and still queued. Said once when the stall is seen and once
when it is over, not at every check. Runs in the leading process only (one message per
deployment); a new leader that finds the stall still there says it once more."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.chat import Address, Message
from bot.context import Outgoing
from models import outbox

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


class StallWatch:
    def __init__(self, app: App, *, active: Callable[[], bool], every: float = 30.0) -> None:
        self.app, self.active, self.every = app, active, every
        self.stalled = False
        self.checked = asyncio.Event()  # set after each check (tests wait on it)

    async def check(self) -> None:
        minutes = self.app.settings.delivery.stall_alert_minutes
        if not minutes or not self.active():
            return
        now = self.app.clock.now()
        async with self.app.db.session() as session:
            count, earliest = await outbox.overdue(session, now - timedelta(minutes=minutes))
        if count and not self.stalled:
            self.stalled = True
            assert earliest is not None
            late = int((now - earliest).total_seconds() // 60)
            log.error("delivery stalled: %d rows due for more than %d minutes", count, minutes)
            self.app.metrics.delivery_stalls.inc()
            await self._tell("ops.delivery_stalled", count=count, minutes=late)
        elif not count and self.stalled:
            self.stalled = False
            log.warning("delivery moving again")
            await self._tell("ops.delivery_resumed")

    async def _tell(self, key: str, **params: object) -> None:
        target = self.app.settings.bot.admin_chat
        if not target:
            return
        platform, _, chat_id = target.partition(":")
        text = self.app.translator(None, platform)(key, **params)
        await self.app.deliver([Outgoing(Address(platform, chat_id), Message(text))])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("delivery stall check failed")
            self.checked.set()
            self.checked = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)
