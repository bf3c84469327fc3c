"""Fan-out in the background: a job's audience becomes outbox rows, one page per transaction.

A handler that sends to many (an announcement, invitations, a poll to a unit) records only the
job and its audience, and answers at once. This worker adds the rows page by page, each page in
its own short transaction that also moves the job's cursor, so memory stays flat, other writers
wait at most one page, and a crash or restart resumes at the cursor (rows carry a dedupe key:
a page added twice adds nothing). The delivery workers are woken after each page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy.sql import Select

from models import outbox, transactions

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PAGE = 2000  # recipients per transaction: a few tens of milliseconds on SQLite


class FanOut:
    def __init__(self, app: App, *, page: int = PAGE, poll_interval: float = 5.0) -> None:
        self.app = app
        self.page = page
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.expand_all()
            except Exception:
                if not stop.is_set():
                    log.exception("fan-out expansion failed; retrying shortly")
            waits = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            try:
                await asyncio.wait(
                    waits, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in waits:
                    task.cancel()

    async def expand_all(self) -> int:
        """Expand every pending job to the end; returns the rows added."""
        added = 0
        while True:
            async with self.app.db.session() as session:
                pending = await outbox.jobs_to_expand(session)
            if not pending:
                return added
            progressed = False
            for job_id in pending:
                while True:
                    step = await self._step_retrying(job_id)
                    if step is None:
                        break  # finished, cancelled, or being expanded by another process
                    progressed = True
                    added += step
            if not progressed:  # all held elsewhere: let the other process finish them
                return added

    async def _step_retrying(self, job_id: int) -> int | None:
        for attempt in range(1, 6):
            try:
                return await self.step(job_id)
            except Exception as exc:
                if not transactions.is_busy(exc) or attempt == 5:
                    raise
                await asyncio.sleep(0.05 * attempt)
        return None

    async def step(self, job_id: int) -> int | None:
        """Add one page of `job_id`'s rows. None when there is nothing (more) to do here."""
        expand = self.app.registry.expand_audience
        if expand is None:
            return None
        # Ahead of the delivery's writes: it cannot send rows that are not queued yet.
        async with self.app.db.writer_turn(bulk=True, first=True), self.app.db.session() as session:
            job = await outbox.lock_for_expansion(session, job_id)
            if job is None or job.audience_json is None or job.message_id is None:
                return None
            spec = json.loads(job.audience_json)
            cursor = job.expand_cursor or 0
            recipients, following = await expand(session, spec, cursor, self.page)
            assert job.id is not None
            rows = outbox.add_rows_from if isinstance(recipients, Select) else outbox.add_rows
            added = await rows(
                session,
                job_id=job.id,
                message_id=job.message_id,
                recipients=recipients,
                not_before=job.start_at,
                now=self.app.clock.now(),
                priority=job.priority,
            )
            job.total += added
            job.expand_cursor = following
            if following is None:
                job.expanded_at = self.app.clock.now()
            await session.commit()
        if added:
            for worker in self.app.workers:
                if worker is not self:
                    worker.wake()
        return added
