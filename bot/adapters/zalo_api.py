"""A small typed client for the Zalo Bot Platform API (``POST {base}/bot<TOKEN>/<method>``).

Kept separate from the chat adapter so the wire format (wrapped results, ``ok`` flags, the 408
"nothing arrived" long-poll answer, string ids, epoch-millisecond dates) is handled in one
place and can be tested against ``tests/fakes/zalo/``.

Errors: any answer whose JSON is not ``{"ok": true, ...}`` raises :class:`ZaloApiError`
(also when the HTTP status was 200); a body that is not JSON raises it with the HTTP status as
``error_code``. httpx transport errors (timeouts, refused connections) are *not* wrapped: the
caller decides whether to retry. The bot token is part of every URL, so it never appears in
log messages or exception texts (URLs are logged as ``.../bot***/<method>``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from bot.textutil import split_text

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_TEXT",
    "SECRET_TOKEN_MAX",
    "SECRET_TOKEN_MIN",
    "ZaloApi",
    "ZaloApiError",
    "ZaloUpdate",
    "mask_token",
    "parse_update",
    "split_for_zalo",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
MAX_TEXT = 2000  # sendMessage text limit, in characters
SECRET_TOKEN_MIN = 8
SECRET_TOKEN_MAX = 256
POLL_TIMEOUT_CODE = 408  # getUpdates: "nothing arrived during the long poll" (normal)

ChatType = Literal["private", "group"]
_CHAT_TYPES: dict[str, ChatType] = {"private": "private", "group": "group"}


def mask_token(token: str) -> str:
    """A token as it may be shown to the operator: its first characters only."""
    return f"{token[:4]}***" if len(token) > 8 else "***"


class ZaloApiError(Exception):
    """The API answered but refused the call (``ok: false``, or a non-JSON error page).

    ``error_code`` is Zalo's code or the HTTP status if there was no JSON. Zalo's error table
    (bot.zapps.me/docs/error-code/): 400 bad request (wrong path or API name), 401 token
    expired or invalid, 403 "Internal server error", 404 not found, 408 request timeout (also
    getUpdates' "nothing arrived"), 429 quota exceeded. ``retry_after`` is seconds, should the
    server say so; the docs do not mention one.
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: float | None = None,
        method: str = "",
    ) -> None:
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.method = method
        where = f"{method}: " if method else ""
        wait = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        super().__init__(f"{where}Zalo API error {error_code}: {description}{wait}")


# --------------------------------------------------------------------------- updates


@dataclass(frozen=True)
class ZaloUpdate:
    """One incoming event, flattened. ``raw`` is the (unwrapped) update as received."""

    event_name: str
    message_id: str
    chat_id: str
    chat_type: ChatType
    user_id: str
    display_name: str
    text: str | None
    date: datetime
    photo_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _id(value: Any) -> str | None:
    # Ids are strings on Zalo; tolerate numbers, reject everything else (bool is an int!).
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _date(value: Any) -> datetime:
    # Epoch milliseconds; a missing or absurd value falls back to "now" rather than dropping
    # an otherwise fine message.
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return datetime.now(UTC)


def _unwrap(payload: Any) -> dict[str, Any] | None:
    """``{"ok": true, "result": {...}}`` -> the inner dict; a bare update is returned as is."""
    if not isinstance(payload, dict):
        return None
    if "message" not in payload and "result" in payload:
        if payload.get("ok") is False:
            return None
        inner = payload["result"]
        return inner if isinstance(inner, dict) else None
    return payload


def parse_update(payload: Any) -> ZaloUpdate | None:
    """Parse a getUpdates result or a webhook body (wrapped or bare); None if malformed.

    Never raises. Requires ``event_name``, ``message.message_id``, ``message.from.id`` and
    ``message.chat.id``; an unknown ``event_name`` is still returned (the caller decides). A
    missing ``chat_type`` is inferred (chat id == user id means private); any value other than
    PRIVATE/GROUP makes the update malformed. ``text`` falls back to an image's ``caption``.
    """
    try:
        update = _unwrap(payload)
        if update is None:
            return None
        event_name = update.get("event_name")
        message = update.get("message")
        if not isinstance(event_name, str) or not event_name or not isinstance(message, dict):
            return None
        sender = message.get("from")
        chat = message.get("chat")
        if not isinstance(sender, dict) or not isinstance(chat, dict):
            return None
        user_id = _id(sender.get("id"))
        chat_id = _id(chat.get("id"))
        message_id = _id(message.get("message_id"))
        if user_id is None or chat_id is None or message_id is None:
            return None
        raw_type = chat.get("chat_type")
        if raw_type is None:
            chat_type: ChatType = "private" if chat_id == user_id else "group"
        elif isinstance(raw_type, str) and raw_type.lower() in _CHAT_TYPES:
            chat_type = _CHAT_TYPES[raw_type.lower()]
        else:
            return None
        name = sender.get("display_name")
        text = message.get("text")
        if not isinstance(text, str):
            caption = message.get("caption")
            text = caption if isinstance(caption, str) else None
        photo_url: str | None = None
        if "image" in event_name:
            for key in ("photo_url", "url"):
                value = message.get(key)
                if isinstance(value, str) and value:
                    photo_url = value
                    break
        return ZaloUpdate(
            event_name=event_name,
            message_id=message_id,
            chat_id=chat_id,
            chat_type=chat_type,
            user_id=user_id,
            display_name=name.strip() if isinstance(name, str) else "",
            text=text,
            date=_date(message.get("date")),
            photo_url=photo_url,
            raw=update,
        )
    except Exception:  # defensive: a webhook must never crash on a weird body
        log.debug("unparseable Zalo update dropped", exc_info=True)
        return None


# --------------------------------------------------------------------------- text


def split_for_zalo(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` characters for sendMessage, cut at line boundaries when
    possible (then spaces, then anywhere); see :func:`bot.textutil.split_text`.

    Unlike ``split_text``, whitespace-only chunks are dropped: Zalo would reject them as empty.
    """
    return [chunk for chunk in split_text(text, limit) if chunk.strip()]


# --------------------------------------------------------------------------- client


class ZaloApi:
    """Thin async client: one method per API call, results returned as plain dicts.

    Pass ``client`` to share a connection pool (it is then not closed by :meth:`aclose`).
    ``timeout`` applies to every call; getUpdates gets ``timeout`` seconds on top of its
    long-poll time so the server, not httpx, ends a quiet poll.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not token or "/" in token:
            raise ValueError("a Zalo bot token is required")
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"ZaloApi(base_url={self._base_url!r}, token=***)"

    async def __aenter__(self) -> ZaloApi:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._own_client:
            await self._client.aclose()

    # ------------------------------------------------------------------ plumbing

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***")

    def _log_url(self, method: str) -> str:
        return f"{self._base_url}/bot***/{method}"

    async def _call(
        self,
        method: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: httpx.Timeout | None = None,
    ) -> Any:
        """POST one method; return ``result`` or raise ZaloApiError (transport errors pass)."""
        url = f"{self._base_url}/bot{self._token}/{method}"
        response = await self._client.post(
            url, json=body or {}, timeout=timeout or httpx.Timeout(self._timeout)
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            snippet = self._redact(response.text[:200]).strip()
            description = f"HTTP {response.status_code} with a non-JSON body"
            if snippet:
                description += f": {snippet!r}"
            log.debug("POST %s -> %s", self._log_url(method), description)
            raise ZaloApiError(response.status_code, description, method=method)
        if data.get("ok") is True:
            log.debug("POST %s -> ok", self._log_url(method))
            return data.get("result")
        raise self._error(method, response, data)

    def _error(self, method: str, response: httpx.Response, data: dict[str, Any]) -> ZaloApiError:
        raw_code: Any = data.get("error_code")  # int() below may fail: handled
        try:
            code = response.status_code if isinstance(raw_code, bool) else int(raw_code)
        except (TypeError, ValueError):
            code = response.status_code
        description = self._redact(str(data.get("description") or "") or "no description")
        retry_after: float | None = None
        parameters = data.get("parameters")
        candidates = [
            parameters.get("retry_after") if isinstance(parameters, dict) else None,
            response.headers.get("retry-after"),
        ]
        for value in candidates:
            if value is None or isinstance(value, bool):
                continue
            try:
                retry_after = max(float(value), 0.0)
                break
            except (TypeError, ValueError):
                continue
        if code != POLL_TIMEOUT_CODE or method != "getUpdates":
            log.debug("POST %s -> error %s: %s", self._log_url(method), code, description)
        return ZaloApiError(code, description, retry_after=retry_after, method=method)

    # ------------------------------------------------------------------ methods

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account (id, account_name, ...); also a cheap token check."""
        result = await self._call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int = 30) -> ZaloUpdate | None:
        """Long-poll for ONE update; None if nothing arrived (408) or it was unparseable.

        There is no offset: a returned update is consumed. Fails (ZaloApiError) while a
        webhook is set.
        """
        poll = max(int(timeout), 0)
        http_timeout = httpx.Timeout(self._timeout, read=poll + self._timeout)
        try:
            result = await self._call("getUpdates", {"timeout": poll}, timeout=http_timeout)
        except ZaloApiError as error:
            if error.error_code == POLL_TIMEOUT_CODE:
                return None
            raise
        update = parse_update(result)
        if update is None:
            event = result.get("event_name") if isinstance(result, dict) else None
            log.warning("dropped an unparseable Zalo update (event_name=%r)", event)
        return update

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        """Switch to webhook delivery; Zalo echoes the secret in X-Bot-Api-Secret-Token."""
        if not SECRET_TOKEN_MIN <= len(secret_token) <= SECRET_TOKEN_MAX:
            raise ValueError(
                f"secret_token must be {SECRET_TOKEN_MIN}-{SECRET_TOKEN_MAX} characters"
            )
        if not url:
            raise ValueError("webhook url is required")
        return await self._call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        """Back to getUpdates polling."""
        return await self._call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self._call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send plain text (no markup on Zalo). Longer than MAX_TEXT or empty -> ValueError:
        split with :func:`split_for_zalo` first."""
        if not text:
            raise ValueError("text must not be empty")
        if len(text) > MAX_TEXT:
            raise ValueError(f"text is {len(text)} characters; Zalo allows {MAX_TEXT}")
        result = await self._call("sendMessage", {"chat_id": str(chat_id), "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        """Send an image by public URL (Zalo has no uploads)."""
        body: dict[str, Any] = {"chat_id": str(chat_id), "photo": photo_url}
        if caption:
            body["caption"] = caption
        result = await self._call("sendPhoto", body)
        return result if isinstance(result, dict) else {}

    async def send_sticker(self, chat_id: str, sticker: str) -> dict[str, Any]:
        result = await self._call("sendSticker", {"chat_id": str(chat_id), "sticker": sticker})
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        """Show "typing..." while a slow answer is prepared."""
        return await self._call("sendChatAction", {"chat_id": str(chat_id), "action": action})
