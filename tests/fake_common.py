"""What the fake platform servers (tests/fake_telegram.py, tests/fake_zalo.py) share: a uvicorn
server that runs inside the test's event loop, and waiting for "something changed"."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import uvicorn


class InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The test runner owns SIGINT/SIGTERM; uvicorn must not swallow Ctrl-C.
        yield


class ChangeWaiter:
    """Tests wait on the fake's state; every change wakes them. The class using this sets
    `_changed = asyncio.Event()` and `_last_activity` in its __init__."""

    _changed: asyncio.Event
    _last_activity: float

    def _notify(self) -> None:
        # Wake everyone waiting for "something changed" and arm a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._notify()

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed  # grab before checking so no change is missed
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_until(
        self, predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Generic wait, re-checked whenever the fake's state changes."""
        if not await self._wait(predicate, timeout):
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
