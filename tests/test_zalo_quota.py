"""Zalo's 429 is "Quota exceeded" (its error table): growing pauses on the injected clock."""

from __future__ import annotations

from bot.adapters.zalo_quota import QuotaPolicy, QuotaWatch
from bot.clock import FakeClock


def test_pauses_double_up_to_the_cap_and_a_success_starts_afresh() -> None:
    clock = FakeClock()
    watch = QuotaWatch(clock, QuotaPolicy(first_pause=5, max_pause=30, exhausted_after=60))
    waits = []
    for _ in range(5):
        refused = watch.refused()
        waits.append(refused.retry_after)
        clock.advance(seconds=refused.retry_after)
    assert waits == [5, 10, 20, 30, 30]
    watch.succeeded()
    assert watch.refused().retry_after == 5


def test_a_refusal_inside_a_pause_does_not_make_it_grow() -> None:
    clock = FakeClock()
    watch = QuotaWatch(clock, QuotaPolicy(first_pause=10, max_pause=600, exhausted_after=600))
    assert watch.refused().retry_after == 10
    clock.advance(seconds=4)  # a request sent before the pause began comes back refused
    assert watch.refused().retry_after == 6
    clock.advance(seconds=6)
    assert watch.refused().retry_after == 20


def test_exhausted_once_the_refusals_have_lasted_and_since_is_the_first() -> None:
    clock = FakeClock()
    start = clock.now()
    watch = QuotaWatch(clock, QuotaPolicy(first_pause=10, max_pause=600, exhausted_after=60))
    flags = []
    for _ in range(4):
        refused = watch.refused()
        flags.append(refused.exhausted)
        assert refused.since == start
        clock.advance(seconds=refused.retry_after)
    assert flags == [False, False, False, True]  # at 0, 10, 30 s; then 70 s >= 60 s


def test_a_retry_after_from_zalo_is_honoured_when_longer() -> None:
    clock = FakeClock()
    watch = QuotaWatch(clock, QuotaPolicy(first_pause=5, max_pause=60, exhausted_after=600))
    assert watch.refused(retry_after=42).retry_after == 42
