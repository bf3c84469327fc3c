"""One progress message per delivery job, edited at a calm pace, then a final report.

The board member who started a broadcast sees "Đã gửi 1.234/5.000 …" update every few seconds
(not once per recipient), a stop button while it runs, and a report when it ends. While a
platform's quota is used up (bot/delivery.py), the message says so under the figures: its rows
wait in the queue and go out by themselves when the platform takes messages again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.chat import APP_NAMES, Address, Button, Message
from bot.i18n import Translator
from bot.registry import payload
from models import outbox
from models.outbox import (
    CANCELLED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    UNCERTAIN,
    UNREACHABLE,
    DeliveryJob,
)

if TYPE_CHECKING:
    from bot.app import App
    from bot.delivery import DeliveryWorker

log = logging.getLogger(__name__)


def progress_text(t: Translator, job: DeliveryJob, counts: dict[str, int]) -> str:
    done = sum(counts.get(s, 0) for s in (SENT, UNREACHABLE, FAILED, UNCERTAIN))
    return t(
        "job.progress",
        title=job.title,
        done=t.number(done),
        total=t.number(job.total),
        sent=t.number(counts.get(SENT, 0)),
        problems=t.number(sum(counts.get(s, 0) for s in (UNREACHABLE, FAILED, UNCERTAIN))),
    )


def is_finished(job: DeliveryJob, counts: dict[str, int]) -> bool:
    """Nothing of the job is waiting or being sent, and its audience is fully expanded."""
    return not counts.get(QUEUED) and not counts.get(SENDING) and not outbox.pending_expansion(job)


def report_text(t: Translator, job: DeliveryJob, counts: dict[str, int]) -> str:
    """The headline says how it went (✔ everyone got it, ⚠️ some did not, ⏹ stopped); only
    the problems that happened are listed."""
    sent = counts.get(SENT, 0)
    states = [CANCELLED] if job.cancelled_at else []
    states += [UNREACHABLE, FAILED, UNCERTAIN]
    parts = [t(f"job.part.{s}", count=t.number(counts[s])) for s in states if counts.get(s)]
    if job.cancelled_at:
        key = "job.report_cancelled"
    else:
        key = "job.report" if sent >= job.total and not parts else "job.report_problems"
    problems = t("job.problems", parts=", ".join(parts)) if parts else ""
    total = t.number(job.total)
    return t(key, title=job.title, total=total, sent=t.number(sent), problems=problems)


class ProgressReporter:
    """Runs in every delivery process but reports only while `active()` (the process leads,
    bot/leader.py): one progress message per job, whatever the number of workers."""

    def __init__(
        self, app: App, interval: float = 3.0, active: Callable[[], bool] | None = None
    ) -> None:
        self.app = app
        self.interval = interval
        self.active = active or (lambda: True)
        self._last: dict[int, str] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("progress update failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def tick(self) -> None:
        if not self.active():
            self._last.clear()  # a later term starts afresh
            return
        now = self.app.clock.now()
        async with self.app.db.session() as session:
            jobs = await outbox.open_jobs(session, now)
            for job in jobs:
                assert job.id is not None
                counts = await outbox.counts(session, job.id)
                finished = is_finished(job, counts)
                held = await self._quota_held(session, job.id) if not finished else []
                await self._show(job, counts, finished, held)
                if finished:
                    job.finished_at = now
                    self._last.pop(job.id, None)
                await session.commit()

    def _held_back(self, platform: str) -> bool:
        """The platform's deliveries are paused (used-up quota) or stopped (token refused)."""
        return any(
            getattr(w, "platform", None) == platform and w.held_back()
            for w in self.app.workers
            if hasattr(w, "held_back")
        )

    async def _quota_held(self, session: Any, job_id: int) -> list[DeliveryWorker]:
        """The workers of this process whose quota is used up and that hold rows of the job."""
        exhausted = [w for w in self.app.workers if getattr(w, "quota_exhausted", False)]
        if not exhausted:
            return []
        waiting = await outbox.queued_bots(session, job_id)
        return [w for w in exhausted if w.bot in waiting]

    async def _show(
        self,
        job: DeliveryJob,
        counts: dict[str, int],
        finished: bool,
        held: list[DeliveryWorker] | None = None,
    ) -> None:
        if not job.status_platform or not job.status_chat_id:
            return
        adapter = await self.app.adapter_for(Address(job.status_platform, job.status_chat_id))
        if adapter is None or self._held_back(job.status_platform):
            return  # (no sends into a used-up quota: the message catches up afterwards)
        assert job.id is not None
        t = self.app.translator(job.language)
        if finished:
            text = report_text(t, job, counts)
            problems = sum(counts.get(s, 0) for s in (UNREACHABLE, FAILED, UNCERTAIN))
            who = Button(t("job.btn.who"), payload("job", "who", job.id))
            report = Message(text, buttons=[[who]] if problems else [])
            if job.status_ref:  # the running counter becomes the report; a new line notifies
                report.edit_ref = job.status_ref
                await adapter.send(job.status_chat_id, report)
                await adapter.send(
                    job.status_chat_id, Message(t("job.done_notice", title=job.title))
                )
            else:
                await adapter.send(job.status_chat_id, report)
            return
        text = progress_text(t, job, counts)
        for worker in held or []:
            assert worker.quota_since is not None
            app = APP_NAMES.get(worker.platform, worker.platform)
            text += "\n" + t("job.quota_paused", app=app, since=t.datetime(worker.quota_since))
        if self._last.get(job.id) == text and job.status_ref:
            return
        stop = [[Button(t("job.btn.stop"), payload("job", "stop", job.id))]]
        ref = await adapter.send(
            job.status_chat_id, Message(text, buttons=stop, edit_ref=job.status_ref)
        )
        job.status_ref = ref or job.status_ref
        self._last[job.id] = text
