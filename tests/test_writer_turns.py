"""SQLite writers of one process take turns (models.db.WriterTurns): one at a time, people in
arrival order, a bulk page every few people's turns, a cancelled waiter never keeps the turn."""

from __future__ import annotations

import asyncio

from models.db import WriterTurns


async def test_one_at_a_time_people_in_order_bulk_every_few_turns() -> None:
    turns = WriterTurns(people_per_bulk=2)
    order: list[str] = []
    inside = 0

    async def write(name: str, bulk: bool = False) -> None:
        nonlocal inside
        await turns.acquire(bulk=bulk)
        try:
            inside += 1
            assert inside == 1
            order.append(name)
            await asyncio.sleep(0.001)
        finally:
            inside -= 1
            turns.release()

    first = asyncio.create_task(write("p0"))
    await asyncio.sleep(0)  # p0 holds the turn
    tasks = [asyncio.create_task(write(f"p{i}")) for i in range(1, 6)]
    tasks += [asyncio.create_task(write(f"b{i}", bulk=True)) for i in range(3)]
    await asyncio.gather(first, *tasks)
    assert order == ["p0", "p1", "b0", "p2", "p3", "b1", "p4", "p5", "b2"]


async def test_a_cancelled_waiter_does_not_keep_the_turn() -> None:
    turns = WriterTurns()
    await turns.acquire()
    waiting = asyncio.create_task(turns.acquire())
    after = asyncio.create_task(turns.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    turns.release()  # may hand the turn to the cancelled waiter: it passes it on
    await asyncio.wait_for(after, 1)
    turns.release()
    await asyncio.wait_for(turns.acquire(bulk=True), 1)  # free again
    turns.release()


async def test_a_fan_out_page_goes_ahead_of_other_background_writes() -> None:
    """The delivery's group commits wait behind a fan-out page: rows must be queued before
    they can be sent."""
    turns = WriterTurns(people_per_bulk=1)
    order: list[str] = []

    async def write(name: str, *, first: bool = False) -> None:
        await turns.acquire(bulk=True, first=first)
        order.append(name)
        turns.release()

    await turns.acquire()  # a person holds the turn while the background writes line up
    tasks = [asyncio.create_task(write(f"delivery{i}")) for i in range(2)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(write("page", first=True)))
    await asyncio.sleep(0)
    turns.release()
    await asyncio.gather(*tasks)
    assert order == ["page", "delivery0", "delivery1"]
