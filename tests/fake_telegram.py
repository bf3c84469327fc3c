"""An in-process fake of the Telegram Bot API for end-to-end tests.

A real uvicorn server on 127.0.0.1 speaks enough of the Bot API that an unmodified
``telegram.ext.Application`` can long-poll it, while tests play the human users
(``user_sends``, ``user_presses``, ...) and inspect what the bot did (``sent``, ``edits``,
``calls``). Errors use Telegram's HTTP status codes and descriptions, so PTB raises the same
exception classes (Forbidden, BadRequest, RetryAfter, ChatMigrated) as it would in production.

Typical use::

    fake = FakeTelegram()
    await fake.start()
    app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url)
           .base_file_url(fake.base_file_url).build())
    ...
    fake.user_sends(42, "/start")
    msg = await fake.wait_for(42, contains="Xin chào")
    fake.user_presses(42, msg, msg.button("Đăng ký"))
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_common import ChangeWaiter, InLoopServer

JSONDict = dict[str, Any]

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

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_BOT_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_GETUPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_IDLE_QUIET_SECONDS = 0.2
# Poll limits as the Bot API enforces them (Bot API 10.0 lowered the option minimum to 1;
# the fake keeps 2, since a one-option poll is a bug in this bot). sendPoll: "question: Poll
# question, 1-300 characters"; InputPollOption: "text: Option text, 1-100 characters"
# (https://core.telegram.org/bots/api#sendpoll, #inputpolloption), counted like every length
# in the Bot API in UTF-16 code units (see _utf16_len).
_TEXT_MAX, _CAPTION_MAX = 4096, 1024  # UTF-16 code units, see _utf16_len
_POLL_QUESTION_MAX = 300
_POLL_OPTION_MAX = 100
_POLL_MIN_OPTIONS = 2
_POLL_MAX_OPTIONS = 12
_POLL_OPEN_PERIOD = (5, 2_628_000)
# A paid send the bot's Stars balance cannot pay for (the fake's wording: not documented).
PAID_BROADCAST_REFUSED = "Bad Request: not enough Telegram Stars to pay for the broadcast"

# Keyboard limits. The Bot API documents only callback_data: "1-64 bytes"
# (https://core.telegram.org/bots/api#inlinekeyboardbutton). The button counts are not in the
# docs; they are what Telegram is observed to enforce, and what bots run into:
# "Bad Request: reply markup is too long" (REPLY_MARKUP_TOO_LONG) beyond 100 inline buttons
# (tginfo/Telegram-Limits, "Keyboard buttons number: up to 100" and issue #228: 100 inline
# buttons, 8 per row, 300 reply-keyboard buttons, 12 per row; pyTelegramBotAPI issue #511;
# node-telegram-bot-api issue #200; TelegramBots issue #218) and beyond about 10 KB of markup
# (Telegram-Limits: "Message markup data, e.g. inline buttons: up to 10 KB"). Wider rows are
# not shown whole by the apps. The fake refuses all of these with the same error, so a bot
# that passes here stays inside every one of them.
_CALLBACK_DATA_BYTES = (1, 64)
_INLINE_MAX_BUTTONS, _INLINE_MAX_PER_ROW = 100, 8
_REPLY_MAX_BUTTONS, _REPLY_MAX_PER_ROW = 300, 12
_MARKUP_MAX_BYTES = 10 * 1024
_MARKUP_TOO_LONG = "Bad Request: reply markup is too long"


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    """Length as Telegram counts it. The limits are written in "characters" (sendMessage:
    "Text of the message to be sent, 1-4096 characters after entities parsing"; sendPhoto and
    sendDocument: "caption ..., 0-1024 characters after entities parsing";
    https://core.telegram.org/bots/api#sendmessage), and those characters are UTF-16 code
    units: "UTF-16 is used when computing the length and offsets of entities in the MTProto and
    bot APIs, by counting the number of UTF-16 code units (not code points)"
    (https://core.telegram.org/api/entities#entity-length). An emoji outside the Basic
    Multilingual Plane counts two: 2,049 of them are refused as a message."""
    return len(text.encode("utf-16-le")) // 2


def _chat_type_for_id(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as the bot uploaded it."""

    filename: str
    content: bytes
    mime_type: str


@dataclass
class SentMessage:
    """A message the bot sent. Edits made later by the bot are applied in place."""

    message_id: int
    chat_id: int
    text: str | None  # exactly as the bot sent it (markup included)
    caption: str | None
    reply_markup: JSONDict | None
    document: tuple[str, bytes] | None
    photo: bytes | None
    method: str
    params: JSONDict
    parse_mode: str | None = None
    plain: str = ""  # text/caption as the user sees it (HTML/Markdown rendered)
    edit_count: int = 0
    deleted: bool = False
    poll: JSONDict | None = None  # sendPoll: the live Poll JSON, updated as people vote

    @property
    def body(self) -> str:
        """Text or caption; for a poll its question."""
        return self.text or self.caption or (self.poll or {}).get("question") or ""

    def matches(self, contains: str | None) -> bool:
        """True if ``contains`` occurs in the raw body or in the rendered text."""
        return contains is None or contains in self.body or contains in self.plain

    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard flattened to (text, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        result: list[tuple[str, str]] = []
        for row in rows:
            for button in row:
                target = (
                    button.get("callback_data")
                    or button.get("url")
                    or (button.get("web_app") or {}).get("url")
                    or (button.get("login_url") or {}).get("url")
                    or ""
                )
                result.append((str(button.get("text", "")), str(target)))
        return result

    def button(self, label_contains: str) -> str:
        for text, target in self.buttons():
            if label_contains in text:
                return target
        raise AssertionError(
            f"no inline button containing {label_contains!r} in message {self.message_id} "
            f"to {self.chat_id} ({self.body!r}); buttons: {self.buttons()!r}"
        )

    def keyboard(self) -> list[str]:
        """Texts of a reply (non-inline) keyboard, row by row flattened."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else str(b.get("text", "")) for row in rows for b in row]

    def describe(self) -> str:
        extra = f" buttons={self.buttons()!r}" if self.buttons() else ""
        if self.document:
            extra += f" document={self.document[0]!r}"
        if self.poll is not None:
            votes = [f"{o['text']}: {o['voter_count']}" for o in self.poll["options"]]
            extra += f" options={votes!r}" + (" closed" if self.poll["is_closed"] else "")
        return f"[{self.method} id={self.message_id}] {self.body!r}{extra}"


@dataclass
class _Queued:
    update: JSONDict
    forced: bool  # re-sent old update_id: must be delivered even though it is below offset
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _FailRule:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    chat_id: int | None
    times: int


@dataclass
class _PollState:
    sent: SentMessage  # sent.poll is the live Poll JSON
    votes: dict[int, list[int]]  # user_id -> chosen option ids (users who voted only)


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    filename: str | None
    mime_type: str
    file_path: str


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class _EntityError(Exception):
    pass


# --------------------------------------------------------------------------- text formatting
# Real Telegram rejects malformed markup with 400 "can't parse entities". These parsers follow
# tdlib's rules closely enough to catch the usual bot bugs (unescaped '<', '.', '_' ...).

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY.match(text, i)
            if match:
                out.append(html.unescape(match.group(0)))
                i = match.end()
            else:  # tdlib keeps a lone '&' as text
                out.append(char)
                i += 1
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end == -1:
                raise _EntityError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _EntityError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            if name and name != stack[-1]:
                raise _EntityError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise _EntityError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and text[k] not in "= >" and not text[k].isspace():
                k += 1
            attr = text[j:k].lower()
            value = ""
            if k < n and text[k] == "=":
                k += 1
                if k < n and text[k] in "'\"":
                    close = text.find(text[k], k + 1)
                    if close == -1:
                        raise _EntityError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                        )
                    value = text[k + 1 : close]
                    k = close + 1
                else:
                    v = k
                    while k < n and text[k] != ">" and not text[k].isspace():
                        k += 1
                    value = text[v:k]
            attrs[attr] = html.unescape(value)
            j = k
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _EntityError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append(name)
        i = j
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "`": "Code",
    "```": "Pre",
    "[": "TextUrl",
    "![": "CustomEmoji",
}


def _skip_url(text: str, i: int) -> int:
    """i points at '(' after ']'; returns the index after the closing ')'."""
    j = i + 1
    while j < len(text) and text[j] != ")":
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise _EntityError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
    return j + 1


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)

    def push(marker: str) -> None:
        stack.append((marker, i))

    while i < n:
        char = text[i]
        top = stack[-1][0] if stack else None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        if top in ("`", "```"):  # inside code only the closing backticks are special
            if top == "```" and text.startswith("```", i):
                stack.pop()
                i += 3
            elif top == "`" and char == "`":
                stack.pop()
                i += 1
            else:
                out.append(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.append(char)
            i += 1
            continue
        # Does this character close the innermost open entity?
        if (top == char and char in "*~") or (
            top == "_" and char == "_" and not text.startswith("__", i)
        ):
            stack.pop()
            i += 1
            continue
        if top in ("__", "||") and text.startswith(top, i):
            stack.pop()
            i += 2
            continue
        if top in ("[", "![") and char == "]":
            stack.pop()
            i += 1
            if i < n and text[i] == "(":
                i = _skip_url(text, i)
            elif top == "![":
                raise _EntityError("Custom emoji entity must contain a tg://emoji URL")
            continue
        # Otherwise it opens one, or is a reserved character that had to be escaped.
        if text.startswith("```", i):
            push("```")
            i += 3
            newline, close = text.find("\n", i), text.find("```", i)
            if newline != -1 and (close == -1 or newline < close):
                i = newline + 1  # the first line is the language name
        elif char == "`":
            push("`")
            i += 1
        elif text.startswith("__", i) or text.startswith("||", i):
            push(text[i : i + 2])
            i += 2
        elif char in "_*~[":
            push(char)
            i += 1
        elif text.startswith("![", i):
            push("![")
            i += 2
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # block quote line
        else:
            raise _EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
    if stack:
        marker, pos = stack[-1]
        raise _EntityError(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(text, pos)}"
        )
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy "Markdown": _italic_, *bold*, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            i += 1
            continue
        missing_end = _EntityError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
        )
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end == -1:
                raise missing_end
            out.append(text[i + 3 : end])
            i = end + 3
        elif char == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise missing_end
            out.append(text[i + 1 : end])
            i = end + 1
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close == -1:
                    raise missing_end
                i = close + 1
        else:
            end = text.find(char, i + 1)
            if end == -1:
                raise missing_end
            out.append(text[i + 1 : end])
            i = end + 1
    return "".join(out)


def render_text(text: str, parse_mode: str | None) -> str:
    """What the user would see; raises _EntityError like Telegram's parser would."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if mode:
        raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    return text


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


# --------------------------------------------------------------------------- the fake


class FakeTelegram(ChangeWaiter):
    """Fake Bot API server plus helpers to act as Telegram users."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "congdoan_test_bot",
        *,
        bot_first_name: str = "Công Đoàn Bot",
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # --- what the bot did
        self.sent: list[SentMessage] = []
        self.edits: list[JSONDict] = []
        self.calls: list[tuple[str, JSONDict]] = []
        self.errors: list[tuple[str, JSONDict, JSONDict]] = []  # (method, params, error body)
        self.answers: list[JSONDict] = []  # answerCallbackQuery params
        self.deleted: list[tuple[int, int]] = []
        self.pinned: dict[int, int] = {}
        self.my_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.server_errors: list[BaseException] = []  # bugs inside the fake itself
        # --- knobs
        self.blocked_users: set[int] = set()
        # [method, chat_id, times, seconds, after_processing] rules for stall_next().
        self._stall_rules: list[list[Any]] = []
        self.check_formatting = True  # validate HTML/Markdown like Telegram does
        # If True, the bot can only message private chats that wrote to it first (as on
        # Telegram); off by default so tests can notify arbitrary users.
        self.strict_chats = False
        # Paid broadcasts: the bot's Stars balance, in tenths of a Star (a paid send costs
        # one tenth, Bot API `allow_paid_broadcast`); None: not limited. Telegram bills only
        # the sends beyond the free limits; the fake bills every paid send (the worst case).
        self.stars_tenths: int | None = None
        self.paid_sends = 0
        self.webhook_url = ""
        # --- internal state
        self._queue: list[_Queued] = []
        self._update_ids = itertools.count(10_001)
        self._max_update_id = 10_000
        self._callback_ids = itertools.count(4_382_001_177_000_000_001)
        self._known_callbacks: set[str] = set()
        self._poll_ids = itertools.count(5_224_233_457_427_136_001)
        self._polls: dict[str, _PollState] = {}
        self._file_ids = itertools.count(1)
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._users: dict[int, JSONDict] = {}
        self._chat_titles: dict[int, str] = {}
        self._chat_types: dict[int, str] = {}
        self._known_chats: set[int] = set()
        self._bot_gone: dict[int, str] = {}  # chat -> Forbidden description
        self._migrated: dict[int, int] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent_by_key: dict[tuple[int, int], SentMessage] = {}
        self._fail_rules: list[_FailRule] = []
        self._poll_generation = 0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._closing = False
        self._server: InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
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

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("FakeTelegram already started")
        # Bind ourselves so the port is known before uvicorn starts (port 0 = any free one).
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
        # without it every keep-alive request waits ~40 ms for a delayed ACK.
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
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-telegram")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup error
                raise RuntimeError("fake Telegram server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._task is None or self._server is None:
            return
        # Release any long poll still waiting, otherwise uvicorn waits for it on shutdown.
        self._closing = True
        self._notify()
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, timeout=10)
        finally:
            self._task = None
            self._server = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ acting as people

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        username: str | None = None,
        reply_to: SentMessage | int | None = None,
        language_code: str | None = None,
    ) -> JSONDict:
        """A text message. A leading /command gets its bot_command entity like on Telegram
        (ASCII letters, digits and '_' only, optionally @botname)."""
        if language_code is not None:
            self._remember_user(user_id, first_name, username)
            self._users[user_id]["language_code"] = language_code
        content: JSONDict = {"text": text}
        command = _BOT_COMMAND.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        return self._user_message(
            user_id,
            content,
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
            chat_title=chat_title,
            username=username,
            reply_to=reply_to,
        )

    def user_sends_contact(
        self,
        user_id: int,
        phone: str,
        *,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        without_user_id: bool = False,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        """A shared contact. By default the user's own contact (contact.user_id == from.id),
        as produced by a request_contact keyboard button; pass contact_user_id for someone
        else's, or without_user_id=True for an address-book entry without Telegram account."""
        user = self._remember_user(user_id, first_name, None)
        contact: JSONDict = {"phone_number": phone, "first_name": user["first_name"]}
        if not without_user_id:
            contact["user_id"] = user_id if contact_user_id is None else contact_user_id
        return self._user_message(
            user_id,
            {"contact": contact},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_sticker(
        self,
        user_id: int,
        *,
        emoji: str = "👍",
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(b"RIFF fake webp", None, "image/webp", "stickers", "webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.content),
        }
        return self._user_message(
            user_id,
            {"sticker": sticker},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_photo(
        self,
        user_id: int,
        content: bytes = b"\xff\xd8\xff fake jpeg",
        *,
        caption: str | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        fields: JSONDict = {"photo": self._photo_sizes(content)}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(
            user_id, fields, first_name=first_name, chat_id=chat_id, chat_type=chat_type
        )

    def user_sends_voice(
        self,
        user_id: int,
        content: bytes = b"OggS fake voice",
        *,
        duration: int = 3,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(content, None, "audio/ogg", "voice", "oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._user_message(
            user_id,
            {"voice": voice},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(content, filename, mime_type, "documents", None)
        fields: JSONDict = {"document": self._document_json(stored)}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(
            user_id, fields, first_name=first_name, chat_id=chat_id, chat_type=chat_type
        )

    def user_presses(
        self,
        user_id: int,
        message: SentMessage,
        callback_data: str,
        chat_id: int | None = None,
        *,
        first_name: str | None = None,
    ) -> JSONDict:
        """A callback_query on a bot message; the message is included in its current
        (possibly edited) state, as Telegram does."""
        cid = message.chat_id if chat_id is None else chat_id
        stored = self._messages.get((cid, message.message_id))
        if stored is None:
            raise AssertionError(
                f"cannot press a button on message {message.message_id} in chat {cid}: "
                "it does not exist (deleted?)"
            )
        user = self._remember_user(user_id, first_name, None)
        query_id = str(next(self._callback_ids))
        self._known_callbacks.add(query_id)
        self._known_chats.add(cid)
        query = {
            "id": query_id,
            "from": user,
            "chat_instance": str(7_000_000_000_000_000_000 + abs(cid)),
            "data": callback_data,
            "message": copy.deepcopy(stored),
        }
        return self._queue_update({"callback_query": query})

    def user_votes(
        self,
        user_id: int,
        message: SentMessage,
        option_ids: list[int],
        *,
        first_name: str | None = None,
        username: str | None = None,
    ) -> list[JSONDict]:
        """The user answers the poll in a bot message (option_ids [] retracts the vote),
        replacing their previous answer. As for every poll the bot sent, Telegram queues a
        poll_answer update (named polls only) and then a poll update with the new counts;
        both are returned. A vote on a closed poll (clients can't cast one) or one that
        changes nothing queues nothing and returns []."""
        poll = message.poll
        if poll is None:
            raise AssertionError(
                f"message {message.message_id} is not a poll: {message.describe()}"
            )
        if message.deleted:
            raise AssertionError(
                f"cannot vote in poll message {message.message_id} in chat {message.chat_id}: "
                "it was deleted"
            )
        count = len(poll["options"])
        bad = [
            i
            for i in option_ids
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < count
        ]
        if bad:
            raise AssertionError(f"option ids {bad!r} out of range for a {count}-option poll")
        if len(set(option_ids)) != len(option_ids):
            raise AssertionError(f"duplicate option ids {option_ids!r}")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise AssertionError(
                f"poll {poll['question']!r} allows one answer only, got {option_ids!r}"
            )
        state = self._polls[poll["id"]]
        user = self._remember_user(user_id, first_name, username)
        chosen = sorted(option_ids)
        previous = state.votes.get(user_id, [])
        if poll["is_closed"] or chosen == previous:
            return []
        if previous and not poll["allows_revoting"]:
            raise AssertionError(
                f"poll {poll['question']!r} does not allow changing a vote (allows_revoting)"
            )
        if chosen:
            state.votes[user_id] = chosen
        else:
            state.votes.pop(user_id, None)
        for index, option in enumerate(poll["options"]):
            option["voter_count"] = sum(index in votes for votes in state.votes.values())
        poll["total_voter_count"] = len(state.votes)
        self._sync_poll(state)
        updates: list[JSONDict] = []
        if not poll["is_anonymous"]:
            answer = {
                "poll_id": poll["id"],
                "user": user,
                "option_ids": chosen,
                "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in chosen],
            }
            updates.append(self._queue_update({"poll_answer": answer}))
        updates.append(self._queue_update({"poll": copy.deepcopy(poll)}))
        return updates

    def bot_added_to_group(
        self,
        chat_id: int,
        by_user_id: int,
        title: str = "Nhóm",
        *,
        with_service_message: bool = False,
    ) -> JSONDict:
        """my_chat_member left -> member. with_service_message also queues the
        new_chat_members message Telegram sends into basic groups."""
        self._chat_titles[chat_id] = title
        self._bot_gone.pop(chat_id, None)
        self._known_chats.add(chat_id)
        user = self._user(by_user_id)
        self._member_status.setdefault((chat_id, by_user_id), "member")
        update = self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": user,
                    "date": _now(),
                    "old_chat_member": {"user": self.bot_user, "status": "left"},
                    "new_chat_member": {"user": self.bot_user, "status": "member"},
                }
            }
        )
        if with_service_message:
            self._user_message(
                by_user_id,
                {"new_chat_members": [self.bot_user]},
                chat_id=chat_id,
                chat_type=_chat_type_for_id(chat_id),
            )
        return update

    def bot_removed_from_group(
        self,
        chat_id: int,
        by_user_id: int,
        title: str = "Nhóm",
        *,
        status: str | None = None,
    ) -> JSONDict:
        """my_chat_member member -> kicked (supergroups) or left (basic groups, where
        Telegram reports removal as "left"); pass status to force one."""
        self._chat_titles[chat_id] = title
        kind = self._chat_type(chat_id)
        new_status = status or ("kicked" if kind == "supergroup" else "left")
        new_member: JSONDict = {"user": self.bot_user, "status": new_status}
        if new_status == "kicked":
            new_member["until_date"] = 0
        self._bot_gone[chat_id] = f"Forbidden: bot was kicked from the {kind} chat"
        update = self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": self._user(by_user_id),
                    "date": _now(),
                    "old_chat_member": {"user": self.bot_user, "status": "member"},
                    "new_chat_member": new_member,
                }
            }
        )
        return update

    def user_joins_group(
        self, chat_id: int, user_id: int, first_name: str | None = None, title: str = "Nhóm"
    ) -> JSONDict:
        self._chat_titles[chat_id] = title
        user = self._remember_user(user_id, first_name, None)
        self._member_status[(chat_id, user_id)] = "member"
        return self._user_message(
            user_id,
            {"new_chat_members": [user]},
            chat_id=chat_id,
            chat_type=self._chat_type(chat_id),
        )

    def group_migrates(
        self,
        old_chat_id: int,
        new_chat_id: int,
        title: str = "Nhóm",
        *,
        by_user_id: int = 777000,
        with_migrate_from: bool = False,
    ) -> JSONDict:
        """The service message with migrate_to_chat_id in the old group. From then on, sends
        to the old id fail with 400 + migrate_to_chat_id (PTB: ChatMigrated), as on Telegram.
        with_migrate_from also queues the migrate_from_chat_id message in the new chat."""
        self._chat_titles[old_chat_id] = title
        self._chat_titles[new_chat_id] = title
        self._chat_types[new_chat_id] = "supergroup"
        if by_user_id == 777000 and by_user_id not in self._users:
            self._users[by_user_id] = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        update = self._user_message(
            by_user_id,
            {"migrate_to_chat_id": new_chat_id},
            chat_id=old_chat_id,
            chat_type=self._chat_type(old_chat_id),
        )
        self._migrated[old_chat_id] = new_chat_id
        self._known_chats.add(new_chat_id)
        if with_migrate_from:
            self._user_message(
                by_user_id,
                {"migrate_from_chat_id": old_chat_id},
                chat_id=new_chat_id,
                chat_type="supergroup",
            )
        return update

    def queue_raw_update(self, update: JSONDict) -> JSONDict:
        """Queue any update JSON. Without update_id one is assigned; with an update_id that was
        already used it is delivered again (duplicate delivery), whatever the offset."""
        queued = copy.deepcopy(update)
        forced = False
        if "update_id" in queued:
            update_id = int(queued["update_id"])
            forced = update_id <= self._max_update_id
            if update_id > self._max_update_id:
                self._max_update_id = update_id
                self._update_ids = itertools.count(update_id + 1)
        else:
            queued["update_id"] = self._next_update_id()
        self._queue.append(_Queued(queued, forced=forced))
        self._touch()
        return queued

    def repeat_update(self, update: JSONDict) -> JSONDict:
        """Deliver an already queued update once more with the same update_id (Telegram
        delivers at least once), whatever the bot's offset, to test de-duplication."""
        if int(update.get("update_id", self._max_update_id + 1)) > self._max_update_id:
            raise AssertionError(f"repeat_update needs an update that was queued: {update!r}")
        return self.queue_raw_update(update)

    def user_blocks_bot(self, user_id: int) -> JSONDict:
        """my_chat_member in the private chat (member -> kicked); sends then get 403."""
        self.blocked_users.add(user_id)
        return self._private_member_change(user_id, "member", "kicked")

    def user_unblocks_bot(self, user_id: int) -> JSONDict:
        self.blocked_users.discard(user_id)
        return self._private_member_change(user_id, "kicked", "member")

    def _private_member_change(self, user_id: int, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            shape: JSONDict = {"user": self.bot_user, "status": status}
            if status == "kicked":
                shape["until_date"] = 0
            return shape

        user = self._user(user_id)
        return self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(user_id),
                    "from": user,
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember reports: creator, administrator, member, left or kicked."""
        self._member_status[(chat_id, user_id)] = status

    # ------------------------------------------------------------------ inspecting the bot

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def keyboard_refusals(self) -> list[tuple[str, JSONDict, JSONDict]]:
        """Calls refused for their keyboard (too many buttons, too wide, callback_data too
        long): a test that ends with none shows the bot stayed inside Telegram's limits."""
        markup_errors = (_MARKUP_TOO_LONG, "Bad Request: BUTTON_DATA_INVALID")
        return [e for e in self.errors if e[2].get("description") in markup_errors]

    def polls_in(self, chat_id: int) -> list[SentMessage]:
        """The polls the bot sent to chat_id, in order (their .poll is the live state)."""
        return [m for m in self.sent if m.chat_id == chat_id and m.poll is not None]

    def calls_of(self, method: str) -> list[JSONDict]:
        """Params of every call of `method` (case-insensitive), in order."""
        return [p for m, p in self.calls if m.lower() == method.lower()]

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        return self.my_commands.get((self._scope_key(scope), language_code), [])

    def mark(self) -> int:
        return len(self.sent)

    async def wait_for(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> SentMessage:
        """Wait until at least `count` messages to chat_id at index >= since (in `sent`)
        contain `contains` (raw or rendered text/caption); return the last such message."""
        start = since or 0

        def matching() -> list[SentMessage]:
            return [m for m in self.sent[start:] if m.chat_id == chat_id and m.matches(contains)]

        if await self._wait(lambda: len(matching()) >= count, timeout):
            return matching()[-1]
        want = f"{count} message(s)" + (f" containing {contains!r}" if contains else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {want} to chat {chat_id} "
            f"(since index {start}); got {len(matching())}.\n{self._describe_chat(chat_id)}"
        )

    async def wait_for_edit(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        since: int = 0,
        timeout: float = 5.0,
    ) -> JSONDict:
        """Wait for an edit (index >= since in `edits`) in chat_id whose new text/caption
        contains `contains`; returns the edit's params (plus "method")."""

        def found() -> JSONDict | None:
            for edit in self.edits[since:]:
                body = str(edit.get("text") or edit.get("caption") or "")
                plain = body
                with contextlib.suppress(_EntityError, _ApiError):
                    plain = render_text(body, edit.get("parse_mode"))
                if edit.get("chat_id") == chat_id and (
                    contains is None or contains in body or contains in plain
                ):
                    return edit
            return None

        if await self._wait(lambda: found() is not None, timeout):
            result = found()
            assert result is not None
            return result
        edits = [e for e in self.edits if e.get("chat_id") == chat_id][-10:]
        raise AssertionError(
            f"timed out after {timeout}s waiting for an edit in chat {chat_id} containing "
            f"{contains!r}; edits there: {edits!r}.\n{self._describe_chat(chat_id)}"
        )

    async def wait_fetched(self, timeout: float = 5.0) -> None:
        """Until every queued update was fetched and confirmed (the bot asked for a later
        offset). Says nothing about whether the bot has finished handling them."""
        await self.wait_until(
            lambda: not self._queue, timeout=timeout, what="every update fetched and confirmed"
        )

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every queued update was fetched and confirmed, no API call is running
        and none (nor a confirmation) happened for 0.2 s. A handler that works silently for
        longer than that before its first API call is not covered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            quiet = time.monotonic() - self._last_activity
            if not self._queue and self._inflight == 0 and quiet >= _IDLE_QUIET_SECONDS:
                return
            if loop.time() >= deadline:
                raise AssertionError(
                    f"not idle after {timeout}s: {len(self._queue)} update(s) not yet "
                    f"fetched/confirmed, {self._inflight} API call(s) running"
                )
            await asyncio.sleep(0.02)

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
        self._fail_rules.append(
            _FailRule(
                method.lower(),
                error_code,
                description,
                retry_after,
                migrate_to_chat_id,
                chat_id,
                times,
            )
        )

    # ------------------------------------------------------------------ internals: state

    def _describe_chat(self, chat_id: int) -> str:
        lines = [f"last messages to {chat_id}:"]
        indexed = [(i, m) for i, m in enumerate(self.sent) if m.chat_id == chat_id][-10:]
        lines += [f"  #{i} {m.describe()}" for i, m in indexed] or ["  (none)"]
        errors = [e for e in self.errors if e[1].get("chat_id") == chat_id][-5:]
        if errors:
            lines.append("failed API calls for that chat:")
            lines += [f"  {m}: {body.get('description')}" for m, _p, body in errors]
        if self.server_errors:
            lines.append(f"errors inside the fake: {self.server_errors[-3:]!r}")
        return "\n".join(lines)

    def _next_update_id(self) -> int:
        update_id = next(self._update_ids)
        self._max_update_id = max(self._max_update_id, update_id)
        return update_id

    def _queue_update(self, payload: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id(), **payload}
        self._queue.append(_Queued(update, forced=False))
        self._touch()
        return update

    def _remember_user(
        self, user_id: int, first_name: str | None, username: str | None
    ) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "vi"}
            self._users[user_id] = user
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return copy.deepcopy(user)

    def _user(self, user_id: int) -> JSONDict:
        return self._remember_user(user_id, None, None)

    def _chat_type(self, chat_id: int) -> str:
        return self._chat_types.get(chat_id) or _chat_type_for_id(chat_id)

    def _chat(self, chat_id: int) -> JSONDict:
        kind = self._chat_type(chat_id)
        if kind == "private":
            user = self._users.get(chat_id, {})
            chat: JSONDict = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", "User"),
            }
            if user.get("username"):
                chat["username"] = user["username"]
            return chat
        return {"id": chat_id, "type": kind, "title": self._chat_titles.get(chat_id, "Nhóm")}

    def _new_message(self, chat_id: int, sender: JSONDict | None, fields: JSONDict) -> JSONDict:
        # Private chats and groups number messages per chat, shared by users and the bot.
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message: JSONDict = {"message_id": message_id, "date": _now(), "chat": self._chat(chat_id)}
        if sender is not None:
            message["from"] = sender
        message.update(fields)
        self._messages[(chat_id, message_id)] = message
        return message

    def _user_message(
        self,
        user_id: int,
        content: JSONDict,
        *,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        username: str | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSONDict:
        user = self._remember_user(user_id, first_name, username)
        if chat_id is None:
            if chat_type != "private":
                raise ValueError(f"a {chat_type} message needs chat_id")
            chat_id = user_id
        if chat_id < 0 and chat_type != "private" and chat_type != _chat_type_for_id(chat_id):
            self._chat_types[chat_id] = chat_type
        if chat_title is not None:
            self._chat_titles[chat_id] = chat_title
        if chat_id < 0:
            self._member_status.setdefault((chat_id, user_id), "member")
        self._known_chats.add(chat_id)
        fields = dict(content)
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            original = self._messages.get((chat_id, reply_id))
            if original is not None:
                fields["reply_to_message"] = self._without_reply(original)
        message = self._new_message(chat_id, user, fields)
        return self._queue_update({"message": copy.deepcopy(message)})

    @staticmethod
    def _without_reply(message: JSONDict) -> JSONDict:
        # Telegram does not nest reply_to_message more than one level deep.
        copied = copy.deepcopy(message)
        copied.pop("reply_to_message", None)
        return copied

    def _store_file(
        self, content: bytes, filename: str | None, mime_type: str, folder: str, ext: str | None
    ) -> _StoredFile:
        number = next(self._file_ids)
        suffix = ext or (filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin")
        stored = _StoredFile(
            file_id=f"FAKEFILE{number:06d}{folder[:3].upper()}",
            file_unique_id=f"U{number:06d}",
            content=content,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}.{suffix}",
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_json(stored: _StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }
        if stored.filename:
            document["file_name"] = stored.filename
        return document

    def _photo_sizes(self, content: bytes) -> list[JSONDict]:
        sizes = []
        for side in (90, 800):
            stored = self._store_file(content, None, "image/jpeg", "photos", "jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": side,
                    "height": side,
                    "file_size": len(content),
                }
            )
        return sizes

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

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
                        raise _ApiError(400, "Bad Request: JSON object expected")
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
        except _ApiError as error:
            body = error.body()
            self.errors.append((method, params, body))
            return JSONResponse(body, status_code=error.code)
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

    def stall_next(
        self,
        method: str,
        *,
        seconds: float,
        chat_id: int | None = None,
        times: int = 1,
        after_processing: bool = True,
    ) -> None:
        """The next `times` calls of `method` (to chat_id, if given) answer only after
        `seconds`, so a client with a shorter read timeout gives up. With after_processing the
        call takes effect first (the message is sent, as when Telegram is slow to answer);
        without, it fails after the wait as if it never arrived."""
        self._stall_rules.append([method.lower(), chat_id, times, seconds, after_processing])

    def _take_stall(self, key: str, params: JSONDict) -> tuple[float, bool] | None:
        for rule in self._stall_rules:
            if rule[0] == key and rule[2] > 0 and rule[1] in (None, params.get("chat_id")):
                rule[2] -= 1
                return rule[3], rule[4]
        return None

    async def _dispatch(self, method: str, params: JSONDict) -> Any:
        key = method.lower()
        self._apply_fail_rules(key, params)
        if params.get("allow_paid_broadcast") in (True, "true", "True"):
            self._charge_paid_send()
        if key == "getupdates":
            return await self._get_updates(params)
        handler = self._handlers.get(key)
        if handler is None:
            raise _ApiError(404, "Not Found: method not found")
        stall = self._take_stall(key, params)
        if stall is not None and not stall[1]:
            await asyncio.sleep(stall[0])
            raise _ApiError(504, "Gateway Timeout")
        result = handler(method, params)
        if stall is not None:
            await asyncio.sleep(stall[0])
        return result

    def _charge_paid_send(self) -> None:
        if self.stars_tenths is not None:
            if self.stars_tenths < 1:
                # The Bot API lists no error for this; the wording here is the fake's own.
                raise _ApiError(400, PAID_BROADCAST_REFUSED)
            self.stars_tenths -= 1
        self.paid_sends += 1

    def _apply_fail_rules(self, key: str, params: JSONDict) -> None:
        for rule in self._fail_rules:
            if rule.method != key or rule.times <= 0:
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            rule.times -= 1
            self._fail_rules = [r for r in self._fail_rules if r.times > 0]
            parameters: JSONDict = {}
            if rule.retry_after is not None:
                parameters["retry_after"] = rule.retry_after
            if rule.migrate_to_chat_id is not None:
                parameters["migrate_to_chat_id"] = rule.migrate_to_chat_id
            raise _ApiError(rule.error_code, rule.description, parameters or None)

    # ------------------------------------------------------------------ internals: updates

    def _confirm(self, offset: Any) -> None:
        if offset is None:
            return
        offset = int(offset)
        before = len(self._queue)
        if offset < 0:  # Telegram: negative offset keeps only the last -offset updates
            keep = sorted(self._queue, key=lambda q: q.update_id)[offset:]
            self._queue = [q for q in self._queue if q in keep]
        else:
            self._queue = [
                q for q in self._queue if q.update_id >= offset or (q.forced and not q.delivered)
            ]
        if len(self._queue) != before:
            self._touch()

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
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
                raise _ApiError(409, _GETUPDATES_CONFLICT)
            if self._queue:
                # Telegram returns updates ordered by update_id; duplicates thus come first
                # and PTB's next offset (last id + 1) confirms the whole batch.
                batch = sorted(self._queue, key=lambda q: q.update_id)[:limit]
                for queued in batch:
                    queued.delivered = True
                self._touch()
                return [copy.deepcopy(q.update) for q in batch]
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
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _set_webhook(self, _method: str, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._queue.clear()
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
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.match(
                str(command.get("command", ""))
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: command description must be non-empty")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.my_commands[key] = commands
        return True

    def _get_my_commands(self, _method: str, params: JSONDict) -> list[JSONDict]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.my_commands.get(key, [])

    def _delete_my_commands(self, _method: str, params: JSONDict) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.my_commands.pop(key, None)
        return True

    def _target_chat(self, params: JSONDict, *, check_access: bool = True) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if raw in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[raw]},
            )
        if not check_access:
            return raw
        if raw in self.blocked_users:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if raw in self._bot_gone:
            raise _ApiError(403, self._bot_gone[raw])
        if self.strict_chats and raw not in self._known_chats:
            if raw > 0:
                raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _ApiError(400, "Bad Request: chat not found")
        return raw

    def _render(self, text: str, parse_mode: Any) -> str:
        if not self.check_formatting and parse_mode:
            if str(parse_mode).lower() == "html":
                return html.unescape(re.sub(r"<[^>]*>", "", text))
            return text
        try:
            return render_text(text, parse_mode if isinstance(parse_mode, str) else None)
        except _EntityError as error:
            raise _ApiError(400, f"Bad Request: can't parse entities: {error}") from None

    def _checked_markup(self, markup: Any, *, inline_only: bool = False) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard markup")
            self._check_size(rows, _INLINE_MAX_BUTTONS, _INLINE_MAX_PER_ROW)
            for button in (b for row in rows for b in row):
                self._check_inline_button(button)
            return markup
        if inline_only:
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: can't parse keyboard markup")
            self._check_size(rows, _REPLY_MAX_BUTTONS, _REPLY_MAX_PER_ROW)
        return markup

    @staticmethod
    def _check_size(rows: list[list[Any]], max_buttons: int, max_per_row: int) -> None:
        """Telegram's observed keyboard limits (see _INLINE_MAX_BUTTONS)."""
        count = sum(len(row) for row in rows)
        widest = max((len(row) for row in rows), default=0)
        size = len(json.dumps(rows, ensure_ascii=False).encode("utf-8"))
        if count > max_buttons or widest > max_per_row or size > _MARKUP_MAX_BYTES:
            raise _ApiError(400, _MARKUP_TOO_LONG)

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _ApiError(400, "Bad Request: can't parse inline keyboard button: Text expected")
        actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
        if not actions:
            raise _ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard",
            )
        if "callback_data" in button:
            data = button["callback_data"]
            low, high = _CALLBACK_DATA_BYTES
            if not isinstance(data, str) or not low <= len(data.encode("utf-8")) <= high:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button and not button["url"]:
            raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")

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
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return {"reply_to_message": self._without_reply(original)}

    def _caption(self, params: JSONDict) -> tuple[str | None, str]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, ""
        plain = self._render(str(caption), params.get("parse_mode"))
        if _utf16_len(plain) > _CAPTION_MAX:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return str(caption), plain

    def _record_bot_message(
        self,
        method: str,
        params: JSONDict,
        chat_id: int,
        fields: JSONDict,
        markup: JSONDict | None,
        sent: SentMessage,
    ) -> JSONDict:
        fields = {**fields, **self._reply_fields(chat_id, params)}
        if markup is not None and "inline_keyboard" in markup:
            fields["reply_markup"] = markup  # Telegram echoes only inline keyboards
        message = self._new_message(chat_id, copy.deepcopy(self.bot_user), fields)
        sent.message_id = message["message_id"]
        self.sent.append(sent)
        self._sent_by_key[(chat_id, sent.message_id)] = sent
        self._notify()
        return copy.deepcopy(message)

    def _send_message(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        plain = self._render(text, parse_mode)
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > _TEXT_MAX:
            raise _ApiError(400, "Bad Request: message is too long")
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
        return self._record_bot_message(method, params, chat_id, {"text": plain}, markup, sent)

    def _input_file(
        self, params: JSONDict, name: str, mime_type: str, folder: str
    ) -> tuple[_StoredFile | None, str | None]:
        """Resolve a file parameter: multipart part, attach://, known file_id, or URL.
        Returns (stored file or None for a URL, url)."""
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            stored = self._store_file(
                value.content, value.filename, value.mime_type or mime_type, folder, None
            )
            return stored, None
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value], None
            if value.startswith(("http://", "https://")):
                return None, value
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise _ApiError(400, f"Bad Request: there is no {name} in the request")

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
        return self._record_bot_message(method, params, chat_id, fields, markup, sent)

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
        return self._record_bot_message(method, params, chat_id, fields, markup, sent)

    @staticmethod
    def _poll_options(raw: Any) -> list[str]:
        if not isinstance(raw, list):
            raise _ApiError(400, "Bad Request: can't parse options JSON object")
        texts: list[str] = []
        for option in raw:  # InputPollOption objects (PTB 22) or plain strings
            text = option.get("text") if isinstance(option, dict) else option
            if isinstance(text, int | float) and not isinstance(text, bool):
                text = str(text)
            if not isinstance(text, str):
                raise _ApiError(400, "Bad Request: can't parse InputPollOption JSON object")
            texts.append(text.strip())
        if len(texts) < _POLL_MIN_OPTIONS:
            raise _ApiError(400, f"Bad Request: poll must have at least {_POLL_MIN_OPTIONS} option")
        if len(texts) > _POLL_MAX_OPTIONS:
            raise _ApiError(
                400, f"Bad Request: poll can't have more than {_POLL_MAX_OPTIONS} options"
            )
        for text in texts:
            if not text:
                raise _ApiError(400, "Bad Request: poll options must be non-empty")
            if _utf16_len(text) > _POLL_OPTION_MAX:
                raise _ApiError(
                    400, f"Bad Request: poll options length must not exceed {_POLL_OPTION_MAX}"
                )
        return texts

    def _send_poll(self, method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        raw_question = params.get("question")
        question = raw_question.strip() if isinstance(raw_question, str) else ""
        if not question:
            raise _ApiError(400, "Bad Request: poll question must be non-empty")
        if _utf16_len(question) > _POLL_QUESTION_MAX:
            raise _ApiError(
                400, f"Bad Request: poll question length must not exceed {_POLL_QUESTION_MAX}"
            )
        texts = self._poll_options(params.get("options"))
        kind = params.get("type") or "regular"
        if kind not in ("regular", "quiz"):
            raise _ApiError(400, "Bad Request: unsupported poll type specified")
        markup = self._checked_markup(params.get("reply_markup"))
        poll: JSONDict = {
            "id": str(next(self._poll_ids)),
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
            if not _POLL_OPEN_PERIOD[0] <= open_period <= _POLL_OPEN_PERIOD[1]:
                raise _ApiError(400, "Bad Request: wrong open period specified")
            poll["open_period"] = open_period
            poll["close_date"] = _now() + open_period
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
        message = self._record_bot_message(method, params, chat_id, fields, markup, sent)
        self._polls[poll["id"]] = _PollState(sent, {})
        return message

    def _sync_poll(self, state: _PollState) -> None:
        # The stored message (what callback queries and replies embed) follows the poll.
        sent = state.sent
        stored = self._messages.get((sent.chat_id, sent.message_id))
        if stored is not None:
            stored["poll"] = copy.deepcopy(sent.poll)
        self._notify()

    def _stop_poll(self, _method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _ApiError(400, "Bad Request: message with poll to stop not found")
        sent = self._sent_by_key.get((chat_id, message_id))
        if sent is None or sent.poll is None:
            raise _ApiError(400, "Bad Request: message is not a poll")
        if sent.poll["is_closed"]:
            raise _ApiError(400, "Bad Request: poll has already been closed")
        # Unlike an edit, stopPoll keeps the inline keyboard unless it passes a new one.
        if params.get("reply_markup") is not None:
            markup = self._checked_markup(params["reply_markup"], inline_only=True)
            sent.reply_markup = markup
            message["reply_markup"] = markup
        sent.poll["is_closed"] = True
        self._sync_poll(self._polls[sent.poll["id"]])
        self._queue_update({"poll": copy.deepcopy(sent.poll)})
        return copy.deepcopy(sent.poll)

    def _edit_message(self, method: str, params: JSONDict) -> JSONDict | bool:
        kind = method.lower()
        if params.get("inline_message_id"):
            self._checked_markup(params.get("reply_markup"), inline_only=True)
            self.edits.append({"method": method, **params})
            self._notify()
            return True
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        message = self._messages.get((chat_id, message_id))
        sent = self._sent_by_key.get((chat_id, message_id))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if sent is None:
            raise _ApiError(400, "Bad Request: message can't be edited")
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._checked_markup(params.get("reply_markup"), inline_only=True)
        parse_mode = params.get("parse_mode")
        if kind == "editmessagetext":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _ApiError(400, "Bad Request: message text is empty")
            if "text" not in message:
                raise _ApiError(400, "Bad Request: there is no text in the message to edit")
            plain = self._render(text, parse_mode)
            if _utf16_len(plain) > _TEXT_MAX:
                raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            if (text, parse_mode, markup) == (sent.text, sent.parse_mode, sent.reply_markup):
                raise _ApiError(400, _NOT_MODIFIED)
            sent.text, sent.plain, sent.parse_mode = text, plain, parse_mode
            message["text"] = plain
        elif kind == "editmessagecaption":
            if "text" in message or "poll" in message:
                raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
            caption, plain = self._caption(params)
            if (caption, parse_mode, markup) == (sent.caption, sent.parse_mode, sent.reply_markup):
                raise _ApiError(400, _NOT_MODIFIED)
            sent.caption, sent.plain, sent.parse_mode = caption, plain, parse_mode
            if caption is None:
                message.pop("caption", None)
            else:
                message["caption"] = plain
        elif markup == sent.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        sent.reply_markup = markup
        sent.edit_count += 1
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = _now()
        self.edits.append({"method": method, **params})
        self._notify()
        return copy.deepcopy(message)

    def _delete_message(self, _method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        sent = self._sent_by_key.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True
        self.deleted.append((chat_id, message_id))
        self._notify()
        return True

    def _answer_callback_query(self, _method: str, params: JSONDict) -> bool:
        if str(params.get("callback_query_id")) not in self._known_callbacks:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answers.append(params)
        self._notify()
        return True

    def _send_chat_action(self, _method: str, params: JSONDict) -> bool:
        self._target_chat(params)
        return True

    def _pin_chat_message(self, _method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if (chat_id, message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to pin not found")
        self.pinned[chat_id] = message_id
        return True

    def _get_chat(self, _method: str, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params, check_access=False)
        if self.strict_chats and chat_id not in self._known_chats:
            raise _ApiError(400, "Bad Request: chat not found")
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
        self._bot_gone[chat_id] = (
            f"Forbidden: bot is not a member of the {self._chat_type(chat_id)} chat"
        )
        return True

    def _get_file(self, _method: str, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


__all__ = ["FakeTelegram", "SentMessage", "UploadedFile", "render_text"]
