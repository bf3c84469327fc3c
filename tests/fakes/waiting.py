"""Waiting on a fake's state: every change wakes the waiters, and "idle" means nothing pending
and no activity for a short while. Both fakes build on ``ChangeWaiter``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

IDLE_QUIET_SECONDS = 0.2


class ChangeWaiter:
    """Tests wait on the fake's state; every change wakes them. A fake calls ``_notify()`` when
    its state changed and ``_touch()`` when it also counts as activity (see ``_wait_quiet``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (API method, its parameters)
        self._changed = asyncio.Event()
        self._last_activity = time.monotonic()

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

    async def _wait_quiet(
        self, settled: Callable[[], bool], pending: Callable[[], str], timeout: float
    ) -> None:
        """Until ``settled()`` and no ``_touch()`` for IDLE_QUIET_SECONDS; else AssertionError
        naming ``pending()``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            quiet = time.monotonic() - self._last_activity
            if settled() and quiet >= IDLE_QUIET_SECONDS:
                return
            if loop.time() >= deadline:
                raise AssertionError(f"not idle after {timeout}s: {pending()}")
            await asyncio.sleep(0.02)

    async def wait_until(
        self, predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Generic wait, re-checked whenever the fake's state changes."""
        if not await self._wait(predicate, timeout):
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    async def wait_for_call(
        self, method: str, *, since: int = 0, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait for a call of `method` at index >= since in `calls`; returns its parameters."""

        def found() -> dict[str, Any] | None:
            for name, params in self.calls[since:]:
                if name.lower() == method.lower():
                    return params
            return None

        if await self._wait(lambda: found() is not None, timeout):
            result = found()
            assert result is not None
            return result
        recent = [name for name, _ in self.calls[since:] if name.lower() != "getupdates"][-20:]
        raise AssertionError(f"timed out waiting for {method}; calls since {since}: {recent}")
