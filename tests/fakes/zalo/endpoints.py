"""The fake Zalo's HTTP side, both ways: ``FakeZalo`` answers ``POST /bot<token>/<method>``
on loopback (reads the JSON body, checks it, changes the state through ``ZaloState`` in
``state.py``, answers in Zalo's envelope or with the error and HTTP status Zalo would give),
and pushes queued updates to the bot's webhook once one is set. ``fail_next`` and
``stall_next`` inject faults (``tests/fakes/faults.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import JSONDict
from tests.fakes.errors import ApiError
from tests.fakes.faults import FailRule, Faults, StallRule
from tests.fakes.server import LoopbackServer
from tests.fakes.zalo.state import ZaloState

_LOGGER = logging.getLogger(__name__)

MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
# Zalo's error table (bot.zapps.me/docs/error-code/) for its codes; HTTP's wording for others.
_DEFAULT_DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",
    404: "Not found",
    408: "Request timeout",
    409: "Conflict",
    429: "Quota exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_CHAT_ACTIONS = frozenset({"typing", "upload_photo"})


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


class FakeZalo(ZaloState):
    """Fake Zalo Bot API server plus helpers to act as Zalo users."""

    def __init__(self, token: str = "zalo-test-token", *, bot_name: str = "Công Đoàn Bot") -> None:
        super().__init__(token, bot_name=bot_name)
        self.deliveries: list[WebhookDelivery] = []  # webhook POSTs, in order
        # --- knobs
        self.max_poll_seconds = 1.0  # caps getUpdates' long-poll wait
        self.auto_push = True  # webhook mode: push queued updates in the background
        self.push_wrapped = True  # webhook body {"ok": true, "result": update} vs bare update
        self.push_timeout = 5.0
        # --- serving
        self._faults = Faults()
        self._inflight = 0
        self._pushing = 0
        # getUpdates calls so far, and which call took the last update: the bot asking
        # again proves it has accepted what the previous call returned.
        self._poll_calls = 0
        self._handout_call = 0
        self._closing = False
        self._push_lock = asyncio.Lock()
        self._push_client: httpx.AsyncClient | None = None
        self._push_task: asyncio.Task[None] | None = None
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
        self._http = LoopbackServer(self._app, "Zalo")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._http.running:
            raise RuntimeError("FakeZalo already started")
        self._closing = False
        self._push_client = httpx.AsyncClient(timeout=self.push_timeout)
        self._push_task = asyncio.create_task(self._push_worker(), name="fake-zalo-push")
        await self._http.start()

    async def stop(self) -> None:
        if not self._http.running:
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
        await self._http.stop()

    def reset(self) -> None:
        """Forget everything and restore the default knobs (for a fake shared by several
        tests); the server keeps running. Polls still waiting are answered 408 later."""
        self._reset_state()
        self.deliveries.clear()
        self.max_poll_seconds = 1.0
        self.auto_push = True
        self.push_wrapped = True
        self._faults.clear()
        self._touch()

    @property
    def port(self) -> int:
        if self._http.port is None:
            raise RuntimeError("FakeZalo not started")
        return self._http.port

    @property
    def base_url(self) -> str:
        """For ``ZaloApi(base_url=...)``: the client appends ``/bot<token>/<method>``."""
        return f"http://127.0.0.1:{self.port}"

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
                update = self._take_update(fetched=False)
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

    # ------------------------------------------------------------------ waiting

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
        await self._wait_quiet(
            lambda: not self._queue and self._inflight + self._pushing == 0,
            lambda: (
                f"{len(self._queue)} update(s) not yet fetched/pushed, {self._inflight} API "
                f"call(s) and {self._pushing} webhook push(es) running"
            ),
            timeout,
        )

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
        self._faults.failures.append(
            FailRule(
                method=method.lower(),
                error_code=error_code,
                description=description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error"),
                times=times,
                chat_id=None if chat_id is None else str(chat_id),
                parameters=None if retry_after is None else {"retry_after": retry_after},
                http_status=http_status,
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
        self._faults.stalls.append(StallRule(method.lower(), seconds, times, after_processing))

    # ------------------------------------------------------------------ internals: HTTP

    async def _sleep(self, seconds: float) -> None:
        # A sleep that stop() cuts short, so shutdown never waits for a stall.
        await self._wait(lambda: self._closing, seconds)

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
                raise ApiError(400, "Bad Request: invalid JSON body") from None
            if not isinstance(data, dict):
                self.calls.append((method, {}))
                raise ApiError(400, "Bad Request: JSON object expected")
            body = data
            self.calls.append((method, body))
            self._notify()
            result = await self._dispatch(key, body, request)
            return JSONResponse({"ok": True, "result": result})
        except ApiError as error:
            self.errors.append((method, body, error.body()))
            self._notify()
            return error.response()
        except Exception as exc:  # a bug in the fake: make it visible to the test
            _LOGGER.exception("fake Zalo failed on %s", method)
            self.server_errors.append(exc)
            error = ApiError(500, f"Internal Server Error: {exc!r}")
            self.errors.append((method, body, error.body()))
            return error.response()
        finally:
            if not is_poll:
                self._inflight -= 1
                self._touch()

    async def _dispatch(self, key: str, body: JSONDict, request: Request) -> Any:
        self._faults.check(key, str(body.get("chat_id")))
        if key == "getupdates":
            return await self._get_updates(body, request)
        handler = self._handlers.get(key)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        stall = self._faults.take_stall(key)
        if stall is not None and not stall.after_processing:
            await self._sleep(stall.seconds)
            raise ApiError(504, "Gateway Timeout")
        result = handler(body)
        if stall is not None:
            await self._sleep(stall.seconds)
        return result

    # ------------------------------------------------------------------ internals: methods

    async def _get_updates(self, body: JSONDict, request: Request) -> Any:
        if self.webhook_url:
            raise ApiError(409, "Conflict: getUpdates is not available while a webhook is set")
        self._poll_calls += 1
        call = self._poll_calls
        self._notify()  # a new call proves the previous answer was taken (wait_taken)
        stall = self._faults.take_stall("getupdates")
        if stall is not None:
            await self._sleep(stall.seconds)
        try:
            timeout = max(float(body.get("timeout", 30)), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: timeout must be a number") from None
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
                update = self._take_update(fetched=True)
                self._handout_call = call
                self._touch()
                return copy.deepcopy(update)
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                # Wake at least every 0.1 s to notice a disconnected client.
                await asyncio.wait_for(event.wait(), min(remaining, 0.1))
        raise ApiError(408, "Request timeout")

    def _set_webhook(self, body: JSONDict) -> JSONDict:
        url = body.get("url")
        secret = body.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: url must be an http(s) URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        updated_at = self._register_webhook(url, secret)
        self._notify()  # the push worker may have updates waiting
        return {"url": url, "updated_at": updated_at}

    def _delete_webhook(self, _body: JSONDict) -> JSONDict:
        return {"url": "", "updated_at": self._register_webhook("", "")}

    def _get_webhook_info(self, _body: JSONDict) -> JSONDict:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    def _target_chat(self, body: JSONDict) -> str:
        chat_id = body.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "Bad Request: chat_id must be a non-empty string")
        if chat_id in {str(u) for u in self.blocked_users}:
            raise ApiError(403, "Internal server error")
        return chat_id

    @staticmethod
    def _check_text(value: Any, what: str, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise ApiError(400, f"Bad Request: {what} must be a non-empty string")
        if len(value) > MAX_TEXT:
            raise ApiError(400, f"Bad Request: {what} is too long (max {MAX_TEXT} characters)")
        return value

    def _spend_quota(self) -> None:
        if self.quota_left is None:
            return
        if self.quota_left <= 0:
            self.quota_refusals += 1
            raise ApiError(429, "Quota exceeded")
        self.quota_left -= 1

    def _send_message(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        text = self._check_text(body.get("text"), "text", required=True)
        self._spend_quota()
        return self._record(chat_id, "sendMessage", text=text)

    def _send_photo(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        photo = body.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: photo must be a public http(s) URL")
        caption = self._check_text(body.get("caption"), "caption", required=False)
        self._spend_quota()
        return self._record(chat_id, "sendPhoto", photo_url=photo, caption=caption or None)

    def _send_sticker(self, body: JSONDict) -> JSONDict:
        chat_id = self._target_chat(body)
        sticker = body.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise ApiError(400, "Bad Request: sticker is required")
        self._spend_quota()
        return self._record(chat_id, "sendSticker", sticker=sticker)

    def _send_chat_action(self, body: JSONDict) -> bool:
        self._target_chat(body)
        if body.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, f"Bad Request: action must be one of {sorted(_CHAT_ACTIONS)}")
        return True
