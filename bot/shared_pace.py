"""One send pace per bot token for every process on a PostgreSQL database.

Each process used to pace itself (bot/ratelimit.py), so two workers sent at 2 × 30/s and got
429s. Here the budget lives in the database, in `send_pace` (models/cluster.py): the bot's row
"*" holds the time of its next free slot, and each chat's row the times of its last sends. One
call of `congdoan_pace_take` (a PL/pgSQL function, migration 0011) checks the chat's sliding
window and, if it has room, moves the bot's next slot on by one spacing and records the send
in the chat's log, all under row locks and in one round trip:

    next_at = greatest(next_at, paused_until, now) + spacing   -- returns the slot

Spacing is (1 s + margin) / 30, the same even pace as the in-process limiter, so the processes
together send at ~98 % of the limit and never 31 in a second, whatever their number.

Within a process one reservation is outstanding at a time (a gate that direct replies pass
first), so the slots booked ahead are at most one per process: a reply from the intake process
waits for those few, not for a backlog. The reservation comes back with its time; the engine
marks its row `sending` while it waits for that time (`prepare`), so the request leaves on the
slot. A send that still leaves late pushes the bot's next slot on by its lateness beyond half
the margin. And a process can still be held up after that (a busy CPU), or the server: so
the bot's row also keeps its last 30 slots in booking order, and when a send's answer comes
later than its round trip needs (its quickest lately), its slot there moves to when it had
arrived at the latest; the send 30 slots later then waits for a full window after that. In
steady pace this costs nothing. A 429 pauses the bot for everyone (`paused_until`).

Times are the hosts' wall clocks (seconds since the epoch): processes on one host share it;
hosts need NTP (the 20 ms margin covers ordinary skew).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.ratelimit import ANSWER_MARGIN, Limits

log = logging.getLogger(__name__)

TAKE = text(
    "SELECT congdoan_pace_take(:bot, :chat, :now, :spacing, :count, :window, :global_count, "
    ":global_window)"
)
# A send's slot in the bot's log moves to when its message had arrived at the latest.
ARRIVED = text(
    "UPDATE send_pace SET times = array_replace(times, CAST(:slot AS double precision), "
    "CAST(:arrived AS double precision)) WHERE bot = :bot AND key = '*'"
)
ENSURE = text(
    "INSERT INTO send_pace (bot, key, next_at, paused_until, times) "
    "VALUES (:bot, '*', 0, 0, '{}') ON CONFLICT (bot, key) DO NOTHING"
)
PAUSE = text(
    "UPDATE send_pace SET paused_until = greatest(paused_until, :until) "
    "WHERE bot = :bot AND key = '*'"
)
PUSH = text("UPDATE send_pace SET next_at = next_at + :late WHERE bot = :bot AND key = '*'")
PRUNE = text("DELETE FROM send_pace WHERE key <> '*' AND next_at < :before")
PRUNE_EVERY = 60.0


class Gate:
    """One holder at a time; urgent waiters go before bulk ones, each kind in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool) -> AsyncIterator[None]:
        if self._held or self._waiters:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (0 if urgent else 1, next(self._order), future))
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._pass_on()  # we were handed the gate as we were cancelled
                else:
                    self._waiters = [w for w in self._waiters if w[2] is not future]
                    heapq.heapify(self._waiters)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the gate stays held, by the next waiter
                return
        self._held = False


class SharedSlot:
    """A slot booked in the database; `sent()` right before the request leaves."""

    def __init__(self, pace: SharedPace, at: float) -> None:
        self.pace, self.at = pace, at
        self.prepared: Any = None  # what `prepare` returned
        self.left: float | None = None  # when the request left (`sent`)

    def sent(self) -> None:
        self.left = self.pace.clock()
        late = self.left - self.at
        if late > self.pace.limits.margin / 2:
            self.pace.push(late - self.pace.limits.margin / 2)

    def done(self) -> None:
        """The answer came (or the request failed): see `SharedPace.arrived`."""
        if self.left is not None:
            self.pace.arrived(self.at, self.left, self.pace.clock())


class SharedPace:
    """Drop-in for `RateLimiter` (acquire / pause / seed / clock) whose budget is shared by
    every process sending as the same bot (`bot`: e.g. "telegram:123456", the token's id)."""

    shared = True

    def __init__(
        self,
        engine: AsyncEngine,
        bot: str,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine, self.bot, self.limits = engine, bot, limits
        self.clock, self.sleep = clock, sleep
        self.spacing = (limits.global_window + limits.margin) / limits.global_count
        self._gate = Gate()
        self._conn: AsyncConnection | None = None
        self._conn_lock = asyncio.Lock()
        self._ready = False
        self._paused_until = 0.0
        self._last_prune = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.taken = 0  # slots taken by this process (tests, logs)
        self._rtts: deque[float] = deque(maxlen=200)  # the latest round trips

    # --- the connection: one per process, autocommit, one statement at a time ------------
    async def _execute(self, statement: Any, params: dict[str, Any]) -> Any:
        async with self._conn_lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        conn = await self.engine.connect()
                        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    if not self._ready:
                        await self._conn.execute(ENSURE, {"bot": self.bot})
                        self._ready = True
                    return await self._conn.execute(statement, params)
                except Exception:
                    await self._drop_connection()
                    if attempt == 2:
                        raise
                    log.warning("send pace: database connection lost, reconnecting")
        raise AssertionError("unreachable")

    async def _drop_connection(self) -> None:
        conn, self._conn, self._ready = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def settle(self) -> None:
        """Until the updates sent in the background (pause, push, arrival) are done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        async with self._conn_lock:
            await self._drop_connection()

    # --- the limiter's interface -----------------------------------------------------------
    async def acquire(
        self,
        chat_id: str,
        *,
        is_group: bool = False,
        urgent: bool = False,
        prepare: Callable[[float], Awaitable[Any]] | None = None,
    ) -> SharedSlot:
        """Wait for a slot to send one message to `chat_id`, take it, and return at its time.
        `prepare(seconds until the slot)` runs between booking and the slot (the engine marks
        its row `sending` there); its result is `slot.prepared`."""
        lim = self.limits
        if is_group:
            count, window = lim.group_count, lim.group_window + lim.margin
        else:
            count = lim.chat_count + (lim.reply_burst if urgent else 0)
            window = lim.chat_window + lim.margin
        while True:
            async with self._gate.hold(urgent):
                paused = self._paused_until - self.clock()
                if paused > 0:
                    await self.sleep(paused)
                params = {
                    "bot": self.bot,
                    "chat": str(chat_id),
                    "now": self.clock(),
                    "spacing": self.spacing,
                    "count": count,
                    "window": window,
                    "global_count": lim.global_count,
                    "global_window": lim.global_window + lim.margin,
                }
                at = float((await self._execute(TAKE, params)).scalar_one())
                if at >= 0:
                    self.taken += 1
                    slot = SharedSlot(self, at)
                    if prepare is not None:
                        slot.prepared = await prepare(at - self.clock())
                    wait = at - self.clock()
                    if wait > 0:
                        await self.sleep(wait)
                    self._maybe_prune()
                    return slot
            # This chat's own window is full: wait for it without holding up anyone else.
            await self.sleep(max(-at - self.clock(), 0.001))

    def pause(self, seconds: float) -> None:
        """The platform said "retry after N seconds": nobody sends as this bot until then."""
        until = self.clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self._spawn(self._execute(PAUSE, {"bot": self.bot, "until": until}))

    def push(self, late: float) -> None:
        """A send left `late` seconds after its slot: later slots move on by as much."""
        self._spawn(self._execute(PUSH, {"bot": self.bot, "late": late}))

    def arrived(self, slot: float, left: float, answered: float) -> None:
        """A request that left at `left` was answered at `answered`: its message reached the
        server by `answered` less the quickest round trip seen lately. Later than its slot by
        more than a millisecond or two means the process (or the server) was held up: the
        send a window's worth of slots later then waits a full window after that."""
        rtt = answered - left
        self._rtts.append(rtt)
        # an answer-based time needs only a little margin (ANSWER_MARGIN), not the jitter one
        arrived = answered - min(self._rtts) - (self.limits.margin - ANSWER_MARGIN)
        if arrived - slot > 0.002:
            self._spawn(self._execute(ARRIVED, {"bot": self.bot, "slot": slot, "arrived": arrived}))

    def seed(self, chat_id: str, is_group: bool, when: float) -> None:
        """Nothing to do: what other processes sent is in the database already."""

    def _maybe_prune(self) -> None:
        now = self.clock()
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            before = now - self.limits.group_window - 60.0
            self._spawn(self._execute(PRUNE, {"before": before}))

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("send pace: update failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
