"""The scheduler: one APScheduler wake-up at the earliest due row, plus a safety tick.

Nothing is pickled into APScheduler: at start (and whenever something new is planned) it is
re-armed from `reminders.next_due()`. When it fires, every due row is handled in its own
transaction and marked done in that same transaction; the actions only enqueue deliveries
under unique keys, so a double fire or a restart in the middle sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import reminders
from models.reminders import DONE, Reminder

log = logging.getLogger(__name__)

# A row handled more than this after its due time was missed (the bot was down): the action
# decides whether it is still useful (a meeting not yet started) or skipped.
LATE_AFTER = timedelta(minutes=2)
SAFETY_TICK_SECONDS = 60

Action = Callable[[Any, AsyncSession, Reminder, bool], Awaitable[str | None]]
ACTIONS: dict[str, Action] = {}


def action(kind: str) -> Callable[[Action], Action]:
    """Register what to do when a row of `kind` falls due. The function gets (app, session,
    row, late) and returns None when done, or a reason to mark the row skipped."""

    def register(func: Action) -> Action:
        ACTIONS[kind] = func
        return func

    return register


class Scheduler:
    """Fires in one process only: the leader (bot/leader.py) starts it and stops it; the other
    processes keep one that is not started, so `rearm` there does nothing."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.aps = AsyncIOScheduler(timezone=UTC)
        self._running = asyncio.Lock()

    async def start(self) -> None:
        if self.aps.running:
            return
        self.aps = AsyncIOScheduler(timezone=UTC)  # a stopped one cannot be started again
        self.aps.start()
        self.aps.add_job(
            self.run_due,
            "interval",
            seconds=SAFETY_TICK_SECONDS,
            id="safety",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        await self.rearm()

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    async def rearm(self) -> None:
        """Point the wake-up at the earliest pending row (cheap: one indexed MIN query). The
        leader also re-arms at every lease renewal: rows planned by another process (intake)
        are seen within seconds."""
        if not self.aps.running:
            return
        async with self.app.db.session() as session:
            when = await reminders.next_due(session)
        if when is None:
            if self.aps.get_job("next-due"):
                self.aps.remove_job("next-due")
            return
        # Measured on the app's clock (tests move it), fired on the wall clock.
        delay = max((when - self.app.clock.now()).total_seconds(), 0.0)
        trigger = DateTrigger(run_date=datetime.now(UTC) + timedelta(seconds=delay))
        if self.aps.running:
            self.aps.add_job(
                self.run_due,
                trigger,
                id="next-due",
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )

    async def run_due(self) -> int:
        """Handle every row due by now; returns how many were handled."""
        handled = 0
        self.app.metrics.scheduler_wakeups.inc()
        async with self._running:
            while True:
                now = self.app.clock.now()
                async with self.app.db.session() as session:
                    batch = list(await reminders.due(session, now))
                if not batch:
                    break
                for row in batch:
                    assert row.id is not None
                    handled += await self._handle(row.id, now)
        for worker in getattr(self.app, "workers", []):
            worker.wake()
        await self.rearm()
        return handled

    async def _handle(self, row_id: int, now: Any) -> int:
        async with self.app.db.session() as session:
            # PostgreSQL: a row another process is handling right now (two leaders for a
            # moment, as one takes over from a stalled one) is skipped, not done twice.
            query = select(Reminder).where(Reminder.id == row_id).with_for_update(skip_locked=True)
            row = (await session.exec(query)).first()
            if row is None or row.state != reminders.PENDING:
                return 0  # done by another run
            lateness = now - row.due_at
            self.app.metrics.reminder_lateness.labels(row.kind).observe(lateness.total_seconds())
            late = lateness > LATE_AFTER
            handler = ACTIONS.get(row.kind)
            try:
                reason = (
                    await handler(self.app, session, row, late)
                    if handler
                    else f"no action for {row.kind}"
                )
            except Exception:
                log.exception("scheduled %s %s failed", row.kind, row.key)
                await session.rollback()
                row = await session.get(Reminder, row_id)
                assert row is not None
                reason = "failed (see log)"
            row.state = DONE if reason is None else reminders.SKIPPED
            row.note = reason
            row.done_at = now
            if reason is not None:
                log.info("scheduled %s %s skipped: %s", row.kind, row.key, reason)
            await session.commit()
            return 1
