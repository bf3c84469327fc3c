"""The delivery workers' heartbeat in the database, for the health check of processes that
run none (`congdoan run --no-delivery`): while every worker of this process is fresh, a lease
row (models/cluster.py) says so until `worker_stale_seconds` from now."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from models import cluster

if TYPE_CHECKING:
    from bot.app import App
    from bot.delivery import DeliveryWorker

log = logging.getLogger(__name__)

# Rows of processes that stopped without cleaning up are dropped after a day.
KEEP_GONE = timedelta(days=1)


class Beacon:
    def __init__(
        self, app: App, holder: str, workers: list[DeliveryWorker], *, every: float = 5.0
    ) -> None:
        self.app, self.holder, self.workers, self.every = app, holder, workers, every
        self._pruned = False

    def fresh(self) -> bool:
        stale = timedelta(seconds=self.app.settings.health.worker_stale_seconds)
        now = self.app.clock.now()
        return bool(self.workers) and all(
            w.running and w.last_beat is not None and now - w.last_beat <= stale
            for w in self.workers
        )

    async def tick(self) -> None:
        if not self.fresh():
            return  # the row runs out by itself: other processes see the workers stopped
        now = self.app.clock.now()
        until = now + timedelta(seconds=self.app.settings.health.worker_stale_seconds)
        async with self.app.db.session() as session:
            await cluster.beat(session, holder=self.holder, now=now, until=until)
            if not self._pruned:  # once a start is enough
                await cluster.prune_beats(session, before=now - KEEP_GONE)
                self._pruned = True

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:
                    log.exception("worker heartbeat: database error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.every)
        finally:
            try:
                async with self.app.db.session() as session:
                    await cluster.end_beat(session, holder=self.holder)
            except Exception:
                log.warning("worker heartbeat: could not remove it (it runs out by itself)")
