"""The fake Telegram's HTTP side: ``FakeTelegram``, the Bot API served on loopback.

``POST /bot<token>/<method>`` reads the parameters (query, JSON or form, files included) the
way Telegram does, checks them as the Bot API documents (``limits.py``), changes the state
through ``TelegramState`` (``state.py``) and answers ``{"ok": true, "result": ...}`` or the
error Telegram would give, with its HTTP status, so python-telegram-bot raises the same
exception classes (Forbidden, BadRequest, RetryAfter, ChatMigrated) as in production.
``GET /file/bot<token>/<path>`` serves stored files. ``fail_next`` and ``stall_next`` inject
faults (``tests/fakes/faults.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import JSONDict
from tests.fakes.errors import ApiError
from tests.fakes.faults import FailRule, Faults, StallRule
from tests.fakes.server import LoopbackServer
from tests.fakes.telegram.groups import GroupsState
from tests.fakes.telegram.limits import (
    BUTTON_DATA_INVALID,
    CALLBACK_DATA_BYTES,
    CAPTION_MAX,
    COMMAND_NAME,
    GETUPDATES_CONFLICT,
    INLINE_MAX_BUTTONS,
    INLINE_MAX_PER_ROW,
    MARKUP_MAX_BYTES,
    MARKUP_TOO_LONG,
    NOT_MODIFIED,
    PAID_BROADCAST_REFUSED,
    POLL_MAX_OPTIONS,
    POLL_MIN_OPTIONS,
    POLL_OPEN_PERIOD,
    POLL_OPTION_MAX,
    POLL_QUESTION_MAX,
    REPLY_MAX_BUTTONS,
    REPLY_MAX_PER_ROW,
    TEXT_MAX,
)
from tests.fakes.telegram.state import SentMessage, StoredFile, unix_now
from tests.fakes.telegram.text import EntityError, render_text, utf16_len

_LOGGER = logging.getLogger(__name__)

# Parameters Telegram documents as plain strings. PTB sends every other non-string value
# JSON-encoded inside the form, so only these must *not* go through json.loads
# (a text of "123" or "true" has to stay a string).
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "language_code",
        "action",
        "title",
        "description",
        "short_description",
        "name",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "file_id",
        "document",
        "photo",
        "voice",
        "audio",
        "video",
        "sticker",
        "animation",
        "thumbnail",
        "custom_title",
        "query",
        "question",
        "explanation",
    }
)


def _decode_value(key: str, value: Any) -> Any:
    if key == "chat_id" and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if isinstance(value, str) and key not in _STRING_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _STRING_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a JSON body may send {"text": 123}; Telegram coerces it
    return value


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as the bot uploaded it."""

    filename: str
    content: bytes
    mime_type: str


class FakeTelegram(GroupsState):
    """Fake Bot API server plus helpers to act as Telegram users."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "congdoan_test_bot",
        *,
        bot_first_name: str = "Công Đoàn Bot",
    ) -> None:
        super().__init__(token, bot_username, bot_first_name=bot_first_name)
        # --- knobs
        self.check_formatting = True  # validate HTML/Markdown like Telegram does
        # If True, the bot can only message private chats that wrote to it first (as on
        # Telegram); off by default so tests can notify arbitrary users.
        self.strict_chats = False
        # --- serving
        self._faults = Faults()
        self._poll_generation = 0
        self._inflight = 0
        self._closing = False
        self._handlers: dict[str, Callable[[str, JSONDict], Any]] = {
            "getme": lambda _m, _p: self._get_me(),
            "logout": lambda _m, _p: True,
            "close": lambda _m, _p: True,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendpoll": self._send_poll,
            "stoppoll": self._stop_poll,
            "editmessagetext": self._edit_message,
            "editmessagecaption": self._edit_message,
            "editmessagereplymarkup": self._edit_message,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "pinchatmessage": self._pin_chat_message,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmembercount": self._get_chat_member_count,
            "leavechat": self._leave_chat,
            "getfile": self._get_file,
            "approvechatjoinrequest": self._answer_join_request,
            "declinechatjoinrequest": self._answer_join_request,
        }
        # Accepted and acknowledged; recorded in `calls` like everything else.
        for name in (
            "setmydescription",
            "setmyshortdescription",
            "setmyname",
            "setchatmenubutton",
            "setmydefaultadministratorrights",
            "unpinchatmessage",
            "unpinallchatmessages",
            "setmessagereaction",
        ):
            self._handlers[name] = lambda _m, _p: True
        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )
        self._http = LoopbackServer(self._app, "Telegram")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._http.running:
            raise RuntimeError("FakeTelegram already started")
        self._closing = False
        await self._http.start()

    async def stop(self) -> None:
        if not self._http.running:
            return
        # Release any long poll still waiting, otherwise uvicorn waits for it on shutdown.
        self._closing = True
        self._notify()
        await self._http.stop()

    @property
    def port(self) -> int:
        if self._http.port is None:
            raise RuntimeError("FakeTelegram not started")
        return self._http.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every queued update was fetched and confirmed, no API call is running
        and none (nor a confirmation) happened for 0.2 s. A handler that works silently for
        longer than that before its first API call is not covered."""
        await self._wait_quiet(
            lambda: not self._queue and self._inflight == 0,
            lambda: (
                f"{len(self._queue)} update(s) not yet fetched/confirmed, "
                f"{self._inflight} API call(s) running"
            ),
            timeout,
        )

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` (only those to chat_id, if given) fail. The HTTP
        status is error_code too, since PTB picks its exception class from it."""
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._faults.failures.append(
            FailRule(
                method.lower(),
                error_code,
                description,
                times,
                chat_id=chat_id,
                parameters=parameters or None,
            )
        )

    def stall_next(
        self,
        method: str,
        *,
        seconds: float,
        chat_id: int | None = None,
        times: int = 1,
        after_processing: bool = True,
        release: asyncio.Event | None = None,
    ) -> StallRule:
        """The next `times` calls of `method` (to chat_id, if given) answer only after
        `seconds` (or as soon as `release` is set), so a client with a shorter read timeout
        gives up. With after_processing the call takes effect first (the message is sent, as
        when Telegram is slow to answer); without, it fails after the wait as if it never
        arrived. The rule's `taken` event tells when a call has been stalled."""
        rule = StallRule(
            method.lower(), seconds, times, after_processing, chat_id=chat_id, release=release
        )
        self._faults.stalls.append(rule)
        return rule

    # ------------------------------------------------------------------ internals: HTTP

    async def _read_params(self, request: Request) -> JSONDict:
        raw: JSONDict = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST":
            if content_type.startswith("application/json"):
                body = await request.body()
                if body:
                    data = json.loads(body)
                    if not isinstance(data, dict):
                        raise ApiError(400, "Bad Request: JSON object expected")
                    raw.update(data)
            elif content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                async with request.form(max_part_size=16 * 1024 * 1024) as form:
                    for key, value in form.multi_items():
                        if isinstance(value, UploadFile):
                            raw[key] = UploadedFile(
                                value.filename or key,
                                await value.read(),
                                value.content_type or "application/octet-stream",
                            )
                        else:
                            raw[key] = value
        return {key: _decode_value(key, value) for key, value in raw.items()}

    async def _api_endpoint(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        is_poll = method.lower() == "getupdates"
        if not is_poll:
            self._inflight += 1
            self._touch()
        params: JSONDict = {}
        try:
            params = await self._read_params(request)
            self.calls.append((method, params))
            self._notify()
            result = await self._dispatch(method, params)
            return JSONResponse({"ok": True, "result": result})
        except ApiError as error:
            body = error.body()
            self.errors.append((method, params, body))
            return JSONResponse(body, status_code=error.http_status)
        except json.JSONDecodeError:
            body = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"}
            self.errors.append((method, params, body))
            return JSONResponse(body, status_code=400)
        except Exception as exc:  # a bug in the fake: make it visible to the test
            _LOGGER.exception("fake Telegram failed on %s", method)
            self.server_errors.append(exc)
            body = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: {exc!r}",
            }
            self.errors.append((method, params, body))
            return JSONResponse(body, status_code=500)
        finally:
            if not is_poll:
                self._inflight -= 1
                self._touch()

    async def _file_endpoint(self, request: Request) -> Response:
        stored = self._files_by_path.get(str(request.path_params["file_path"]))
        if request.path_params["token"] != self.token or stored is None:
            return JSONResponse(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404
            )
        return Response(stored.content, media_type=stored.mime_type)

    async def _dispatch(self, method: str, params: JSONDict) -> Any:
        key = method.lower()
        self._faults.check(key, params.get("chat_id"))
        if params.get("allow_paid_broadcast") in (True, "true", "True") and not (
            self._pay_for_send()
        ):
            # The Bot API lists no error for this; the wording here is the fake's own.
            raise ApiError(400, PAID_BROADCAST_REFUSED)
        if key == "getupdates":
            return await self._get_updates(params)
        handler = self._handlers.get(key)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        stall = self._faults.take_stall(key, params.get("chat_id"))
        if stall is not None and not stall.after_processing:
            await stall.wait()
            raise ApiError(504, "Gateway Timeout")
        result = handler(method, params)
        if stall is not None:
            await stall.wait()
        return result

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # A newer getUpdates supersedes an older one still waiting, like on Telegram. This
        # also frees the server side of a poll that PTB cancelled on the client side.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        self._confirm(params.get("offset"))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, GETUPDATES_CONFLICT)
            if self._queue:
                return self._hand_out(limit)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ internals: methods

    def _get_me(self) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, _method: str, params: JSONDict) -> bool:
        self._set_webhook_url("", drop_pending=bool(params.get("drop_pending_updates")))
        return True

    def _set_webhook(self, _method: str, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        self._set_webhook_url(url, drop_pending=bool(params.get("drop_pending_updates")))
        return True

    def _get_webhook_info(self, _method: str, _params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    def _set_my_commands(self, _method: str, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_NAME.match(
                str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
        self._set_commands(self._commands_key(params), commands)
        return True

    def _get_my_commands(self, _method: str, params: JSONDict) -> list[JSONDict]:
        return self.my_commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, _method: str, params: JSONDict) -> bool:
        self._delete_commands(self._commands_key(params))
        return True

    def _commands_key(self, params: JSONDict) -> tuple[str, str]:
        return (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))

    def _target_chat(self, params: JSONDict, *, check_access: bool = True) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ApiError(400, "Bad Request: chat not found")
        if raw in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[raw]},
            )
        if not check_access:
            return raw
        if raw in self.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if raw in self._bot_gone:
            raise ApiError(403, self._bot_gone[raw])
        if self.strict_chats and raw not in self._known_chats and not self._join_window_open(raw):
            if raw > 0:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise ApiError(400, "Bad Request: chat not found")
        return raw

    def _render(self, text: str, parse_mode: Any) -> str:
        if not self.check_formatting and parse_mode:
            if str(parse_mode).lower() == "html":
                return html.unescape(re.sub(r"<[^>]*>", "", text))
            return text
        try:
            return render_text(text, parse_mode if isinstance(parse_mode, str) else None)
        except EntityError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None

    def _checked_markup(self, markup: Any, *, inline_only: bool = False) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard markup")
            self._check_size(rows, INLINE_MAX_BUTTONS, INLINE_MAX_PER_ROW)
            for button in (b for row in rows for b in row):
                self._check_inline_button(button)
            return markup
        if inline_only:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(400, "Bad Request: can't parse keyboard markup")
            self._check_size(rows, REPLY_MAX_BUTTONS, REPLY_MAX_PER_ROW)
        return markup

    @staticmethod
    def _check_size(rows: list[list[Any]], max_buttons: int, max_per_row: int) -> None:
        """Telegram's observed keyboard limits (see limits.py)."""
        count = sum(len(row) for row in rows)
        widest = max((len(row) for row in rows), default=0)
        size = len(json.dumps(rows, ensure_ascii=False).encode("utf-8"))
        if count > max_buttons or widest > max_per_row or size > MARKUP_MAX_BYTES:
            raise ApiError(400, MARKUP_TOO_LONG)

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text expected")
        actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
        if not actions:
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard",
            )
        if "callback_data" in button:
            data = button["callback_data"]
            low, high = CALLBACK_DATA_BYTES
            if not isinstance(data, str) or not low <= len(data.encode("utf-8")) <= high:
                raise ApiError(400, BUTTON_DATA_INVALID)
        if "url" in button and not button["url"]:
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")

    def _reply_fields(self, chat_id: int, params: JSONDict) -> JSONDict:
        reply = params.get("reply_parameters")
        reply_id: Any = None
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            reply_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            reply_id = params["reply_to_message_id"]
        if reply_id is None:
            return {}
        original = self._messages.get((chat_id, int(reply_id)))
        if original is None:
            if allow_missing:
                return {}
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {"reply_to_message": self._without_reply(original)}

    def _caption(self, params: JSONDict) -> tuple[str | None, str]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, ""
        plain = self._render(str(caption), params.get("parse_mode"))
        if utf16_len(plain) > CAPTION_MAX:
            raise ApiError(400, "Bad Request: message caption is too long")
        return str(caption), plain

    def _send(
        self,
        params: JSONDict,
        chat_id: int,
        fields: JSONDict,
        markup: JSONDict | None,
        sent: SentMessage,
    ) -> JSONDict:
        """The last checks of every send (the topic, the message replied to), then the
        message is in."""
        thread = self._thread_fields(chat_id, params)
        sent.thread_id = thread.get("message_thread_id")
        fields = {**fields, **thread, **self._reply_fields(chat_id, params)}
        return self._record_bot_message(chat_id, fields, markup, sent)

    def _send_message(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        plain = self._render(text, parse_mode)
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > TEXT_MAX:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._checked_markup(params.get("reply_markup"))
        sent = SentMessage(
            message_id=0,
            chat_id=chat_id,
            text=text,
            caption=None,
            reply_markup=markup,
            document=None,
            photo=None,
            method="sendMessage",
            params=params,
            parse_mode=parse_mode if isinstance(parse_mode, str) else None,
            plain=plain,
        )
        return self._send(params, chat_id, {"text": plain}, markup, sent)

    def _input_file(
        self, params: JSONDict, name: str, mime_type: str, folder: str
    ) -> tuple[StoredFile | None, str | None]:
        """Resolve a file parameter: multipart part, attach://, known file_id, or URL.
        Returns (stored file or None for a URL, url)."""
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            if not value.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            stored = self._store_file(
                value.content, value.filename, value.mime_type or mime_type, folder, None
            )
            return stored, None
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value], None
            if value.startswith(("http://", "https://")):
                return None, value
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    def _send_document(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        stored, url = self._input_file(params, "document", "application/octet-stream", "documents")
        caption, plain = self._caption(params)
        markup = self._checked_markup(params.get("reply_markup"))
        if stored is None:
            url_name = (url or "file").rsplit("/", 1)[-1] or "file"
            stored = self._store_file(b"", url_name, "application/octet-stream", "documents", None)
        filename = stored.filename or "document"
        sent = SentMessage(
            message_id=0,
            chat_id=chat_id,
            text=None,
            caption=caption,
            reply_markup=markup,
            document=(filename, stored.content),
            photo=None,
            method="sendDocument",
            params=params,
            parse_mode=params.get("parse_mode"),
            plain=plain,
        )
        fields: JSONDict = {"document": self._document_json(stored)}
        if caption is not None:
            fields["caption"] = plain
        return self._send(params, chat_id, fields, markup, sent)

    def _send_photo(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        stored, _url = self._input_file(params, "photo", "image/jpeg", "photos")
        caption, plain = self._caption(params)
        markup = self._checked_markup(params.get("reply_markup"))
        content = stored.content if stored is not None else None
        sent = SentMessage(
            message_id=0,
            chat_id=chat_id,
            text=None,
            caption=caption,
            reply_markup=markup,
            document=None,
            photo=content,
            method="sendPhoto",
            params=params,
            parse_mode=params.get("parse_mode"),
            plain=plain,
        )
        fields: JSONDict = {"photo": self._photo_sizes(content or b"")}
        if caption is not None:
            fields["caption"] = plain
        return self._send(params, chat_id, fields, markup, sent)

    @staticmethod
    def _poll_options(raw: Any) -> list[str]:
        if not isinstance(raw, list):
            raise ApiError(400, "Bad Request: can't parse options JSON object")
        texts: list[str] = []
        for option in raw:  # InputPollOption objects (PTB 22) or plain strings
            text = option.get("text") if isinstance(option, dict) else option
            if isinstance(text, int | float) and not isinstance(text, bool):
                text = str(text)
            if not isinstance(text, str):
                raise ApiError(400, "Bad Request: can't parse InputPollOption JSON object")
            texts.append(text.strip())
        if len(texts) < POLL_MIN_OPTIONS:
            raise ApiError(400, f"Bad Request: poll must have at least {POLL_MIN_OPTIONS} option")
        if len(texts) > POLL_MAX_OPTIONS:
            raise ApiError(
                400, f"Bad Request: poll can't have more than {POLL_MAX_OPTIONS} options"
            )
        for text in texts:
            if not text:
                raise ApiError(400, "Bad Request: poll options must be non-empty")
            if utf16_len(text) > POLL_OPTION_MAX:
                raise ApiError(
                    400, f"Bad Request: poll options length must not exceed {POLL_OPTION_MAX}"
                )
        return texts

    def _send_poll(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        raw_question = params.get("question")
        question = raw_question.strip() if isinstance(raw_question, str) else ""
        if not question:
            raise ApiError(400, "Bad Request: poll question must be non-empty")
        if utf16_len(question) > POLL_QUESTION_MAX:
            raise ApiError(
                400, f"Bad Request: poll question length must not exceed {POLL_QUESTION_MAX}"
            )
        texts = self._poll_options(params.get("options"))
        kind = params.get("type") or "regular"
        if kind not in ("regular", "quiz"):
            raise ApiError(400, "Bad Request: unsupported poll type specified")
        markup = self._checked_markup(params.get("reply_markup"))
        poll: JSONDict = {
            "id": self._new_poll_id(),
            "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(texts)
            ],
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)),
            "type": kind,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            # Both required by PTB 22.8 (Bot API 9.6 / 10.0).
            "allows_revoting": bool(params.get("allows_revoting", kind == "regular")),
            "members_only": bool(params.get("members_only", False)),
        }
        open_period = params.get("open_period")
        if isinstance(open_period, int) and not isinstance(open_period, bool):
            if not POLL_OPEN_PERIOD[0] <= open_period <= POLL_OPEN_PERIOD[1]:
                raise ApiError(400, "Bad Request: wrong open period specified")
            poll["open_period"] = open_period
            poll["close_date"] = unix_now() + open_period
        elif isinstance(params.get("close_date"), int):
            poll["close_date"] = params["close_date"]
        if kind == "quiz":
            correct = params.get("correct_option_ids")
            if correct is None and params.get("correct_option_id") is not None:
                correct = [params["correct_option_id"]]
            if correct is not None:
                poll["correct_option_ids"] = correct
        sent = SentMessage(
            message_id=0,
            chat_id=chat_id,
            text=None,
            caption=None,
            reply_markup=markup,
            document=None,
            photo=None,
            method="sendPoll",
            params=params,
            plain=question,
            poll=poll,
        )
        fields: JSONDict = {"poll": copy.deepcopy(poll)}
        if params.get("protect_content"):
            fields["has_protected_content"] = True
        message = self._send(params, chat_id, fields, markup, sent)
        self._add_poll(sent)
        return message

    def _stop_poll(self, _method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message with poll to stop not found")
        sent = self._sent_by_key.get((chat_id, message_id))
        if sent is None or sent.poll is None:
            raise ApiError(400, "Bad Request: message is not a poll")
        if sent.poll["is_closed"]:
            raise ApiError(400, "Bad Request: poll has already been closed")
        # Unlike an edit, stopPoll keeps the inline keyboard unless it passes a new one.
        markup: JSONDict | None = None
        if params.get("reply_markup") is not None:
            markup = self._checked_markup(params["reply_markup"], inline_only=True)
        self._close_poll(sent, message, markup)
        return copy.deepcopy(sent.poll)

    def _edit_message(self, method: str, params: JSONDict) -> JSONDict | bool:
        kind = method.lower()
        if params.get("inline_message_id"):
            self._checked_markup(params.get("reply_markup"), inline_only=True)
            self._record_inline_edit(method, params)
            return True
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        message = self._messages.get((chat_id, message_id))
        sent = self._sent_by_key.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if sent is None:
            raise ApiError(400, "Bad Request: message can't be edited")
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._checked_markup(params.get("reply_markup"), inline_only=True)
        parse_mode = params.get("parse_mode")
        if kind == "editmessagetext":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if "text" not in message:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            plain = self._render(text, parse_mode)
            if utf16_len(plain) > TEXT_MAX:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            if (text, parse_mode, markup) == (sent.text, sent.parse_mode, sent.reply_markup):
                raise ApiError(400, NOT_MODIFIED)
            self._record_edit(
                method,
                params,
                sent,
                message,
                markup,
                field="text",
                raw=text,
                plain=plain,
                parse_mode=parse_mode,
            )
        elif kind == "editmessagecaption":
            if "text" in message or "poll" in message:
                raise ApiError(400, "Bad Request: there is no caption in the message to edit")
            caption, plain = self._caption(params)
            if (caption, parse_mode, markup) == (sent.caption, sent.parse_mode, sent.reply_markup):
                raise ApiError(400, NOT_MODIFIED)
            self._record_edit(
                method,
                params,
                sent,
                message,
                markup,
                field="caption",
                raw=caption,
                plain=plain,
                parse_mode=parse_mode,
            )
        elif markup == sent.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        else:
            self._record_edit(method, params, sent, message, markup)
        return copy.deepcopy(message)

    def _delete_message(self, _method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if not self._remove_message(chat_id, message_id):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, _method: str, params: JSONDict) -> bool:
        if str(params.get("callback_query_id")) not in self._known_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._record_answer(params)
        return True

    def _send_chat_action(self, _method: str, params: JSONDict) -> bool:
        self._target_chat(params)
        return True

    def _pin_chat_message(self, _method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if (chat_id, message_id) not in self._messages:
            raise ApiError(400, "Bad Request: message to pin not found")
        self._pin(chat_id, message_id)
        return True

    def _get_chat(self, _method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params, check_access=False)
        if self.strict_chats and chat_id not in self._known_chats:
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _chat_member(self, chat_id: int, user_id: int) -> JSONDict:
        if user_id == self.bot_id and chat_id in self._bot_rights and chat_id not in self._bot_gone:
            return self._bot_as_admin(chat_id)
        if user_id == self.bot_id:
            user = copy.deepcopy(self.bot_user)
            status = "left" if chat_id in self._bot_gone else "member"
        else:
            user = self._user(user_id)
            status = self._member_status.get((chat_id, user_id), "member")
        member: JSONDict = {"user": user, "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _get_chat_member(self, _method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params, check_access=False)
        return self._chat_member(chat_id, int(params.get("user_id") or 0))

    def _get_chat_administrators(self, _method: str, params: JSONDict) -> list[JSONDict]:
        chat_id = self._target_chat(params)
        return [
            self._chat_member(chat_id, user_id)
            for (cid, user_id), status in self._member_status.items()
            if cid == chat_id and status in ("creator", "administrator")
        ]

    def _get_chat_member_count(self, _method: str, params: JSONDict) -> int:
        chat_id = self._target_chat(params)
        members = [
            1
            for (cid, _user), status in self._member_status.items()
            if cid == chat_id and status in ("creator", "administrator", "member")
        ]
        return len(members) + 1  # the bot itself

    def _leave_chat(self, _method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        self._bot_leaves(chat_id)
        return True

    def _get_file(self, _method: str, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
