"""A Bot API stand-in that enforces Telegram's flood limits strictly, for benchmarks.

Every sendMessage is checked at arrival against sliding windows: at most `global_limit` accepted
messages in any `window` seconds overall, 1 per second per private chat, 20 per minute per
group. Over a limit it answers 429 with `retry_after`, as Telegram does, and counts it.

A send with `allow_paid_broadcast` (Bot API: "up to 1000 messages per second, ignoring
broadcasting limits for a fee of 0.1 Telegram Stars per message") that does not fit the free
overall window goes to a paid window of `paid_limit` a second instead and is billed (Telegram
bills "the number of successful requests that exceeded regular limits"); the chat limits stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FloodStats:
    accepted: list[tuple[float, int, str]] = field(default_factory=list)  # (time, chat, text)
    rejected_429: int = 0
    rejected_times: list[float] = field(default_factory=list)
    paid_requests: int = 0  # sends that asked for paid broadcasting
    billed: int = 0  # of those, the ones beyond the free limit: 0.1 Star each

    def reset(self) -> None:
        self.accepted.clear()
        self.rejected_429 = 0
        self.rejected_times.clear()
        self.paid_requests = self.billed = 0


class Window:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.times: deque[float] = deque()

    def allows(self, now: float) -> bool:
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        return len(self.times) < self.limit


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # runs inside someone else's loop (a test, the benchmark): Ctrl-C stays theirs


class FloodServer:
    def __init__(
        self,
        token: str = "123456:BENCH",
        global_limit: int = 30,
        chat_limit: int = 1,
        group_limit: int = 20,
        retry_after: int = 1,
        group_window: float = 60.0,
        window: float = 1.0,
        paid_limit: int = 1000,
    ) -> None:
        """`window`: the overall and per-chat window (Telegram's is 1 s; tests use a little
        less, so a loaded machine's jitter on loopback does not decide their outcome)."""
        self.token = token
        self.stats = FloodStats()
        self.retry_after = retry_after
        self._global = Window(global_limit, window)
        self._paid = Window(paid_limit, window)
        self._chats: dict[int, Window] = defaultdict(lambda: Window(chat_limit, window))
        self._groups: dict[int, Window] = defaultdict(lambda: Window(group_limit, group_window))
        self._changed = asyncio.Event()
        self._next_id = 0
        self.port = _free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._api, methods=["POST", "GET"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def wait_accepted(self, count: int, timeout: float) -> None:
        """Until `count` messages were accepted (woken by each one, no polling)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.stats.accepted) < count:
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.stats.accepted)} of {count} accepted")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def _api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(body or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if method == "getMe":
            return _ok(
                {
                    "id": 1,
                    "is_bot": True,
                    "first_name": "Bench",
                    "username": "bench_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                }
            )
        if method != "sendMessage":
            return _ok(True)
        now = time.monotonic()
        chat_id = int(params["chat_id"])
        chat = self._groups[chat_id] if chat_id < 0 else self._chats[chat_id]
        paid = params.get("allow_paid_broadcast") in (True, "true", "True")
        overall = self._global
        if paid:
            self.stats.paid_requests += 1
            if not self._global.allows(now):  # beyond the free limit: the paid lane, billed
                overall = self._paid
        if not (overall.allows(now) and chat.allows(now)):
            self.stats.rejected_429 += 1
            self.stats.rejected_times.append(now)
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status_code=429,
            )
        overall.times.append(now)
        chat.times.append(now)
        if overall is self._paid:
            self.stats.billed += 1
        text = str(params.get("text", ""))
        self.stats.accepted.append((now, chat_id, text))
        self._changed.set()
        self._changed = asyncio.Event()
        self._next_id += 1
        return _ok(
            {
                "message_id": self._next_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "group" if chat_id < 0 else "private"},
                "text": text,
            }
        )


def _ok(result: object) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
