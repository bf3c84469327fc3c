"""Group commit (bot/group_commit.py): a lone caller writes at once; callers who come while a
write runs share the next one; each gets its own result, or its own write's failure."""

from __future__ import annotations

import asyncio

import pytest

from bot.group_commit import GroupCommit


async def test_callers_during_a_write_share_the_next_one() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        if len(batches) == 1:
            await release.wait()  # the first write is slow: the others gather meanwhile
        return [i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)  # the first write starts with only item 1
    rest = [asyncio.create_task(group.submit(i)) for i in range(2, 6)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50]
    assert batches == [[1], [2, 3, 4, 5]]
    assert group.writes == 2


async def test_a_failed_write_fails_only_its_own_callers() -> None:
    async def write(items: list[int]) -> list[int]:
        if 2 in items:
            raise RuntimeError("database is locked")
        return items

    group: GroupCommit[int, int] = GroupCommit(write, most=1)
    results = await asyncio.gather(
        group.submit(1), group.submit(2), group.submit(3), return_exceptions=True
    )
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], RuntimeError)
    with pytest.raises(RuntimeError):
        await group.submit(2)  # and the next caller starts a fresh write
