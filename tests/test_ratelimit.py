"""The rate limiter on a simulated clock: no window ever holds more than the limit, the pace
stays close to it, 429 pauses hold everyone, and a restart counts the previous sends."""

from __future__ import annotations

import asyncio

from bot.ratelimit import Limits, RateLimiter


class SimTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0) + 0.0007  # timers wake a little late
        await asyncio.sleep(0)


def limiter(sim: SimTime, **limits: float) -> RateLimiter:
    return RateLimiter(Limits(**limits), clock=sim, sleep=sim.sleep)  # type: ignore[arg-type]


def most_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_global_pace_is_close_to_the_limit_and_never_above() -> None:
    sim = SimTime()
    rl = limiter(sim)
    sent = []
    for i in range(600):
        await rl.acquire(str(10_000 + i))
        sent.append(sim.now)
    assert most_in_window(sent, 1.0) <= 30
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    assert 29.0 <= rate <= 30.0


async def test_private_chat_and_group_limits() -> None:
    sim = SimTime()
    rl = limiter(sim)
    chat, group = [], []
    for _ in range(5):
        await rl.acquire("42")
        chat.append(sim.now)
    for _ in range(25):
        await rl.acquire("-100500", is_group=True)
        group.append(sim.now)
    assert most_in_window(chat, 1.0) == 1
    assert most_in_window(group, 60.0) == 20


async def test_replies_may_burst_a_little_in_their_chat() -> None:
    sim = SimTime()
    rl = limiter(sim)
    start = sim.now
    for _ in range(4):  # one chat's limit (1) plus the reply burst (3)
        await rl.acquire("42", urgent=True)
    assert sim.now - start < 0.2


async def test_pause_holds_every_sender_exactly() -> None:
    sim = SimTime()
    rl = limiter(sim)
    await rl.acquire("1")
    rl.pause(3.0)
    paused_at = sim.now
    await rl.acquire("2")
    assert 3.0 <= sim.now - paused_at < 3.01


async def test_seeded_sends_from_a_previous_process_count() -> None:
    sim = SimTime()
    rl = limiter(sim)
    for i in range(30):  # the previous process sent 30 in the last half second
        rl.seed(str(i), False, sim.now - 0.5 + i / 100)
    before = sim.now
    await rl.acquire("new")
    assert sim.now - before >= 0.5


async def test_a_send_that_leaves_late_counts_from_when_it_left() -> None:
    sim = SimTime()
    rl = limiter(sim)
    actual = []
    for i in range(120):
        slot = await rl.acquire(str(i))
        sim.now += 0.03 if i % 7 == 0 else 0.0  # a slow database write before the request
        slot.sent()
        actual.append(sim.now)
    assert most_in_window(actual, 1.0) <= 30


async def test_a_send_answered_late_holds_back_the_one_a_window_later() -> None:
    """A process held up after the request's slot (a busy CPU): its answer comes late, and the
    send 30 slots later waits for a full window after the moment it had arrived at the latest."""
    sim = SimTime()
    rl = limiter(sim)
    first = await rl.acquire("0")
    first.sent()
    first_left = sim.now
    for i in range(1, 30):
        slot = await rl.acquire(str(i))
        slot.sent()
        sim.now += 0.001  # the others: answered within a millisecond
        slot.done()
        if i == 3:  # the first one's answer comes only now, ~90 ms after it left
            late = sim.now - first_left
            first.done()
    assert late > 0.08
    await rl.acquire("30")
    assert sim.now >= first_left + late - 0.001 + 1.005  # not at first_left + 30 × 34 ms


async def test_knows_when_a_chat_is_at_its_own_limit() -> None:
    """What App.deliver asks before it sends a notice to another chat: a chat whose own window
    is full would wait; other chats, and the chat once its window has passed, would not."""
    sim = SimTime()
    lim = limiter(sim, global_count=1000, reply_burst=3)
    for _ in range(4):  # one a second plus a reply's burst of three
        assert not lim.chat_would_wait("900")
        await lim.acquire("900", urgent=True)
    assert lim.chat_would_wait("900")
    assert not lim.chat_would_wait("901")
    assert not lim.chat_would_wait("-100", is_group=True)
    sim.now += 1.1
    assert not lim.chat_would_wait("900")
