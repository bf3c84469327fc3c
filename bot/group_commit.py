"""Group commit: callers that arrive while a write is running share the next one.

The delivery engine writes twice per message (`sending` before the request leaves, `sent`
after the answer). One transaction each caps a single SQLite writer at a few hundred messages
a second; grouping them keeps every caller's guarantee (it resumes only once its own row is
committed) with no added delay when the load is light: a lone caller's write starts at once,
and only those who come while it runs wait for the next, shared one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self, write: Callable[[list[Item]], Awaitable[Sequence[Result]]], *, most: int = 500
    ) -> None:
        """`write(items)` commits them all in one transaction and returns one result each."""
        self._write, self._most = write, most
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.writes = 0  # transactions made (tests, benchmarks)

    async def submit(self, item: Item) -> Result:
        """Until `item` is committed (with whoever else came meanwhile); its result."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._most], self._pending[self._most :]
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as exc:  # each caller sees the failure of its own write
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                finally:
                    self.writes += 1
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._runner = None
