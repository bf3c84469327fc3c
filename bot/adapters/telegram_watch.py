"""Telegram's getUpdates as the health check sees it: each answer is a heartbeat (an empty
long poll too), a 401 is a refused token (python-telegram-bot then stops polling)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.request import HTTPXRequest


class WatchedPolls(HTTPXRequest):
    """The request object python-telegram-bot uses for getUpdates only, with its defaults
    (one connection), telling `answered` / `refused` how each call went."""

    def __init__(self, answered: Callable[[], None], refused: Callable[[], None]) -> None:
        super().__init__(connection_pool_size=1)
        self._answered, self._refused = answered, refused

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        if status == 200:
            self._answered()
        elif status == 401:
            self._refused()
        return status, body
