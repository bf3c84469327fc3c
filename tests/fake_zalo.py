"""An in-process fake of the Zalo Bot Platform API for end-to-end tests.

A real uvicorn server on 127.0.0.1 (same event loop as the test) answers
``POST /bot<TOKEN>/<method>`` with Zalo's envelope ``{"ok", "result" | "error_code",
"description"}``, while tests play the users (``user_sends`` ...) and inspect what the bot did
(``sent``, ``calls``).

Delivery of user updates:

* Polling (no webhook set): ``user_sends`` & co. queue the update; each ``getUpdates`` hands
  out ONE queued update (there is no offset: a handed-out update is gone), or answers
  ``408 Request timeout`` after ``min(timeout, max_poll_seconds)`` seconds.
* Webhook (after ``setWebhook``): a background task started by ``start()`` POSTs every queued
  update, in order, to the webhook URL with header ``X-Bot-Api-Secret-Token``; the body is
  wrapped (``{"ok": true, "result": update}``) unless ``push_wrapped`` is False. Updates
  queued before setWebhook are pushed once it is set; getUpdates answers 409 meanwhile. Each
  attempt is recorded in ``deliveries``; a failed one (non-2xx, connection error) is not
  retried. Set ``auto_push = False`` to deliver only when the test awaits ``push_pending()``;
  ``push_raw(payload)`` posts any body as is (malformed, wrong secret ...).

``reset()`` clears all state and knobs, so one started fake can serve a whole test module
(starting/stopping uvicorn costs ~0.2 s per test otherwise).

Errors mirror ``error_code`` as the HTTP status unless a test asks otherwise
(``fail_next(..., http_status=200)`` models Zalo's "HTTP 200 but ok:false").

Typical use::

    fake = FakeZalo()
    await fake.start()
    api = ZaloApi(fake.token, base_url=fake.base_url)
    fake.user_sends("u1", "xin chào")
    update = await api.get_updates(timeout=1)
    await api.send_message(update.chat_id, "Chào bạn")
    msg = await fake.wait_for("u1", contains="Chào")
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fake_common import ChangeWaiter, InLoopServer

JSONDict = dict[str, Any]

_LOGGER = logging.getLogger(__name__)

MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
_IDLE_QUIET_SECONDS = 0.2
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_CHAT_ACTIONS = frozenset({"typing", "upload_photo"})


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- data classes


@dataclass
class SentZaloMessage:
    """Something the bot sent: a text (sendMessage), a photo or a sticker."""

    chat_id: str
    text: str | None
    photo_url: str | None
    caption: str | None
    message_id: str
    at: datetime
    method: str = "sendMessage"
    sticker: str | None = None

    @property
    def body(self) -> str:
        return self.text or self.caption or ""

    def matches(self, contains: str | None) -> bool:
        return contains is None or contains in self.body

    def describe(self) -> str:
        extra = f" photo={self.photo_url!r}" if self.photo_url else ""
        extra += f" sticker={self.sticker!r}" if self.sticker else ""
        return f"[{self.method} id={self.message_id}] {self.body!r}{extra}"


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    payload: Any
    status: int | None  # None: the request itself failed (see error)
    response_text: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _FailRule:
    method: str
    error_code: int
    description: str
    times: int
    retry_after: float | None
    http_status: int | None
    chat_id: str | None
    body_text: str | None


@dataclass
class _StallRule:
    method: str
    seconds: float
    times: int
    after_processing: bool


class _ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        *,
        http_status: int | None = None,
        parameters: JSONDict | None = None,
        body_text: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.http_status = http_status if http_status is not None else code
        self.parameters = parameters
        self.body_text = body_text

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def response(self) -> Response:
        if self.body_text is not None:
            return PlainTextResponse(self.body_text, status_code=self.http_status)
        return JSONResponse(self.body(), status_code=self.http_status)


# --------------------------------------------------------------------------- the fake


class FakeZalo(ChangeWaiter):
    """Fake Zalo Bot API server plus helpers to act as Zalo users."""

    def __init__(self, token: str = "zalo-test-token", *, bot_name: str = "Công Đoàn Bot") -> None:
        self.token = token
        self.bot_info: JSONDict = {
            "id": "bot0000000000000001",
            "account_name": "bot.congdoan",
            "account_type": "BASIC",
            "display_name": bot_name,
            "can_join_groups": True,
        }
        # --- what the bot did
        self.sent: list[SentZaloMessage] = []
        self.calls: list[tuple[str, JSONDict]] = []
        self.errors: list[tuple[str, JSONDict, JSONDict]] = []  # (method, body, error body)
        self.delivered: list[Any] = []  # updates handed out by getUpdates, in order
        self.deliveries: list[WebhookDelivery] = []  # webhook POSTs, in order
        self.server_errors: list[BaseException] = []  # bugs inside the fake itself
        # --- knobs
        self.blocked_users: set[str] = set()  # chats whose sends fail with 403
        self.max_poll_seconds = 1.0  # caps getUpdates' long-poll wait
        self.deliver_twice = False  # queue every simulated user update twice
        self.auto_push = True  # webhook mode: push queued updates in the background
        self.push_wrapped = True  # webhook body {"ok": true, "result": update} vs bare update
        self.push_timeout = 5.0
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        # --- internal state
        self._queue: list[Any] = []
        self._last_update: Any = None
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._fail_rules: list[_FailRule] = []
        self._stall_rules: list[_StallRule] = []
        self._inflight = 0
        self._pushing = 0
        # getUpdates calls so far, and which call took the last update: the bot asking
        # again proves it has accepted what the previous call returned.
        self._poll_calls = 0
        self._handout_call = 0
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._closing = False
        self._push_lock = asyncio.Lock()
        self._push_client: httpx.AsyncClient | None = None
        self._push_task: asyncio.Task[None] | None = None
        self._server: InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getme": lambda _b: dict(self.bot_info),
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendsticker": self._send_sticker,
            "sendchataction": self._send_chat_action,
        }
        self._app = Starlette(
            routes=[Route("/bot{token}/{method}", self._api_endpoint, methods=["POST"])]
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("FakeZalo already started")
        # Bind ourselves so the port is known before uvicorn starts (port 0 = any free one).
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto
        # says TCP, and without it every keep-alive request waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_level="warning",
            log_config=None,  # don't reconfigure the test runner's logging
            access_log=False,
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._closing = False
        self._server = InLoopServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-zalo")
        self._push_client = httpx.AsyncClient(timeout=self.push_timeout)
        self._push_task = asyncio.create_task(self._push_worker(), name="fake-zalo-push")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup error
                raise RuntimeError("fake Zalo server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._task is None or self._server is None:
            return
        # Release long polls and stalls still waiting, or uvicorn waits for them.
        self._closing = True
        self._notify()
        if self._push_task is not None:
            self._push_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._push_task
            self._push_task = None
        if self._push_client is not None:
            await self._push_client.aclose()
            self._push_client = None
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, timeout=10)
        finally:
            self._task = None
            self._server = None

    def reset(self) -> None:
        """Forget everything and restore the default knobs (for a fake shared by several
        tests); the server keeps running. Polls still waiting are answered 408 later."""
        self.sent.clear()
        self.calls.clear()
        self.errors.clear()
        self.delivered.clear()
        self.deliveries.clear()
        self.server_errors.clear()
        self.blocked_users.clear()
        self.max_poll_seconds = 1.0
        self.deliver_twice = False
        self.auto_push = True
        self.push_wrapped = True
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        self._queue.clear()
        self._last_update = None
        self._fail_rules.clear()
        self._stall_rules.clear()
        self._touch()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeZalo not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ZaloApi(base_url=...)``: the client appends ``/bot<token>/<method>``."""
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ acting as users

    def user_sends(
        self,
        user_id: str | int,
        text: str,
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        """A ``message.text.received`` update; returns the (bare) update."""
        return self._user_event(
            "message.text.received", user_id, {"text": text}, name, chat_id, group
        )

    def user_sends_image(
        self,
        user_id: str | int,
        photo_url: str = "https://example.com/zalo/photo.jpg",
        *,
        caption: str | None = None,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        fields: JSONDict = {"photo_url": photo_url}
        if caption is not None:
            fields["caption"] = caption
        return self._user_event("message.image.received", user_id, fields, name, chat_id, group)

    def user_sends_sticker(
        self,
        user_id: str | int,
        sticker: str = "sticker-0001",
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        fields = {"sticker": sticker, "url": f"https://example.com/zalo/stickers/{sticker}.webp"}
        return self._user_event("message.sticker.received", user_id, fields, name, chat_id, group)

    def user_sends_voice(
        self,
        user_id: str | int,
        url: str = "https://example.com/zalo/voice.aac",
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        return self._user_event(
            "message.voice.received", user_id, {"url": url}, name, chat_id, group
        )

    def user_sends_unsupported(
        self,
        user_id: str | int,
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        return self._user_event("message.unsupported.received", user_id, {}, name, chat_id, group)

    def queue_raw_update(self, update: Any) -> Any:
        """Queue anything (even malformed) as one update: getUpdates returns it as ``result``;
        a webhook push wraps it like any other update (see ``push_wrapped``)."""
        self._enqueue(copy.deepcopy(update))
        return update

    def duplicate_last(self) -> Any:
        """Queue the most recent update again (Zalo may deliver an event twice)."""
        if self._last_update is None:
            raise AssertionError("no update to duplicate yet")
        self._enqueue(copy.deepcopy(self._last_update))
        return self._last_update

    @property
    def pending(self) -> list[Any]:
        """Updates queued but not yet fetched or pushed."""
        return list(self._queue)

    # ------------------------------------------------------------------ webhook push

    async def push_pending(self) -> list[WebhookDelivery]:
        """POST every queued update to the webhook now, in order; returns those deliveries.

        With ``auto_push`` (default) the background task does this by itself; awaiting it
        then just waits for the pushes in progress to finish.
        """
        if not self.webhook_url:
            raise AssertionError("no webhook set: updates are fetched with getUpdates")
        done: list[WebhookDelivery] = []
        async with self._push_lock:
            while self.webhook_url and self._queue and not self._closing:
                update = self._queue.pop(0)
                body = {"ok": True, "result": update} if self.push_wrapped else update
                done.append(await self._post_webhook(body, self.webhook_secret))
        return done

    async def push_raw(self, payload: Any, *, secret: str | None = None) -> WebhookDelivery:
        """POST ``payload`` exactly as given to the webhook (secret: the registered one)."""
        if not self.webhook_url:
            raise AssertionError("no webhook set")
        async with self._push_lock:
            return await self._post_webhook(
                payload, self.webhook_secret if secret is None else secret
            )

    async def _post_webhook(self, payload: Any, secret: str) -> WebhookDelivery:
        client = self._push_client
        if client is None:
            raise RuntimeError("FakeZalo not started")
        self._pushing += 1
        self._touch()
        try:
            response = await client.post(
                self.webhook_url,
                content=json.dumps(payload, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", SECRET_HEADER: secret},
            )
            delivery = WebhookDelivery(payload, response.status_code, response.text)
        except httpx.HTTPError as exc:
            delivery = WebhookDelivery(payload, None, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._pushing -= 1
        self.deliveries.append(delivery)
        self._touch()
        return delivery

    async def _push_worker(self) -> None:
        while not self._closing:
            event = self._changed  # grab before checking so no change is missed
            if self.webhook_url and self.auto_push and self._queue:
                try:
                    await self.push_pending()
                except Exception as exc:  # a bug in the fake: make it visible to the test
                    _LOGGER.exception("fake Zalo webhook push failed")
                    self.server_errors.append(exc)
                continue
            await event.wait()

    # ------------------------------------------------------------------ inspecting the bot

    def messages_to(self, chat_id: str | int) -> list[SentZaloMessage]:
        return [m for m in self.sent if m.chat_id == str(chat_id)]

    def calls_of(self, method: str) -> list[JSONDict]:
        """Bodies of every call of ``method`` (case-insensitive), in order."""
        return [b for m, b in self.calls if m.lower() == method.lower()]

    def mark(self) -> int:
        """Index into ``sent`` to pass as ``since`` to ignore what was sent before."""
        return len(self.sent)

    async def wait_for(
        self,
        chat_id: str | int,
        *,
        contains: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        since: int = 0,
    ) -> SentZaloMessage:
        """Wait until at least ``count`` messages to chat_id at index >= since in ``sent``
        contain ``contains`` (text or caption); return the last such message."""
        target = str(chat_id)

        def matching() -> list[SentZaloMessage]:
            return [m for m in self.sent[since:] if m.chat_id == target and m.matches(contains)]

        if await self._wait(lambda: len(matching()) >= count, timeout):
            return matching()[-1]
        want = f"{count} message(s)" + (f" containing {contains!r}" if contains else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {want} to chat {target} "
            f"(since index {since}); got {len(matching())}.\n{self._describe_chat(target)}"
        )

    async def wait_taken(self, timeout: float = 5.0) -> None:
        """Until the bot has taken every queued update: each push answered, or (polling) a
        getUpdates call made after the one that returned the last update. Says nothing about
        whether the bot has finished handling them."""
        await self.wait_until(
            lambda: (
                not (self._queue or self._pushing or self._handout_call >= self._poll_calls > 0)
            ),
            timeout=timeout,
            what="every update taken by the bot",
        )

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every queued update was fetched or pushed, no API call or push is
        running and none happened for 0.2 s. A handler that works silently for longer than
        that before its first API call is not covered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            quiet = time.monotonic() - self._last_activity
            busy = self._inflight + self._pushing
            if not self._queue and busy == 0 and quiet >= _IDLE_QUIET_SECONDS:
                return
            if loop.time() >= deadline:
                raise AssertionError(
                    f"not idle after {timeout}s: {len(self._queue)} update(s) not yet "
                    f"fetched/pushed, {self._inflight} API call(s) and {self._pushing} "
                    "webhook push(es) running"
                )
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        times: int = 1,
        retry_after: float | None = None,
        http_status: int | None = None,
        chat_id: str | int | None = None,
        body_text: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (only those to chat_id, if given) fail
        before taking effect, with ``{"ok": false, "error_code", "description"}`` (plus
        ``parameters.retry_after`` if given). The HTTP status is ``http_status`` or else
        error_code. ``body_text`` answers with that non-JSON text instead (an HTML error page
        from a proxy, say)."""
        self._fail_rules.append(
            _FailRule(
                method=method.lower(),
                error_code=error_code,
                description=description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error"),
                times=times,
                retry_after=retry_after,
                http_status=http_status,
                chat_id=None if chat_id is None else str(chat_id),
                body_text=body_text,
            )
        )

    def stall_next(
        self, method: str, seconds: float, *, times: int = 1, after_processing: bool = True
    ) -> None:
        """The next ``times`` calls of ``method`` answer only after ``seconds``, so a client
        with a shorter read timeout gives up. With after_processing the call takes effect
        first (the message is sent; Zalo was just slow to answer); without, it fails with 504
        after the wait as if it never arrived."""
        self._stall_rules.append(_StallRule(method.lower(), seconds, times, after_processing))

    # ------------------------------------------------------------------ internals: state

    async def _sleep(self, seconds: float) -> None:
        # A sleep that stop() cuts short, so shutdown never waits for a stall.
        await self._wait(lambda: self._closing, seconds)

    def _describe_chat(self, chat_id: str) -> str:
        lines = [f"last messages to {chat_id}:"]
        indexed = [(i, m) for i, m in enumerate(self.sent) if m.chat_id == chat_id][-10:]
        lines += [f"  #{i} {m.describe()}" for i, m in indexed] or ["  (none)"]
        errors = [e for e in self.errors if str(e[1].get("chat_id")) == chat_id][-5:]
        if errors:
            lines.append("failed API calls for that chat:")
            lines += [f"  {m}: {body.get('description')}" for m, _b, body in errors]
        if self.server_errors:
            lines.append(f"errors inside the fake: {self.server_errors[-3:]!r}")
        return "\n".join(lines)

    def _enqueue(self, update: Any) -> None:
        self._queue.append(update)
        self._last_update = update
        self._touch()

    def _user_event(
        self,
        event_name: str,
        user_id: str | int,
        fields: JSONDict,
        name: str,
        chat_id: str | int | None,
        group: bool,
    ) -> JSONDict:
        uid = str(user_id)
        if chat_id is None:
            if group:
                raise ValueError("group=True needs a chat_id (the group's id)")
            chat_id = uid
        message: JSONDict = {
            "from": {"id": uid, "display_name": name, "is_bot": False},
            "chat": {"id": str(chat_id), "chat_type": "GROUP" if group else "PRIVATE"},
            **fields,
            "message_id": f"{next(self._message_ids):020x}",
            "date": _now_ms(),
        }
        update: JSONDict = {"event_name": event_name, "message": message}
        self._enqueue(copy.deepcopy(update))
        if self.deliver_twice:
            self._enqueue(copy.deepcopy(update))
        return update

    # ------------------------------------------------------------------ internals: HTTP

    async def _api_endpoint(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        key = method.lower()
        is_poll = key == "getupdates"
        if not is_poll:
            self._inflight += 1
            self._touch()
        body: JSONDict = {}
        try:
            raw = await request.body()
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                self.calls.append((method, {}))
                raise _ApiError(400, "Bad Request: invalid JSON body") from None
            if not isinstance(data, dict):
                self.calls.append((method, {}))
                raise _ApiError(400, "Bad Request: JSON object expected")
            body = data
            self.calls.append((method, body))
            self._notify()
            result = await self._dispatch(key, body, request)
            return JSONResponse({"ok": True, "result": result})
        except _ApiError as error:
            self.errors.append((method, body, error.body()))
            self._notify()
            return error.response()
        except Exception as exc:  # a bug in the fake: make it visible to the test
            _LOGGER.exception("fake Zalo failed on %s", method)
            self.server_errors.append(exc)
            error = _ApiError(500, f"Internal Server Error: {exc!r}")
            self.errors.append((method, body, error.body()))
            return error.response()
        finally:
            if not is_poll:
                self._inflight -= 1
                self._touch()

    async def _dispatch(self, key: str, body: JSONDict, request: Request) -> Any:
        self._apply_fail_rules(key, body)
        if key == "getupdates":
            return await self._get_updates(body, request)
        handler = self._handlers.get(key)
        if handler is None:
            raise _ApiError(404, "Not Found: method not found")
        stall = self._take_stall(key)
        if stall is not None and not stall.after_processing:
            await self._sleep(stall.seconds)
            raise _ApiError(504, "Gateway Timeout")
        result = handler(body)
        if stall is not None:
            await self._sleep(stall.seconds)
        return result

    def _apply_fail_rules(self, key: str, body: JSONDict) -> None:
        for rule in self._fail_rules:
            if rule.method != key or rule.times <= 0:
                continue
            if rule.chat_id is not None and str(body.get("chat_id")) != rule.chat_id:
                continue
            rule.times -= 1
            self._fail_rules = [r for r in self._fail_rules if r.times > 0]
            parameters = {"retry_after": rule.retry_after} if rule.retry_after is not None else None
            raise _ApiError(
                rule.error_code,
                rule.description,
                http_status=rule.http_status,
                parameters=parameters,
                body_text=rule.body_text,
            )

    def _take_stall(self, key: str) -> _StallRule | None:
        for rule in self._stall_rules:
            if rule.method == key and rule.times > 0:
                rule.times -= 1
                return rule
        return None

    # ------------------------------------------------------------------ internals: methods

    async def _get_updates(self, body: JSONDict, request: Request) -> Any:
        if self.webhook_url:
            raise _ApiError(409, "Conflict: getUpdates is not available while a webhook is set")
        self._poll_calls += 1
        call = self._poll_calls
        self._notify()  # a new call proves the previous answer was taken (wait_taken)
        stall = self._take_stall("getupdates")
        if stall is not None:
            await self._sleep(stall.seconds)
        try:
            timeout = max(float(body.get("timeout", 30)), 0.0)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: timeout must be a number") from None
        timeout = min(timeout, self.max_poll_seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if self._closing:
                break
            # A client that gave up must not swallow the next update (there is no offset).
            if await request.is_disconnected():
                break
            if self._queue:
                update = self._queue.pop(0)
                self.delivered.append(update)
                self._handout_call = call
                self._touch()
                return copy.deepcopy(update)
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                # Wake at least every 0.1 s to notice a disconnected client.
                await asyncio.wait_for(event.wait(), min(remaining, 0.1))
        raise _ApiError(408, "Request timeout")

    def _set_webhook(self, body: JSONDict) -> JSONDict:
        url = body.get("url")
        secret = body.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise _ApiError(400, "Bad Request: url must be an http(s) URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook_url = url
        self.webhook_secret = secret
        self.webhook_updated_at = _now_ms()
        self._notify()  # the push worker may have updates waiting
        return {"url": url, "updated_at": self.webhook_updated_at}

    def _delete_webhook(self, _body: JSONDict) -> JSONDict:
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = _now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    def _get_webhook_info(self, _body: JSONDict) -> JSONDict:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    def _target_chat(self, body: JSONDict) -> str:
        chat_id = body.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise _ApiError(400, "Bad Request: chat_id must be a non-empty string")
        if chat_id in {str(u) for u in self.blocked_users}:
            raise _ApiError(403, "Forbidden: the user has blocked the bot")
        return chat_id

    @staticmethod
    def _check_text(value: Any, what: str, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise _ApiError(400, f"Bad Request: {what} must be a non-empty string")
        if len(value) > MAX_TEXT:
            raise _ApiError(400, f"Bad Request: {what} is too long (max {MAX_TEXT} characters)")
        return value

    def _record(self, chat_id: str, method: str, **fields: Any) -> JSONDict:
        message_id = f"b{next(self._message_ids):019x}"
        at = datetime.now(UTC)
        self.sent.append(
            SentZaloMessage(
                chat_id=chat_id,
                text=fields.get("text"),
                photo_url=fields.get("photo_url"),
                caption=fields.get("caption"),
                message_id=message_id,
                at=at,
                method=method,
                sticker=fields.get("sticker"),
            )
        )
        self._touch()
        return {"message_id": message_id, "date": int(at.timestamp() * 1000)}

    def _send_message(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        text = self._check_text(body.get("text"), "text", required=True)
        return self._record(chat_id, "sendMessage", text=text)

    def _send_photo(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        photo = body.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise _ApiError(400, "Bad Request: photo must be a public http(s) URL")
        caption = self._check_text(body.get("caption"), "caption", required=False)
        return self._record(chat_id, "sendPhoto", photo_url=photo, caption=caption or None)

    def _send_sticker(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        sticker = body.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _ApiError(400, "Bad Request: sticker is required")
        return self._record(chat_id, "sendSticker", sticker=sticker)

    def _send_chat_action(self, body: JSONDict) -> bool:
        self._target_chat(body)
        if body.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, f"Bad Request: action must be one of {sorted(_CHAT_ACTIONS)}")
        return True
