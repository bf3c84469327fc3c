"""One leader among the processes on a database, for the work that must run once: the
scheduler's timed actions and the progress messages of delivery jobs.

The leader holds the lease row "leader" (models/cluster.py) and renews it every third of its
time to live; a process that stops cleanly gives it up, so the next one takes over at once,
and one that dies simply stops renewing, so another takes over once the lease has run out.
Every process that runs delivery (`congdoan run`, `congdoan worker`) competes; intake-only
processes (`congdoan run --no-delivery`) do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from models import cluster

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

LEADER = "leader"
Hook = Callable[[], Awaitable[None]]


class Leadership:
    def __init__(
        self,
        app: App,
        holder: str,
        *,
        name: str = LEADER,
        ttl: float = 15.0,
        on_gain: Hook | None = None,
        on_lose: Hook | None = None,
        on_renew: Hook | None = None,
    ) -> None:
        self.app, self.holder, self.name, self.ttl = app, holder, name, ttl
        self.on_gain, self.on_lose, self.on_renew = on_gain, on_lose, on_renew
        self.is_leader = False
        self._until: Any = None
        self.changed = asyncio.Event()  # set at every gain or loss (tests wait on it)

    async def tick(self) -> bool:
        """Take or renew the lease; run the hooks when that changes who leads."""
        now = self.app.clock.now()
        until = now + timedelta(seconds=self.ttl)
        try:
            async with self.app.db.session() as session:
                held = await cluster.take_lease(session, self.name, self.holder, now, until)
        except Exception:
            log.exception("leader lease: database error")
            # We cannot tell: keep leading only while our last lease lasts.
            held = self.is_leader and self._until is not None and now < self._until
        else:
            if held:
                self._until = until
        if held and not self.is_leader:
            self.is_leader = True
            log.info("%s: this process leads (%s)", self.name, self.holder)
            await self._call(self.on_gain)
            self._signal()
        elif not held and self.is_leader:
            self.is_leader = False
            log.warning("%s: lease lost to another process", self.name)
            await self._call(self.on_lose)
            self._signal()
        elif held:
            await self._call(self.on_renew)
        return held

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.ttl / 3)
        finally:
            await self.release()

    async def release(self) -> None:
        """Stop leading and give the lease up so another process need not wait."""
        if not self.is_leader:
            return
        self.is_leader = False
        await self._call(self.on_lose)
        self._signal()
        try:
            async with self.app.db.session() as session:
                await cluster.release_lease(session, self.name, self.holder, self.app.clock.now())
        except Exception:
            log.exception("leader lease: could not give it up (it runs out by itself)")

    def _signal(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def _call(self, hook: Hook | None) -> None:
        if hook is None:
            return
        try:
            await hook()
        except Exception:
            log.exception("leader hook failed")
