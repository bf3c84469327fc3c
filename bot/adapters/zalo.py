"""Zalo on the Zalo Bot Platform API (our own client, bot/adapters/zalo_api.py).

Zalo bots have no buttons, polls, uploads or edits, so messages are rendered for it:
buttons become numbered choices ("Trả lời 1, 2 hoặc 3") that a reply of "2" — or "1,3" for
multi-select — presses; files and charts become signed download links served by the bot's
own web server (charts via sendPhoto with such a link); long texts are split at 2,000
characters on line boundaries; polls arrive as numbered text polls.

Errors follow the Zalo Bot Platform's error table (bot.zapps.me/docs/error-code/): 400 bad
request and 404 not found are final for that message; 401 (token invalid or expired) stops the
adapter with a plain message; 403 is listed as "Internal server error" and 408 as "Request
timeout", so on a send both are retried like any server fault (a member is never marked
unreachable by them: Zalo documents no error for a user who blocked the bot); 429 is "Quota
exceeded", handled with growing pauses (bot/adapters/zalo_quota.py). Groups: `getMe` tells
whether the bot may join groups (`can_join_groups`, false for ordinary bots while Zalo marks
group chats "Sắp ra mắt"); while it is false the bot offers no group features on Zalo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

import httpx

from bot.app import App
from bot.chat import Capabilities, Document, Event, Message
from bot.config import Settings
from bot.i18n import Translator
from bot.links import file_url
from bot.ratelimit import Limits, RateLimiter
from bot.sending import Halted, RateLimited, Rejected, SendError, Transient
from bot.textutil import CHOICE_REPLY, choice_by_label
from models import chat_extras, groups, members

from .zalo_api import MAX_TEXT, ZaloApi, ZaloApiError, ZaloUpdate, mask_token, split_for_zalo
from .zalo_quota import QuotaPolicy, QuotaWatch

log = logging.getLogger(__name__)

CAPS = Capabilities(
    inline_buttons=False,
    native_polls=False,
    request_contact=False,
    max_text_length=MAX_TEXT,
    groups=False,  # until getMe says can_join_groups (closed to ordinary bots for now)
)
ATTACHMENTS = {
    "message.image.received": "photo",
    "message.sticker.received": "sticker",
    "message.voice.received": "voice",
    "message.unsupported.received": "file",
}


class ZaloStartupError(RuntimeError):
    """The token is refused or the API cannot be reached at start: say so plainly."""


def token_refused(token: str) -> str:
    """What the operator reads when Zalo answers 401 (in Vietnamese, then English)."""
    masked = mask_token(token)
    return (
        f"Token Zalo bị từ chối (401: token hết hạn hoặc không hợp lệ, token {masked}). "
        "Kiểm tra zalo.token hoặc CONGDOAN_ZALO_TOKEN (lấy trong Zalo Bot Creator); bot "
        "ngừng dùng Zalo cho tới khi khởi động lại. / Zalo refused the bot token (401: "
        f"expired or invalid, token {masked}); Zalo is stopped until the bot is restarted."
    )


class ZaloAdapter:
    platform = "zalo"
    caps = CAPS

    def __init__(self, app: App, settings: Settings, limits: Limits | None = None) -> None:
        self.app = app
        self.settings = settings
        conf = settings.zalo
        self.api = ZaloApi(
            conf.token.get_secret_value(), base_url=conf.base_url, timeout=conf.request_timeout
        )
        self.limiter = RateLimiter(limits or Limits(global_count=8, group_count=10))
        pace = settings.delivery.zalo
        self.quota = QuotaWatch(
            app.clock,
            QuotaPolicy(
                first_pause=pace.quota_first_pause_seconds,
                max_pause=pace.quota_max_pause_minutes * 60,
                exhausted_after=pace.quota_pause_after_minutes * 60,
            ),
        )
        self.username = ""
        self.halted: str | None = None  # why the adapter stopped itself (a refused token)
        self._told_groups: set[str] = set()  # groups told that the bot does not work there
        self._stop = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._groups: set[str] = set()  # group chat ids seen, for the per-group rate limit

    @property
    def can_join_groups(self) -> bool:
        """What getMe said: False for ordinary bots while Zalo keeps groups closed to them."""
        return self.caps.groups

    # --- lifecycle -------------------------------------------------------------------------
    async def identify(self) -> dict[str, Any]:
        """getMe: checks the token and learns the bot's name and whether it may join groups."""
        try:
            me = await self.api.get_me()
        except ZaloApiError as exc:
            if exc.error_code == 401:
                raise ZaloStartupError(
                    token_refused(self.settings.zalo.token.get_secret_value())
                ) from exc
            raise ZaloStartupError(
                f"Zalo trả lỗi khi khởi động ({exc.error_code}: {exc.description}); thử lại sau."
            ) from exc
        except httpx.HTTPError as exc:
            raise ZaloStartupError(
                f"Không kết nối được Zalo ({type(exc).__name__}). Kiểm tra mạng hoặc zalo.base_url."
            ) from exc
        self.username = str(me.get("account_name") or me.get("display_name") or "")
        self.caps = replace(CAPS, groups=me.get("can_join_groups") is True)
        return me

    async def start(self, *, polling: bool = True) -> None:
        await self.identify()
        conf = self.settings.zalo
        self.app.beats.started(self.platform, polling=polling)
        if polling:
            try:
                await self.api.delete_webhook()  # getUpdates does not work while one is set
            except (ZaloApiError, httpx.HTTPError) as exc:
                log.info("deleteWebhook: %s", exc)
            self._stop.clear()
            self._poller = asyncio.create_task(self._poll_loop(), name="zalo-polling")
        else:
            await self.api.set_webhook(conf.webhook_url, conf.webhook_secret.get_secret_value())

    async def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.drain()
        await self.api.aclose()

    @property
    def polling(self) -> bool:
        """Whether the getUpdates loop runs (it ends when Zalo refuses the token)."""
        return self._poller is not None and not self._poller.done()

    def must_wait(self, chat_id: str) -> bool:
        return self.limiter.chat_would_wait(chat_id, is_group=chat_id in self._groups)

    def private_link(self, start: str) -> str | None:
        return None  # Zalo has no deep links to a bot chat

    # --- in ---------------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        """One update per getUpdates (no offset: what came back is ours to handle). Network
        trouble and server errors back off and retry; 408 is the normal "nothing new"."""
        backoff = 1.0
        while not self._stop.is_set():
            try:
                update = await self.api.get_updates(timeout=self.settings.zalo.poll_timeout)
            except (ZaloApiError, httpx.HTTPError) as exc:
                if isinstance(exc, ZaloApiError) and exc.error_code == 401:
                    self.app.beats.refused(self.platform)  # /healthz and the admin chat
                    self._halt()
                    return
                log.warning("Zalo getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            self.app.beats.answered(self.platform)  # updates or "nothing new" (408)
            if update is not None:
                self.accept(update)

    def accept(self, update: ZaloUpdate) -> None:
        """Handle an update in the background (the core keeps each person's events in order:
        tasks start in arrival order and take the person's lock first)."""
        task = asyncio.create_task(self.handle_update(update))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def drain(self) -> None:
        """Until every accepted update has been handled (handling one may accept none more,
        but new pushes may arrive meanwhile: loop until none is left)."""
        while self._handling:
            await asyncio.gather(*list(self._handling), return_exceptions=True)

    async def handle_update(self, update: ZaloUpdate) -> None:
        try:
            for event in await self.to_events(update):
                await self.app.handle(event)
        except Exception:
            log.exception("Zalo update %s failed", update.message_id)

    def _halt(self) -> None:
        """A refused token (401): stop polling and sending on Zalo, once, and say why."""
        if self.halted is None:
            self.halted = token_refused(self.settings.zalo.token.get_secret_value())
            log.error("%s", self.halted)
            self.app.beats.refused(self.platform, tell=False)  # /healthz (sends: delivery tells)
        self._stop.set()

    async def to_events(self, update: ZaloUpdate) -> list[Event]:
        if update.chat_type == "group" and not self.caps.groups:
            await self._groups_closed(update.chat_id)
            return []
        if update.chat_type == "group":
            self._groups.add(update.chat_id)
        base: dict[str, Any] = dict(
            platform=self.platform,
            event_id=f"z{update.message_id}",
            chat_id=update.chat_id,
            chat_kind=update.chat_type,
            user_id=update.user_id,
            user_name=update.display_name,
        )
        if update.event_name in ATTACHMENTS:
            return [Event(**base, attachment=ATTACHMENTS[update.event_name], text=update.text)]
        if update.event_name != "message.text.received" or update.text is None:
            log.info("Zalo event %s ignored", update.event_name)
            return []
        text = self._without_mention(update.text).strip()
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            return [Event(**base, command=name.lower(), args=args.strip())]
        if CHOICE_REPLY.match(text):
            async with self.app.db.session() as session:
                choices = []
                if update.chat_type == "group":  # this person's own menu first
                    own = _choice_key(update.chat_id, update.user_id)
                    choices = await chat_extras.load_choices(session, self.platform, own)
                if not choices:
                    choices = await chat_extras.load_choices(session, self.platform, update.chat_id)
            numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
            if choices and all(1 <= n <= len(choices) for n in numbers):
                # "1,3" on a multi-select is two presses, in order.
                return [
                    Event(
                        **{**base, "event_id": f"z{update.message_id}.{i}"}, payload=choices[n - 1]
                    )
                    for i, n in enumerate(numbers)
                ]
        elif update.chat_type != "group" and text:
            # A choice's label typed out ("Gửi đăng ký", "bo qua") presses it, as its number.
            async with self.app.db.session() as session:
                payloads, labels = await chat_extras.load_menu(
                    session, self.platform, update.chat_id
                )
            named = choice_by_label(text, labels)
            if named is not None:
                return [Event(**base, payload=payloads[named])]
        return [Event(**base, text=text)]

    async def _groups_closed(self, chat_id: str) -> None:
        """Zalo says this bot may not join groups (getMe): nothing is done in one, and the
        group is told once (per run) to write to the bot in private instead."""
        log.info("Zalo group message ignored: the bot may not join groups (can_join_groups)")
        if chat_id in self._told_groups:
            return
        self._told_groups.add(chat_id)
        try:
            await self._call(
                chat_id, partial(self.api.send_message, chat_id, self._closed_text()), paced=False
            )
        except SendError as exc:
            log.info("could not tell a Zalo group that groups are closed: %s", exc)

    def _closed_text(self) -> str:
        return self.app.translator(None)("zalo.groups_closed")

    def _without_mention(self, text: str) -> str:
        """In groups the bot only sees messages that mention it: drop the leading mention."""
        if self.username and text.lstrip().startswith("@" + self.username):
            return text.lstrip()[len(self.username) + 1 :]
        return text

    # --- out --------------------------------------------------------------------------------
    async def send(self, chat_id: str, message: Message, *, bulk: bool = False) -> str | None:
        t = await self._translator(chat_id)
        payloads = [b.payload for row in message.buttons for b in row if b.payload]
        labels = [b.label for row in message.buttons for b in row if b.payload]
        key = _choice_key(chat_id, message.for_user) if message.for_user else chat_id
        shown: tuple[list[str], list[str]] = ([], [])
        if payloads and message.more_choices:  # the card before it is still on screen
            async with self.app.db.session() as session:
                shown = await chat_extras.load_menu(session, self.platform, key)
        text = self._render(t, message, payloads, first=len(shown[0]) + 1)
        links = []
        async with self.app.db.session() as session:
            in_group = chat_id in self._groups or (
                await groups.find(session, self.platform, chat_id) is not None
            )
            if in_group and (payloads or message.poll is not None) and self.username:
                # The bot only sees group messages that mention it: say how to answer.
                text += "\n" + t("zalo.group_hint", bot=self.username)
            for doc in (message.document,):
                if doc is not None:
                    links.append(f"📎 {doc.filename}: {await self._share(session, doc)}")
            photo_url = await self._share(session, message.image) if message.image else None
            if message.poll is not None or (
                payloads and in_group and not message.for_user and not message.more_choices
            ):
                # A poll or a menu for the whole group: older menus there, everyone's own
                # included, must not take the next "1".
                await chat_extras.clear_choices(session, self.platform, chat_id)
            if payloads:
                await chat_extras.save_choices(
                    session,
                    self.platform,
                    key,
                    shown[0] + payloads,
                    self.app.clock.now(),
                    labels=shown[1] + labels,
                )
            elif message.for_user:  # their menu is over (sent, cancelled, answered)
                await chat_extras.clear_one(session, self.platform, key)
            await session.commit()
        if links:
            text = (text + "\n\n" if text else "") + "\n".join(links)
        calls: list[Callable[[], Awaitable[dict[str, Any]]]] = []
        if photo_url is not None:
            calls.append(lambda: self.api.send_photo(chat_id, photo_url))
        calls += [partial(self.api.send_message, chat_id, c) for c in split_for_zalo(text)]
        ref = None
        for index, call in enumerate(calls):
            if index == 0:
                ref = await self._call(chat_id, call, paced=bulk)
            else:
                ref = await self._later_part(chat_id, call)
        return ref

    async def _later_part(self, chat_id: str, call: Any) -> str:
        """Parts after the first: a retry of the whole message would repeat what already went
        out, so wait out a 429 here, and report any other failure as maybe delivered."""
        for _ in range(3):
            try:
                return await self._call(chat_id, call, paced=False)
            except RateLimited as limited:
                if limited.retry_after > 60:  # a used-up quota: the rest cannot follow soon
                    raise Transient("partly sent: quota", maybe_delivered=True) from limited
                await asyncio.sleep(limited.retry_after)
            except Halted:
                raise
            except SendError as exc:
                raise Transient(f"partly sent: {exc}", maybe_delivered=True) from exc
        raise Transient("partly sent: rate limited", maybe_delivered=True)

    def _render(self, t: Translator, message: Message, payloads: list[str], first: int = 1) -> str:
        lines = [message.text] if message.text else []
        numbered = [b for row in message.buttons for b in row if b.payload]
        links = [b for row in message.buttons for b in row if b.url and not b.payload]
        if numbered:
            lines.append("")
            lines += [f"{i}. {b.label}" for i, b in enumerate(numbered, start=first)]
            numbers = [str(i) for i in range(first, first + len(numbered))]
            choices = (
                numbers[0]
                if len(numbers) == 1
                else ", ".join(numbers[:-1]) + f" {t('zalo.or')} {numbers[-1]}"
            )
            lines.append(t("zalo.reply_with", choices=choices))
        for button in links:
            lines.append(f"🔗 {button.label}: {button.url}")
        return "\n".join(lines)

    async def _translator(self, chat_id: str) -> Any:
        async with self.app.db.session() as session:
            identity = await members.identity(session, self.platform, chat_id)
        return self.app.translator(identity.language if identity else None)

    async def _share(self, session: Any, doc: Document) -> str:
        now = self.app.clock.now()
        hours = self.settings.web.link_hours
        row = await chat_extras.share_file(
            session, doc.filename, doc.mime_type, doc.content, now, hours
        )
        return file_url(self.settings, row.id, row.name, row.expires_at)

    async def _call(self, chat_id: str, call: Any, paced: bool) -> str:
        """One API call behind the rate limiter, its errors in neutral terms."""
        if self.halted is not None:
            raise Halted(self.halted)
        if not paced:
            await self.limiter.acquire(chat_id, is_group=chat_id in self._groups, urgent=True)
        try:
            result = await call()
        except ZaloApiError as exc:
            raise self._neutral(exc) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(type(exc).__name__, maybe_delivered=False) from exc
        except httpx.HTTPError as exc:  # the request may have reached Zalo
            raise Transient(type(exc).__name__, maybe_delivered=True) from exc
        self.quota.succeeded()
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return f"{chat_id}:{message_id or ''}"

    def _neutral(self, exc: ZaloApiError) -> SendError:
        """Zalo's error table in neutral terms (see the module docstring)."""
        code = exc.error_code
        if code == 429:
            return self.quota.refused(exc.retry_after)
        if code == 401:
            self._halt()
            return Halted(self.halted or "401")
        if code in (403, 408) or code >= 500:
            # The table: 403 "Internal server error", 408 "Request timeout": faults on Zalo's
            # side, retried with backoff. Nothing in the docs says such a message went out.
            return Transient(f"{code}: {exc.description}", maybe_delivered=False)
        return Rejected(f"{code}: {exc.description}")


def _choice_key(chat_id: str, user_id: str) -> str:
    return f"{chat_id}/{user_id}"
