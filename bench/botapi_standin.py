"""A lean Bot API stand-in for intake benchmarks: long-polled updates in, answers recorded.

Unlike tests/fakes/telegram/ (which models chats, edits and errors for end-to-end tests) this
one does as little as possible per request, so that the bots measured against it, not the
server, set the pace: a plain HTTP/1.1 keep-alive server on asyncio streams (no framework),
answers built from a few fields, nothing kept for chats nobody watches.

- `push(token, update)` queues an update (an id is assigned) and wakes a waiting `getUpdates`;
  each `Queued` records when it was queued and when it was handed to the bot.
- `sendMessage`, `editMessageText`, `sendPhoto`, `sendDocument` succeed at once; each is
  reported to the `on_sent` callback as a `Sent` (chat, text, markup, arrival time).
- `getMe` answers a bot user; every other method answers `true`.

Several bots (tokens) can be served at once; each has its own update queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

JSON = dict[str, Any]
MESSAGE_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "editMessageReplyMarkup"}
)


@dataclass
class Queued:
    update_id: int
    data: JSON
    queued_at: float
    handed_at: float | None = None


@dataclass(frozen=True)
class Sent:
    token: str
    method: str
    chat_id: int
    text: str
    reply_markup: str | None
    message_id: int
    at: float  # time.monotonic() when the request arrived


@dataclass
class BotState:
    token: str
    queue: deque[Queued] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    next_update_id: int = 1
    next_message_id: int = 1
    first_get_updates: float | None = None
    calls: Counter[str] = field(default_factory=Counter)

    def take_message_id(self) -> int:
        """A fresh message id (people's messages and the bot's share one sequence, as in a
        Telegram chat; bots tell updates apart by chat and message id)."""
        self.next_message_id += 1
        return self.next_message_id - 1

    @property
    def bot_id(self) -> int:
        head = self.token.partition(":")[0]
        return int(head) if head.isdigit() else 1


class BotApiStandIn:
    def __init__(self, on_sent: Callable[[Sent], None] | None = None) -> None:
        self.on_sent = on_sent
        self.bots: dict[str, BotState] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False

    # --- control ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def bot(self, token: str) -> BotState:
        state = self.bots.get(token)
        if state is None:
            state = self.bots[token] = BotState(token)
        return state

    def push(self, token: str, update: JSON) -> Queued:
        """Queue one update (without "update_id"); a waiting getUpdates returns it at once."""
        state = self.bot(token)
        item = Queued(state.next_update_id, update, time.monotonic())
        state.next_update_id += 1
        state.queue.append(item)
        state.arrived.set()
        return item

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._closing = True
        for state in self.bots.values():
            state.arrived.set()  # long polls answer (empty) now
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0.05)
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    # --- HTTP -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _verb, target, _version = lines[0].split(" ", 2)
                length, content_type = 0, ""
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "content-type":
                        content_type = value.strip()
                body = await reader.readexactly(length) if length else b""
                status, answer = await self._api(target, content_type, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s"
                    % (status, b"OK" if status == 200 else b"Error", len(data), data)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _api(self, target: str, content_type: str, body: bytes) -> tuple[int, JSON]:
        path = target.partition("?")[0]
        if not path.startswith("/bot"):
            return 404, _error(404, "Not Found")
        token, _, method = path[4:].partition("/")
        params = _params(content_type, body)
        state = self.bot(token)
        state.calls[method] += 1
        if method == "getUpdates":
            return 200, _ok(await self._get_updates(state, params))
        if method == "getMe":
            return 200, _ok(
                {
                    "id": state.bot_id,
                    "is_bot": True,
                    "first_name": "Bench",
                    "username": f"bench{state.bot_id}_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                }
            )
        if method in MESSAGE_METHODS:
            return 200, _ok(self._message(state, method, params))
        return 200, _ok(True)

    async def _get_updates(self, state: BotState, params: JSON) -> list[JSON]:
        now = time.monotonic()
        if state.first_get_updates is None:
            state.first_get_updates = now
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        while state.queue and state.queue[0].update_id < offset:
            state.queue.popleft()  # confirmed by the offset
        if not state.queue and timeout > 0 and not self._closing:
            state.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.arrived.wait(), timeout)
        handed = time.monotonic()
        batch = []
        for item in list(state.queue)[:limit]:
            if item.handed_at is None:
                item.handed_at = handed
            batch.append({"update_id": item.update_id, **item.data})
        return batch

    def _message(self, state: BotState, method: str, params: JSON) -> JSON:
        chat_id = int(params.get("chat_id") or 0)
        text = str(params.get("text") or params.get("caption") or "")
        if method.startswith("edit"):
            message_id = int(params.get("message_id") or 0)
        else:
            message_id = state.take_message_id()
        markup = params.get("reply_markup")
        if self.on_sent is not None:
            self.on_sent(
                Sent(
                    state.token,
                    method,
                    chat_id,
                    text,
                    markup if isinstance(markup, str) else None,
                    message_id,
                    time.monotonic(),
                )
            )
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "text": text,
        }


def _params(content_type: str, body: bytes) -> JSON:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(body)
        return {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in loaded.items()}
    if content_type.startswith("multipart/"):
        return {}  # uploads: accepted, not read
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def _ok(result: object) -> JSON:
    return {"ok": True, "result": result}


def _error(code: int, description: str) -> JSON:
    return {"ok": False, "error_code": code, "description": description}


# --- updates as Telegram sends them ----------------------------------------------------------
def user(user_id: int, first_name: str = "Đoàn viên") -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}


def text_update(user_id: int, text: str, *, message_id: int, name: str = "Đoàn viên") -> JSON:
    message: JSON = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": name},
        "from": user(user_id, name),
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split(" ", 1)[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"message": message}


def press_update(
    user_id: int, data: str, *, message_id: int, bot_id: int, name: str = "Đoàn viên"
) -> JSON:
    """A press on an inline button of the bot's message `message_id` in a private chat."""
    return {
        "callback_query": {
            "id": f"cq{user_id}.{message_id}.{time.monotonic_ns()}",
            "from": user(user_id, name),
            "chat_instance": f"ci{user_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": name},
                "from": {"id": bot_id, "is_bot": True, "first_name": "Bench"},
                "text": "…",
            },
        }
    }
