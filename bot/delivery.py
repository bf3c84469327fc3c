"""The delivery engine: the one path for bulk and timed sends.

A worker per platform claims due outbox rows, takes a slot from the platform's rate limiter,
marks the row `sending` (committed), calls the adapter and records the outcome. Several sends
are in flight at once so the pace is set by the limiter, not by network round trips.

Outcomes: 429 → the whole platform pauses exactly as long as told and the row is retried
without using up an attempt; blocked/removed → `unreachable` (and later sends skip the person
until they write again); group migrated → the row follows the new id; transient errors →
retried with exponential backoff up to a cap; a failure that may already have reached the
person (read timeout, connection dropped mid-answer) → `uncertain`, never re-sent. See
models/outbox.py for the state machine and README for the guarantee.

A used-up quota (`QuotaExceeded`, Zalo's 429) pauses the worker itself: it claims nothing for
as long as the adapter says (the pauses grow), then tries one row before the rest; the rows
stay queued meanwhile, and once the refusals have lasted the configured time the admin chat is
told (and the progress messages say so, bot/progress.py), then told again when sending goes
on. A refused bot (`Halted`, Zalo's 401) stops the worker until a restart; its rows stay queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.chat import APP_NAMES, Address, Button, Document, FileRef, Message, PollContent
from bot.context import Outgoing
from bot.group_commit import GroupCommit
from bot.sending import (
    ChatMoved,
    Halted,
    QuotaExceeded,
    RateLimited,
    Rejected,
    Transient,
    Unreachable,
)
from models import cluster, groups, members, outbox
from models.outbox import FAILED, SENT, UNCERTAIN, UNREACHABLE, OutboxItem, OutboxMessage

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollSent:
    """What the poll feature's hook (Registry.poll_sent) learns when a poll copy went out: the
    platform's ref of a Telegram poll carries the native poll id ("chat:message:poll")."""

    poll_id: int
    platform: str
    row: OutboxItem
    message_ref: str | None


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 8
    max_attempts: int = 5
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    poll_interval: float = 1.0
    # Rows claimed at a time (0: twice the concurrency). Few: a worker that dies holds few.
    batch: int = 0
    # How long a claim holds without renewal; renewed every third of it while the worker lives.
    lease_seconds: float = 30.0


def to_message(stored: OutboxMessage, item: OutboxItem) -> Message:
    rows = [
        [Button(b["label"], b.get("payload"), b.get("url")) for b in row]
        for row in json.loads(stored.buttons_json or "[]")
    ]
    attachment = None
    if stored.file_id and stored.file_platform == item.platform:
        attachment = FileRef(
            item.platform, stored.file_kind or "document", stored.file_id, stored.file_name or ""
        )
    document = image = None
    if stored.file_data is not None:  # a small generated file: an .ics, a results chart
        name = stored.file_name or "file"
        if name.endswith(".png"):
            image = Document(name, stored.file_data, "image/png")
        else:
            mime = "text/calendar" if name.endswith(".ics") else "application/octet-stream"
            document = Document(name, stored.file_data, mime)
    poll = None
    if stored.poll_json:
        spec = json.loads(stored.poll_json)
        poll = PollContent(
            spec["id"],
            spec["question"],
            tuple(spec["options"]),
            spec["anonymous"],
            spec["multiple"],
        )
    return Message(
        stored.text,
        buttons=rows,
        attachment=attachment,
        document=document,
        image=image,
        pin=stored.pin_in_groups and item.is_group,
        poll=poll,
        thread_id=item.thread_id,
    )


class DeliveryWorker:
    def __init__(
        self,
        app: App,
        adapter: Any,
        settings: WorkerSettings | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.app = app
        self.adapter = adapter
        self.platform: str = adapter.platform
        # The rows it sends: those going through its bot (bot/app.py `bots`).
        self.bot: str = getattr(adapter, "bot_key", adapter.platform)
        self.settings = settings or WorkerSettings()
        self.worker_id = worker_id or cluster.process_id()
        self._batch = self.settings.batch or 2 * self.settings.concurrency
        self._lease = timedelta(seconds=self.settings.lease_seconds)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        # Rows this worker holds (claimed, not yet finished): their leases are renewed.
        self._in_flight: set[int] = set()
        self._claiming = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._messages: dict[int, OutboxMessage] = {}
        # SQLite has one writer: the engine's writes take turns with the people's updates
        # (Database.writer_turn) instead of sleeping in SQLite's busy handler, whose jitter
        # between taking a rate slot and sending would squeeze messages together at the
        # server. Each turn writes a whole group (bot/group_commit.py).
        # The two writes of every message, grouped when many come at once (bot/group_commit.py).
        self._marks: GroupCommit[int, bool] = GroupCommit(self._mark_batch)
        self._sent: GroupCommit[tuple[int, str | None], None] = GroupCommit(self._sent_batch)
        # Called after each row reaches a final state (tests and benchmarks watch it).
        self.on_outcome: Callable[[OutboxItem, str], Awaitable[None] | None] | None = None
        # A used-up quota: nothing is claimed before `_paused_until`, then one row at a time
        # (`_probing`) until one gets through. `quota_since`: when the refusals began;
        # `quota_exhausted`: they lasted long enough to tell people (progress messages too).
        self._paused_until: datetime | None = None
        self._probing = False
        self.quota_since: datetime | None = None
        self.quota_exhausted = False
        self.halted: str | None = None  # the platform refused the bot: nothing more is sent
        # The health check's view (bot/monitoring/health.py): alive, and last seen working
        # (a loop, a finished send or a lease renewal; on the app's clock).
        self.running = False
        self.last_beat: datetime | None = None

    def held_back(self) -> bool:
        """Not sending now: halted, or inside a quota pause."""
        if self.halted is not None:
            return True
        return self._paused_until is not None and self.app.clock.now() < self._paused_until

    def _beat(self) -> None:
        self.last_beat = self.app.clock.now()

    def wake(self) -> None:
        self._wake.set()

    def _turn(self) -> Any:
        return self.app.db.writer_turn(bulk=True)

    def _lease_until(self) -> datetime:
        return self.app.clock.now() + self._lease

    async def recover(self) -> int:
        """Rows a dead worker left `sending` may have reached people: once its lease has run
        out they are reported `uncertain`, never resent; a live worker's are not touched. A
        worker that ran on this machine and whose process is gone needs no waiting for: its
        leases end now. And on its own pace, the platform still counts what was sent in the
        last minute: so do we (a shared pace has that in the database)."""
        now = self.app.clock.now()
        async with self._turn(), self.app.db.session() as session:
            await self._free_gone(session, now)
            count = await outbox.recover_interrupted(session, self.bot, now)
            recent = []
            if not getattr(self.adapter.limiter, "shared", False):
                since = now - timedelta(seconds=61)
                recent = await outbox.recent_sends(session, self.bot, since)
        offset = self.adapter.limiter.clock() - now.timestamp()
        for chat_id, is_group, when in recent:
            self.adapter.limiter.seed(chat_id, is_group, when.timestamp() + offset)
        if count:
            log.warning(
                "%d %s deliveries were interrupted (their worker stopped): marked uncertain",
                count,
                self.platform,
            )
        return count

    async def _free_gone(self, session: Any, now: datetime) -> int:
        ended = 0
        for holder in await outbox.holders(session, self.bot, now):
            if holder != self.worker_id and cluster.is_gone(holder):
                count = await outbox.end_leases(session, self.bot, holder, now)
                log.warning(
                    "worker %s is gone: its %d %s rows are free", holder, count, self.platform
                )
                ended += count
        return ended

    async def run(self, stop: asyncio.Event) -> None:
        self.running = True
        try:
            await self._run(stop)
        finally:
            self.running = False

    async def _run(self, stop: asyncio.Event) -> None:
        await self.recover()
        keeper = asyncio.create_task(self._keep_leases(stop))
        try:
            while not stop.is_set():
                self._beat()
                if self.held_back():
                    self._wake.clear()
                    await self._sleep(stop)
                    continue
                rows = await self._claim()
                if not rows:
                    self._wake.clear()
                    await self._sleep(stop)
                    continue
                for index, row in enumerate(rows):
                    await self._slots.acquire()
                    if stop.is_set():
                        self._slots.release()
                        await self._release([r.id for r in rows[index:] if r.id is not None])
                        break
                    assert row.id is not None
                    task = asyncio.create_task(self._deliver(row))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if self._probing:  # one row after a quota pause: its outcome decides
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            if self._tasks:  # let rows in flight record their outcome
                await asyncio.gather(*self._tasks, return_exceptions=True)
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if self._in_flight:
                await self._release(sorted(self._in_flight))

    async def drain(self, timeout: float = 30.0, *, until_empty: bool = False) -> None:
        """Run until nothing is due (tests and the benchmark); `until_empty`: until no row is
        queued or sending at all, whoever holds it (several workers)."""
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while loop.time() < deadline:
                await asyncio.sleep(0.02)
                # (the flags are read after the query: a claim made while it ran shows)
                nothing_due = not await self._due()
                idle = nothing_due and not self._claiming and not self._in_flight
                if idle and (not until_empty or not await self._unfinished()):
                    return
            raise TimeoutError("outbox did not drain")
        finally:
            stop.set()
            self.wake()
            await runner

    async def _due(self) -> list[OutboxItem]:
        async with self.app.db.session() as session:
            return list(await outbox.due(session, self.bot, self.app.clock.now(), limit=1))

    async def _unfinished(self) -> int:
        async with self.app.db.session() as session:
            return await outbox.unfinished(session, self.bot)

    async def _claim(self) -> list[OutboxItem]:
        now = self.app.clock.now()
        self._claiming = True  # claimed in the database but not yet in `_in_flight`
        try:
            async with self._turn(), self.app.db.session() as session:
                rows = await outbox.claim(
                    session,
                    self.bot,
                    self.worker_id,
                    now,
                    now + self._lease,
                    limit=1 if self._probing else self._batch,
                )
            # (a row of ours whose lease the clock overtook may come back: it is already here)
            rows = [r for r in rows if r.id not in self._in_flight]
            self._in_flight.update(r.id for r in rows if r.id is not None)
            return rows
        finally:
            self._claiming = False

    async def _release(self, ids: list[int]) -> None:
        self._in_flight.difference_update(ids)
        try:
            async with self._turn(), self.app.db.session() as session:
                await outbox.release(session, self.worker_id, ids)
        except Exception:  # they come free when the lease runs out
            log.exception("releasing %d claimed rows failed", len(ids))

    async def _keep_leases(self, stop: asyncio.Event) -> None:
        """While we live: renew our leases, and mark `uncertain` what dead workers left
        `sending` once their leases have run out."""
        every = self.settings.lease_seconds / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            if stop.is_set():
                return
            try:
                await self.keep_leases()
                self._beat()
            except Exception:
                log.exception("renewing %s leases failed", self.platform)

    async def keep_leases(self) -> None:
        """One round of `_keep_leases` (tests call it with the clock where they want it)."""
        async with self._turn(), self.app.db.session() as session:
            if self._in_flight:
                await outbox.renew_leases(
                    session, self.worker_id, sorted(self._in_flight), self._lease_until()
                )
            now = self.app.clock.now()
            freed = await self._free_gone(session, now)
            count = await outbox.recover_interrupted(session, self.bot, now)
        if count:
            log.warning(
                "%d %s deliveries of a stopped worker marked uncertain", count, self.platform
            )
        if freed or count:
            self.wake()

    async def _sleep(self, stop: asyncio.Event) -> None:
        waits = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(
                waits, timeout=self.settings.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in waits:
                task.cancel()

    async def _message(self, message_id: int) -> OutboxMessage | None:
        stored = self._messages.get(message_id)
        if stored is None:
            async with self.app.db.session() as session:
                stored = await outbox.message(session, message_id)
            if stored is not None:
                self._messages[message_id] = stored
        return stored

    async def _deliver(self, row: OutboxItem) -> None:
        assert row.id is not None
        row_id = row.id
        try:
            stored = await self._message(row.message_id)
            paid = self._paid(stored)
            limiter = self.adapter.paid_limiter if paid else self.adapter.limiter

            async def mark_sending(_lead: float = 0.0) -> bool:
                if self.held_back():  # a quota pause began while this row waited
                    return False
                return await self._marks.submit(row_id)

            if self.held_back():
                await self._release([row_id])
                return

            if getattr(limiter, "shared", False):
                # The row is marked while the booked slot comes closer: the request leaves on it.
                slot = await limiter.acquire(
                    row.chat_id, is_group=row.is_group, prepare=mark_sending
                )
                if not slot.prepared:
                    if self.held_back():
                        await self._release([row_id])
                    return  # cancelled while waiting, or no longer ours
            else:
                slot = await limiter.acquire(row.chat_id, is_group=row.is_group)
                if self.held_back():
                    await self._release([row_id])
                    return
                if not await mark_sending():
                    return  # cancelled while waiting, or no longer ours
            if stored is None:
                await self._final(row, FAILED, "message content missing")
                return
            slot.sent()  # the claim took a moment: count the send from now
            await self._attempt(row, stored, getattr(slot, "done", None), paid=paid)
        except Exception:
            log.exception("delivery %s crashed", row.id)
            await self._final(row, FAILED, "internal error")
        finally:
            self._in_flight.discard(row_id)
            self._slots.release()

    async def _mark_batch(self, ids: list[int]) -> list[bool]:
        async with self._turn(), self.app.db.session() as session:
            marked = await outbox.mark_many_sending(
                session,
                ids,
                self.app.clock.now(),
                worker=self.worker_id,
                lease_until=self._lease_until(),
            )
        return [i in marked for i in ids]

    async def _sent_batch(self, sent: list[tuple[int, str | None]]) -> list[None]:
        async with self._turn(), self.app.db.session() as session:
            await outbox.finish_many_sent(
                session, sent, self.app.clock.now(), worker=self.worker_id
            )
        return [None] * len(sent)

    def _paid(self, stored: OutboxMessage | None) -> bool:
        """A paid broadcast goes through the paid lane, where this bot has one."""
        lane = getattr(self.adapter, "paid_limiter", None)
        return stored is not None and stored.paid and lane is not None

    async def _attempt(
        self,
        row: OutboxItem,
        stored: OutboxMessage,
        answered: Callable[[], None] | None = None,
        *,
        paid: bool = False,
    ) -> None:
        assert row.id is not None
        now = self.app.clock.now()
        try:
            try:
                message = to_message(stored, row)
                if paid:
                    ref = await self.adapter.send(row.chat_id, message, bulk=True, paid=True)
                else:
                    ref = await self.adapter.send(row.chat_id, message, bulk=True)
            finally:
                if answered is not None:
                    answered()  # the pace learns when the message had arrived at the latest
        except QuotaExceeded as exc:
            await self._quota_refused(row, now, exc)
            return
        except Halted as exc:
            first = self.halted is None
            self._halt(str(exc))
            async with self._turn(), self.app.db.session() as session:
                await self._requeue(session, row, now, now, error="halted", refund=True)
            if first:
                await self._tell_admins("delivery.halted")
        except RateLimited as exc:
            self.app.metrics.sent(self.platform, "rate_limited")
            async with self._turn(), self.app.db.session() as session:
                await self._requeue(
                    session,
                    row,
                    now,
                    now + timedelta(seconds=exc.retry_after),
                    error=f"429 retry after {exc.retry_after}s",
                    refund=True,
                )
        except Unreachable as exc:
            async with self._turn(), self.app.db.session() as session:
                if row.is_group:
                    group = await groups.find(session, self.platform, row.chat_id)
                    if group is not None:
                        group.active = False
                else:
                    await members.mark_unreachable(session, self.platform, row.chat_id, now)
                await session.commit()
            await self._final(row, UNREACHABLE, str(exc))
        except ChatMoved as exc:
            self.app.metrics.sent(self.platform, "moved")
            async with self._turn(), self.app.db.session() as session:
                await groups.migrate(session, self.platform, row.chat_id, exc.new_chat_id)
                await self._requeue(
                    session, row, now, now, error=str(exc), chat_id=exc.new_chat_id, refund=True
                )
        except Rejected as exc:
            if paid:  # maybe only the fee was refused: the rest goes at the free pace
                await self._paid_refused(row, stored, str(exc))
            else:
                await self._final(row, FAILED, str(exc))
        except Transient as exc:
            await self._transient(row, exc)
        else:
            await self._final(row, SENT, None, ref, poll_json=stored.poll_json)
            await self._quota_over()
        self._probing = False  # whatever happened, it was not the quota: the others may go

    async def _quota_refused(self, row: OutboxItem, now: datetime, exc: QuotaExceeded) -> None:
        """The row waits out the pause in the queue (its attempt given back); the worker
        claims nothing until then, and tells the admin chat once the refusals have lasted."""
        until = now + timedelta(seconds=exc.retry_after)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until
        self._probing = True
        self.quota_since = exc.since
        async with self._turn(), self.app.db.session() as session:
            await self._requeue(
                session,
                row,
                now,
                until,
                error=f"quota exceeded, paused {exc.retry_after:g}s",
                refund=True,
            )
        if exc.exhausted and not self.quota_exhausted:
            self.quota_exhausted = True
            log.warning(
                "%s quota exceeded since %s: deliveries paused, rows stay queued",
                self.platform,
                exc.since.isoformat(),
            )
            await self._tell_admins("delivery.quota.exhausted", since=exc.since)

    async def _quota_over(self) -> None:
        """A send got through after quota refusals: everything goes on at the usual pace."""
        self._probing = False
        self._paused_until = None
        if self.quota_since is None:
            return
        told, self.quota_since, self.quota_exhausted = self.quota_exhausted, None, False
        if told:
            log.warning("%s takes messages again: deliveries go on", self.platform)
            await self._tell_admins("delivery.quota.resumed")

    def _halt(self, reason: str) -> None:
        if self.halted is None:
            self.halted = reason
            log.error("%s deliveries stopped: %s", self.platform, reason)

    async def _tell_admins(self, key: str, *, since: datetime | None = None) -> None:
        """A line for the admin chat (`bot.admin_chat`), if one is set."""
        target = self.app.settings.bot.admin_chat
        if not target:
            return
        platform, _, chat_id = target.partition(":")
        t = self.app.translator()
        when = t.datetime(since) if since is not None else ""
        text = t(key, app=APP_NAMES.get(self.platform, self.platform), since=when)
        try:
            await self.app.deliver([Outgoing(Address(platform, chat_id), Message(text))])
        except Exception:  # the admin chat may be on the platform that refuses
            log.exception("could not tell the admin chat about %s", self.platform)

    async def _paid_refused(self, row: OutboxItem, stored: OutboxMessage, reason: str) -> None:
        """Telegram refused a paid send (no Stars, not allowed for this bot…; the Bot API does
        not list the errors): the content is switched to the free pace for every worker, the
        row is sent again at once without the fee (a content problem then fails it as usual),
        and the board is told once, with Telegram's reason."""
        assert row.id is not None and stored.id is not None
        now = self.app.clock.now()
        stored.paid = False  # this worker's copy
        async with self._turn(), self.app.db.session() as session:
            first = await outbox.stop_paying(session, stored.id, reason)
            await self._requeue(
                session, row, now, now, error=f"paid broadcast refused: {reason}"[:300], refund=True
            )
            job = await outbox.job_of_message(session, stored.id) if first else None
        if first:
            log.warning("paid broadcast refused by %s (%s): free pace", self.platform, reason)
        if job is not None and job.status_platform and job.status_chat_id:
            t = self.app.translator(job.language, job.status_platform)
            notice = Message(t("bc.paid.refused", title=job.title, reason=reason[:200]))
            await self.app.deliver(
                [Outgoing(Address(job.status_platform, job.status_chat_id), notice)]
            )

    async def _transient(self, row: OutboxItem, exc: Transient) -> None:
        assert row.id is not None
        attempts = row.attempts + 1  # mark_sending counted this one in the database
        if exc.maybe_delivered:
            await self._final(row, UNCERTAIN, f"may have been delivered: {exc}")
        elif attempts >= self.settings.max_attempts:
            await self._final(row, FAILED, f"gave up after {attempts} attempts: {exc}")
        else:
            self.app.metrics.sent(self.platform, "retry")
            now = self.app.clock.now()
            delay = min(self.settings.backoff_base**attempts, self.settings.backoff_cap)
            async with self._turn(), self.app.db.session() as session:
                await self._requeue(
                    session, row, now, now + timedelta(seconds=delay), error=str(exc)[:300]
                )

    async def _requeue(
        self,
        session: Any,
        row: OutboxItem,
        now: datetime,
        not_before: datetime,
        *,
        error: str,
        **changes: Any,
    ) -> None:
        """Back to the queue, for any worker (`outbox.requeue`). It is no longer ours: out of
        the rows in flight, or the next claim would skip it while the database says we hold
        it; and the workers are woken, since it may be due at once."""
        assert row.id is not None
        await outbox.requeue(
            session, row.id, now, not_before, error=error, worker=self.worker_id, **changes
        )
        self._in_flight.discard(row.id)
        self.wake()

    async def _final(
        self,
        row: OutboxItem,
        state: str,
        error: str | None,
        ref: str | None = None,
        poll_json: str | None = None,
    ) -> None:
        assert row.id is not None
        if state == SENT and poll_json is None:  # the common case: with others sent meanwhile
            await self._sent.submit((row.id, ref))
            await self._outcome(row, state)
            return
        async with self._turn(), self.app.db.session() as session:
            hook = self.app.registry.poll_sent
            if poll_json is not None and state == SENT and hook is not None:
                # The poll feature records the copy: votes find their poll through it.
                await hook(session, PollSent(json.loads(poll_json)["id"], self.platform, row, ref))
            await outbox.finish(
                session,
                row.id,
                state,
                self.app.clock.now(),
                error=error[:300] if error else None,
                message_ref=ref,
                worker=self.worker_id,
            )
        await self._outcome(row, state)

    async def _outcome(self, row: OutboxItem, state: str) -> None:
        self._beat()
        self.app.metrics.sent(self.platform, state)
        if self.on_outcome is not None:
            result = self.on_outcome(row, state)
            if asyncio.iscoroutine(result):
                await result
