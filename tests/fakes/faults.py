"""Fault injection both fakes share: "the next N calls of method M (to chat C) fail with this
error" (``fail_next``) and "... answer only after S seconds" (``stall_next``). Each fake keeps
one ``Faults``, checks it for every call and decides what a stall does (see its ``_dispatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import JSONDict
from tests.fakes.errors import ApiError


@dataclass
class FailRule:
    method: str  # lower case
    error_code: int
    description: str
    times: int
    chat_id: Any = None  # None: every chat; else compared with the call's chat_id
    parameters: JSONDict | None = None  # retry_after, migrate_to_chat_id ...
    http_status: int | None = None  # None: error_code
    body_text: str | None = None  # a non-JSON answer instead

    def error(self) -> ApiError:
        return ApiError(
            self.error_code,
            self.description,
            self.parameters,
            http_status=self.http_status,
            body_text=self.body_text,
        )


@dataclass
class StallRule:
    method: str  # lower case
    seconds: float
    times: int
    after_processing: bool  # True: the call takes effect, then answers late; False: 504
    chat_id: Any = None  # None: every chat
    release: asyncio.Event | None = None  # set: the answer comes now, before `seconds`
    taken: asyncio.Event = field(default_factory=asyncio.Event)  # set once a call is stalled

    async def wait(self) -> None:
        """The stall itself: `seconds`, or until `release` is set."""
        self.taken.set()
        if self.release is None:
            await asyncio.sleep(self.seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), timeout=self.seconds)


class Faults:
    """A fake's pending failure and stall rules, used up in the order they were added."""

    def __init__(self) -> None:
        self.failures: list[FailRule] = []
        self.stalls: list[StallRule] = []

    def clear(self) -> None:
        self.failures.clear()
        self.stalls.clear()

    def check(self, method: str, chat_id: Any) -> None:
        """Raise the error of the first failure rule this call uses up."""
        for rule in self.failures:
            if rule.method != method or rule.times <= 0:
                continue
            if rule.chat_id is not None and chat_id != rule.chat_id:
                continue
            rule.times -= 1
            self.failures = [r for r in self.failures if r.times > 0]
            raise rule.error()

    def take_stall(self, method: str, chat_id: Any = None) -> StallRule | None:
        """The first stall rule this call uses up, if any."""
        for rule in self.stalls:
            if rule.method == method and rule.times > 0 and rule.chat_id in (None, chat_id):
                rule.times -= 1
                return rule
        return None
