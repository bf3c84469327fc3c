"""Pacing sends to what a chat platform allows, and no faster.

Telegram counts messages in sliding windows (about 30 a second per bot, 1 a second per private
chat, 20 a minute per group). A token bucket would allow a burst of 30 right after 30 paced
messages, i.e. 60 inside one second, and get 429s; so each limit here is a sliding-window log
of send times. A small safety margin absorbs network jitter between our clock and theirs.

Direct replies to people in a dialog are `urgent`: when one is waiting, bulk sends step aside,
so a reply never queues behind a 10,000-recipient broadcast.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# What an answer-based arrival time gets on top of the window (`Slot.done`): it bounds the
# arrival from above, the send a window later leaves no earlier than its own round trip allows.
ANSWER_MARGIN = 0.005


@dataclass(frozen=True)
class Limits:
    global_count: int = 30
    global_window: float = 1.0
    chat_count: int = 1
    chat_window: float = 1.0
    group_count: int = 20
    group_window: float = 60.0
    # Added to every window: our send time and the server's arrival time differ by jitter.
    margin: float = 0.02
    # A reply of a few messages may burst in a private chat (Telegram tolerates short
    # bursts); bulk sends never do.
    reply_burst: int = 3


class Stamp:
    """When a send happened; moved later if the request actually left later than planned."""

    __slots__ = ("t",)

    def __init__(self, t: float) -> None:
        self.t = t


class Slot:
    """A taken slot. Call `sent()` right before the request leaves: time spent in between
    (a database write) then counts from the real moment, not the planned one. And `done()`
    when the answer came: a message held up on its way (a busy CPU) then counts from when it
    had arrived at the latest (the answer's time less the quickest round trip lately)."""

    def __init__(self, stamp: Stamp, limiter: RateLimiter) -> None:
        self._stamp, self._limiter = stamp, limiter
        self._left: float | None = None

    def sent(self) -> None:
        self._left = self._limiter.clock()
        self._stamp.t = max(self._stamp.t, self._left)

    def done(self) -> None:
        if self._left is not None:
            self._limiter.arrived(self._stamp, self._left)


def _insert_in_order(times: deque[Stamp], stamp: Stamp) -> None:
    """Seeds come in time order (the recovery sorts them): appending is the rule, and sorting
    the whole window for each one took seconds after a busy minute."""
    if not times or times[-1].t <= stamp.t:
        times.append(stamp)
        return
    index = len(times)
    while index and times[index - 1].t > stamp.t:
        index -= 1
    times.insert(index, stamp)


class SlidingWindow:
    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self.times: deque[Stamp] = deque()

    def wait_time(self, now: float, count: int | None = None) -> float:
        count = count or self.count
        while self.times and self.times[0].t <= now - self.window:
            self.times.popleft()
        if len(self.times) < count:
            return 0.0
        return self.times[-count].t + self.window - now

    def record(self, stamp: Stamp) -> None:
        self.times.append(stamp)


class RateLimiter:
    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        margin = limits.margin
        self._global = SlidingWindow(limits.global_count, limits.global_window + margin)
        self._chats: dict[str, SlidingWindow] = {}
        self._paused_until = 0.0
        self._urgent_waiting = 0
        self._rtts: deque[float] = deque(maxlen=200)  # the latest round trips (`Slot.done`)
        self._spacing = (limits.global_window + margin) / limits.global_count
        # The ideal time of the next send; it advances by `_spacing` per send, so timer
        # lateness does not add up into a slower pace.
        self._next_slot = float("-inf")

    def _chat_window(self, chat_id: str, is_group: bool) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            lim = self.limits
            window = (
                SlidingWindow(lim.group_count, lim.group_window + lim.margin)
                if is_group
                else SlidingWindow(lim.chat_count, lim.chat_window + lim.margin)
            )
            self._chats[chat_id] = window
            if len(self._chats) > 50_000:  # forget idle chats so memory stays flat
                self._forget_idle()
        return window

    def _forget_idle(self) -> None:
        now = self.clock()
        for key in [k for k, w in self._chats.items() if w.wait_time(now) == 0 and not w.times]:
            del self._chats[key]

    def seed(self, chat_id: str, is_group: bool, when: float) -> None:
        """Count a send made before we started (by a previous process) at monotonic `when`."""
        if when > self.clock() - self.limits.group_window - self.limits.margin:
            stamp = Stamp(when)
            _insert_in_order(self._global.times, stamp)
            _insert_in_order(self._chat_window(chat_id, is_group).times, stamp)

    def arrived(self, stamp: Stamp, left: float) -> None:
        now = self.clock()
        self._rtts.append(now - left)
        # An answer-based time is no guess: it needs only a little margin, not the jitter one.
        margin = self.limits.margin - ANSWER_MARGIN
        stamp.t = max(stamp.t, now - min(self._rtts) - margin)

    def pause(self, seconds: float) -> None:
        """The platform said "retry after N seconds": nobody sends until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def wait_time(self, chat_id: str, is_group: bool) -> float:
        now = self.clock()
        return max(self._shared_wait(now), self._chat_window(chat_id, is_group).wait_time(now))

    def _shared_wait(self, now: float) -> float:
        # Evenly spaced, not in bursts: a burst of 30 reaches the server as a clump whose
        # queueing jitter decides whether the next window holds 30 or 31.
        return max(self._paused_until - now, self._global.wait_time(now), self._next_slot - now)

    def chat_would_wait(self, chat_id: str, *, is_group: bool = False, urgent: bool = True) -> bool:
        """Whether a send to `chat_id` now would wait for that chat's own limit (not the
        platform's shared pace, which every send meets)."""
        chat = self._chat_window(chat_id, is_group)
        return chat.wait_time(self.clock(), self._allowed(chat, is_group, urgent)) > 0

    def _allowed(self, chat: SlidingWindow, is_group: bool, urgent: bool) -> int:
        """How many sends the chat's window holds: a reply may burst a little in private."""
        return chat.count + (self.limits.reply_burst if urgent and not is_group else 0)

    async def acquire(self, chat_id: str, *, is_group: bool = False, urgent: bool = False) -> Slot:
        """Wait for a slot to send one message to `chat_id`, then take it."""
        chat = self._chat_window(chat_id, is_group)
        allowed = self._allowed(chat, is_group, urgent)
        while True:
            now = self.clock()
            chat_wait = chat.wait_time(now, allowed)
            if chat_wait > 0:  # this chat's own limit: nobody else is held up by it
                await self.sleep(chat_wait)
                continue
            shared_wait = self._shared_wait(now)
            if shared_wait <= 0 and (urgent or not self._urgent_waiting):
                stamp = Stamp(now)
                self._global.record(stamp)
                chat.record(stamp)
                # (half a step of slack absorbs a late timer without letting two sends pair up)
                self._next_slot = max(self._next_slot, now - self._spacing / 2) + self._spacing
                return Slot(stamp, self)
            # Bulk senders step aside (briefly) while a reply waits for the next global slot.
            if urgent:
                self._urgent_waiting += 1
            try:
                await self.sleep(shared_wait if shared_wait > 0 else 0.002)
            finally:
                if urgent:
                    self._urgent_waiting -= 1
