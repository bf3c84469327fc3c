"""Telegram on python-telegram-bot: updates in (polling or webhook), native rendering out."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx

# Opt in to PTB's coming behaviour (durations as timedelta) instead of deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "1")
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonWebApp,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.adapters.telegram_watch import WatchedPolls
from bot.app import App
from bot.chat import Capabilities, Contact, Event, FileRef, Message, PollAnswer, PollState
from bot.config import TelegramSection
from bot.ratelimit import Limits, RateLimiter
from bot.sending import (
    ChatMoved,
    Halted,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    Unreachable,
)
from bot.textutil import split_text, utf16_len
from bot.webui import entry

log = logging.getLogger(__name__)

CAPS = Capabilities(
    inline_buttons=True,
    native_polls=True,
    request_contact=True,
    max_text_length=4096,
)
# Telegram's limits, in UTF-16 code units as it counts them (an emoji counts two): "Text of the
# message to be sent, 1-4096 characters after entities parsing", a caption "0-1024 characters
# after entities parsing" (https://core.telegram.org/bots/api#sendmessage, #senddocument);
# "UTF-16 is used when computing the length and offsets of entities in the MTProto and bot
# APIs, by counting the number of UTF-16 code units" (https://core.telegram.org/api/entities).
# Longer text is split; a caption that does not fit follows its file as text.
TEXT_LIMIT = 4096
# What the operator reads when Telegram refuses the token on a send (no token in it).
TOKEN_REFUSED = (
    "Telegram từ chối token của bot (401: token đã bị thu hồi hoặc không hợp lệ); bot ngừng "
    "gửi tin Telegram cho tới khi khởi động lại, các tin còn lại vẫn chờ trong hàng đợi. / "
    "Telegram refused the bot token; Telegram sending is stopped until a restart, queued "
    "messages stay queued."
)
CAPTION_LIMIT = 1024
ATTACHMENTS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "venue",
    "poll",
    "dice",
    "game",
)
# What the bot asks for when a board adds it to a group with its link: pinning announcements,
# and invite_users, which approveChatJoinRequest needs ("must have the can_invite_users
# administrator right", https://core.telegram.org/bots/api#approvechatjoinrequest).
GROUP_RIGHTS = ("pin_messages", "invite_users")
PRESENT = {
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.OWNER,
    ChatMemberStatus.RESTRICTED,
}


class TelegramAdapter:
    platform = "telegram"
    caps = CAPS

    def __init__(
        self,
        app: App,
        settings: TelegramSection,
        limits: Limits | None = None,
        paid_limits: Limits | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """`name`: another bot of the deployment ([[telegram.bots]]); None: the main bot."""
        self.app = app
        self.settings = settings
        self.name = name
        self.bot_key = f"telegram:{name}" if name else "telegram"
        # Mini Apps need an https page, and their data is checked with the main bot's token.
        if name is None and entry.mini_app_enabled(app.settings):
            self.caps = replace(CAPS, web_app=True)
        # One limiter for everything this bot sends: broadcasts and direct replies alike.
        self.limiter = RateLimiter(limits or Limits())
        # Paid broadcasts (allow_paid_broadcast) have a lane of their own, up to 1,000/s.
        self.paid_limiter: Any = RateLimiter(paid_limits) if paid_limits else None
        self._pending: set[asyncio.Task[None]] = set()
        self.username: str = ""
        # Command menus that failed at start are retried, first after this many seconds.
        self.menu_retry_base = 5.0
        self._menus_retry: asyncio.Task[None] | None = None
        self.application: Application = (
            ApplicationBuilder()
            .token(settings.token.get_secret_value())
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            .read_timeout(settings.request_timeout)
            .write_timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            # Different users run concurrently; the core keeps each user's events in order.
            .concurrent_updates(64)
            # Every answer to getUpdates is a heartbeat for /healthz (bot/monitoring/).
            .get_updates_request(
                WatchedPolls(
                    lambda: app.beats.answered(self.bot_key),
                    lambda: app.beats.refused(self.bot_key),
                )
            )
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, *, polling: bool = True, poll_timeout: int = 30) -> None:
        await self.application.initialize()
        self.username = self.application.bot.username
        try:
            await self.set_command_menus()
        except TelegramError as exc:  # a menu is a convenience: never a reason not to start
            log.warning("could not set the command menus (%s); retrying in the background", exc)
            self._menus_retry = asyncio.create_task(self._retry_command_menus())
        await self.application.start()
        self.app.beats.started(self.bot_key, polling=polling)
        if polling:
            await self.application.bot.delete_webhook()
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
            )
        else:
            await self.application.bot.set_webhook(
                self.settings.webhook_url,
                allowed_updates=Update.ALL_TYPES,
                secret_token=self.settings.webhook_secret.get_secret_value(),
            )

    async def _retry_command_menus(self) -> None:
        delay = self.menu_retry_base
        for _ in range(20):
            await asyncio.sleep(delay)
            try:
                await self.set_command_menus()
                log.info("command menus set")
                return
            except TelegramError as exc:
                log.warning("command menus still not set (%s)", exc)
                delay = min(delay * 2, 600.0)

    async def stop(self) -> None:
        if self._menus_retry is not None:
            self._menus_retry.cancel()
        updater = self.application.updater
        if updater is not None and updater.running:
            try:
                await updater.stop()
            except TelegramError as exc:  # polling had ended on it (a refused token)
                log.warning("polling had stopped: %s", exc)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def put_update(self, data: dict[str, Any]) -> None:
        """Webhook entry: queue a raw update exactly as polling would."""
        await self.application.update_queue.put(Update.de_json(data, self.application.bot))

    async def set_command_menus(self) -> None:
        from bot.menus import command_menus

        bot = self.application.bot
        for language in ("vi", "en"):
            menus = await command_menus(self.app, self.platform, language)
            code = None if language == self.app.settings.bot.language else language
            await bot.set_my_commands(
                _commands(menus["private"]),
                scope=BotCommandScopeAllPrivateChats(),
                language_code=code,
            )
            await bot.set_my_commands(
                _commands(menus["group"]), scope=BotCommandScopeAllGroupChats(), language_code=code
            )
            for chat_id in menus["board_chats"]:
                await bot.set_my_commands(
                    _commands(menus["board"]),
                    scope=BotCommandScopeChat(int(chat_id)),
                    language_code=code,
                )
        if self.caps.web_app:  # the bot's menu button opens the registration form
            label, url = entry.menu_button(self.app.settings)
            await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(label, WebAppInfo(url)))

    # --- in ---------------------------------------------------------------------------------
    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        # Nothing may be awaited before the core takes the user's lock, or a later update of
        # the same person could overtake this one; the button spinner is stopped alongside.
        if update.callback_query is not None:
            answer = asyncio.create_task(self._answer(update.callback_query))
            self._pending.add(answer)
            answer.add_done_callback(self._pending.discard)
        for event in self.to_events(update):
            await self.app.handle(event)

    async def _answer(self, query: Any) -> None:
        try:
            await self._call(str(query.from_user.id), query.answer, paced=True, urgent=True)
        except SendError as exc:
            log.info("callback query too old to answer: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else "?"
        log.error("telegram error on update %s", update_id, exc_info=context.error)

    def must_wait(self, chat_id: str) -> bool:
        return self.limiter.chat_would_wait(chat_id, is_group=chat_id.startswith("-"))

    def private_link(self, start: str) -> str | None:
        if not self.username:
            return None
        return f"https://t.me/{self.username}" + (f"?start={start}" if start else "")

    def group_link(self, start: str) -> str | None:
        """A link that adds the bot to a group the person picks, as an administrator with
        the rights it needs there, and then sends `/start <start>` into that group
        (https://core.telegram.org/api/links#bot-links: `?startgroup=<param>&admin=<rights>`,
        the rights joined by "+")."""
        if not self.username:
            return None
        rights = "+".join(GROUP_RIGHTS)
        return f"https://t.me/{self.username}?startgroup={start}&admin={rights}"

    async def answer_join_request(self, chat_id: str, user_id: str, *, approve: bool) -> str:
        """Approve or decline someone's request to join a group (the bot needs the
        can_invite_users right). "done"; "gone" when there is no such request any more
        (another admin handled it, or it was withdrawn: HIDE_REQUESTER_MISSING); "member"
        when they are in the group already (USER_ALREADY_PARTICIPANT). Other refusals raise
        a SendError."""
        bot = self.application.bot
        method = bot.approve_chat_join_request if approve else bot.decline_chat_join_request
        try:
            await self._call(
                chat_id, lambda: method(int(chat_id), int(user_id)), paced=False, urgent=True
            )
        except Rejected as exc:
            reason = str(exc).upper()
            if "HIDE_REQUESTER_MISSING" in reason:
                return "gone"
            if "USER_ALREADY_PARTICIPANT" in reason:
                return "member"
            raise
        return "done"

    def _event_key(self, update: Update) -> str:
        """What makes an update the same update when it comes again. Telegram's update_id
        restarts with a new token and may jump after a quiet week, so a message is known by
        its chat and message id and a button press by its query id; the rest (poll answers,
        membership changes) by update_id, with the bot's id so another token's do not clash."""
        bot = self.settings.token.get_secret_value().partition(":")[0]  # the public bot id
        message = update.message
        if update.callback_query is not None:
            return f"c{update.callback_query.id}"
        if message is not None:
            return f"m{bot}:{message.chat.id}:{message.message_id}"
        return f"u{bot}:{update.update_id}"

    def to_events(self, update: Update) -> list[Event]:
        uid = self._event_key(update)
        if update.callback_query is not None:
            query = update.callback_query
            msg = query.message
            chat = msg.chat if msg is not None else None
            if chat is None or query.data is None:
                return []
            ref = f"{chat.id}:{msg.message_id}" if msg is not None else None
            return [
                self._event(
                    uid,
                    chat.id,
                    chat.type,
                    query.from_user,
                    payload=query.data,
                    message_ref=ref,
                    chat_title=chat.title or "",
                    thread_id=_topic(msg),
                )
            ]
        if update.my_chat_member is not None:
            change = update.my_chat_member
            chat = change.chat
            if chat.type == ChatType.PRIVATE:
                return []  # blocked/unblocked: the delivery engine learns it from send errors
            was_in = change.old_chat_member.status in PRESENT
            is_in = change.new_chat_member.status in PRESENT
            if was_in == is_in:
                return []
            kind = "bot_added" if is_in else "bot_removed"
            return [
                self._event(
                    uid,
                    chat.id,
                    chat.type,
                    change.from_user,
                    group_change=kind,
                    chat_title=chat.title or "",
                )
            ]
        if update.poll_answer is not None:
            answer = update.poll_answer
            if answer.user is None:
                return []  # answered as a channel: nobody to count
            vote = PollAnswer(answer.poll_id, tuple(answer.option_ids))
            return [
                self._event(uid, answer.user.id, ChatType.PRIVATE, answer.user, poll_answer=vote)
            ]
        if update.poll is not None:
            poll = update.poll
            state = PollState(
                poll.id,
                tuple(o.voter_count for o in poll.options),
                poll.total_voter_count,
                poll.is_closed,
            )
            return [
                Event(
                    platform=self.platform,
                    event_id=uid,
                    chat_id=f"poll:{poll.id}",
                    chat_kind="group",
                    user_id="",
                    user_name="",
                    poll_state=state,
                )
            ]
        if update.chat_join_request is not None:
            request = update.chat_join_request
            return [
                self._event(
                    uid,
                    request.chat.id,
                    request.chat.type,
                    request.from_user,
                    group_change="join_request",
                    chat_title=request.chat.title or "",
                    private_chat_id=str(request.user_chat_id),
                )
            ]
        message = update.message
        if message is None or message.from_user is None:
            return []
        chat = message.chat
        title = chat.title or ""
        topic = _topic(message)
        if message.migrate_to_chat_id:
            return [
                self._event(
                    uid,
                    chat.id,
                    chat.type,
                    message.from_user,
                    chat_title=title,
                    group_change="migrated",
                    new_chat_id=str(message.migrate_to_chat_id),
                )
            ]
        if message.new_chat_members:
            return [
                self._event(
                    f"{uid}.{i}",
                    chat.id,
                    chat.type,
                    person,
                    chat_title=title,
                    group_change="member_joined",
                )
                for i, person in enumerate(message.new_chat_members)
                if not person.is_bot
            ]
        user = message.from_user
        if message.text is not None:
            text = message.text
            if text.startswith("/") and len(text) > 1:
                head, _, args = text[1:].partition(" ")
                name, _, target = head.partition("@")
                if target and target.lower() != self.username.lower():
                    return []  # a command for another bot in the same group
                return [
                    self._event(
                        uid,
                        chat.id,
                        chat.type,
                        user,
                        command=name.lower(),
                        args=args.strip(),
                        chat_title=title,
                        thread_id=topic,
                    )
                ]
            return [
                self._event(
                    uid, chat.id, chat.type, user, text=text, chat_title=title, thread_id=topic
                )
            ]
        if message.contact is not None:
            owner = message.contact.user_id
            contact = Contact(message.contact.phone_number, str(owner) if owner else None)
            return [self._event(uid, chat.id, chat.type, user, contact=contact, chat_title=title)]
        file = _file_ref(message)
        for kind in ATTACHMENTS:
            if getattr(message, kind, None):
                return [
                    self._event(
                        uid,
                        chat.id,
                        chat.type,
                        user,
                        attachment=kind,
                        file=file,
                        text=message.caption,
                        chat_title=title,
                        thread_id=topic,
                    )
                ]
        return []

    def _event(self, event_id: str, chat_id: int, chat_type: str, user: Any, **kw: Any) -> Event:
        name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
        return Event(
            platform=self.platform,
            event_id=event_id,
            chat_id=str(chat_id),
            chat_kind="private" if chat_type == ChatType.PRIVATE else "group",
            user_id=str(user.id) if user else "",
            user_name=name,
            bot=self.bot_key if self.name else None,
            **kw,
        )

    # --- out --------------------------------------------------------------------------------
    async def send(
        self, chat_id: str, message: Message, *, bulk: bool = False, paid: bool = False
    ) -> str | None:
        """Send one message. Direct replies (the default) jump ahead of bulk sends and retry
        once after a 429; the delivery engine passes `bulk=True` after taking its own slot and
        gets every failure as a `SendError` to decide on itself. `paid`: as a paid broadcast
        (`allow_paid_broadcast`, billed in Stars), paced by the paid lane."""
        try:
            return await self._send(
                chat_id, message, first_paced=bulk, urgent=not bulk, paid=paid and bulk
            )
        except Rejected as exc:
            if not (message.thread_id and "thread not found" in str(exc).lower()):
                raise
            # The topic was deleted: the group's main chat rather than nothing.
            log.info("topic %s of %s is gone; sending to the main chat", message.thread_id, chat_id)
            return await self.send(chat_id, replace(message, thread_id=None), bulk=bulk, paid=paid)
        except RateLimited as limited:
            if bulk:
                raise
            await asyncio.sleep(limited.retry_after)
            return await self._send(chat_id, message, first_paced=False, urgent=True, paid=False)

    async def _call(
        self, chat_id: str, call: Any, *, paced: bool, urgent: bool, paid: bool = False
    ) -> Any:
        """One API call behind the rate limiter (the paid lane's for a paid send), its errors
        in neutral terms."""
        limiter = self.paid_limiter if paid and self.paid_limiter is not None else self.limiter
        if not paced:
            await limiter.acquire(chat_id, is_group=chat_id.startswith("-"), urgent=urgent)
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            limiter.pause(seconds)  # exactly as long as told, for every sender of that lane
            raise RateLimited(seconds) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except ChatMigrated as exc:
            raise ChatMoved(str(exc.new_chat_id)) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() or "deactivated" in exc.message.lower():
                raise Unreachable(exc.message) from exc
            raise Rejected(exc.message) from exc
        except (TimedOut, NetworkError) as exc:
            raise Transient(str(exc), maybe_delivered=_maybe_delivered(exc)) from exc
        except InvalidToken as exc:
            # 401: the token was revoked (or 404: it is malformed). No message can go out;
            # failing every queued row would lose them, so the delivery engine stops instead.
            raise Halted(TOKEN_REFUSED) from exc
        except TelegramError as exc:
            raise Rejected(str(exc)) from exc

    async def _send(
        self, chat_id: str, message: Message, *, first_paced: bool, urgent: bool, paid: bool
    ) -> str | None:
        bot = self.application.bot
        cid = int(chat_id)
        markup = _inline(message)
        paced = first_paced  # only the first call of a bulk send was paced by the engine
        # Bot API: "Pass True to allow up to 1000 messages per second, ignoring broadcasting
        # limits for a fee of 0.1 Telegram Stars per message" (every sending method).
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
        # and, every sending method: message_thread_id, "Unique identifier for the target
        # message thread (topic) of the forum; for forum supergroups only".
        if message.thread_id and chat_id.startswith("-"):
            extra["message_thread_id"] = int(message.thread_id)

        async def call(fn: Any) -> Any:
            nonlocal paced
            result = await self._call(chat_id, fn, paced=paced, urgent=urgent, paid=paid)
            paced = False
            return result

        if message.edit_ref and message.document is None and message.attachment is None:
            ref_chat, _, ref_id = message.edit_ref.partition(":")
            if ref_chat == chat_id and utf16_len(message.text) <= TEXT_LIMIT:
                try:
                    await call(
                        lambda: bot.edit_message_text(
                            message.text, chat_id=cid, message_id=int(ref_id), reply_markup=markup
                        )
                    )
                    return message.edit_ref
                except Rejected as exc:
                    if "not modified" in str(exc).lower():
                        return message.edit_ref
                    log.info("edit failed (%s); sending a new message", exc)
        if message.poll is not None:
            poll = message.poll
            sent = await call(
                lambda: bot.send_poll(
                    cid,
                    poll.question,
                    list(poll.options),
                    is_anonymous=poll.anonymous,
                    allows_multiple_answers=poll.multiple,
                    **extra,
                )
            )
            # The native poll id rides along: votes come back with it, not with the chat.
            return f"{chat_id}:{sent.message_id}:{sent.poll.id}"
        if message.image is not None:
            img = message.image
            if utf16_len(message.text) <= CAPTION_LIMIT:
                sent = await call(
                    lambda: bot.send_photo(
                        cid,
                        photo=img.content,
                        caption=message.text or None,
                        reply_markup=markup,
                        **extra,
                    )
                )
                return f"{chat_id}:{sent.message_id}"
            # A caption holds 1,024 units: the picture first, then the whole text.
            await call(lambda: bot.send_photo(cid, photo=img.content, **extra))
            message = replace(message, image=None)
        fits = utf16_len(message.text) <= CAPTION_LIMIT
        if message.document is not None:
            doc = message.document
            sent = await call(
                lambda: bot.send_document(
                    cid,
                    document=doc.content,
                    filename=doc.filename,
                    caption=message.text if fits else "",
                    reply_markup=markup if fits else None,
                    **extra,
                )
            )
            if fits:
                return f"{chat_id}:{sent.message_id}"
            message = replace(message, document=None)  # then the whole text
        if message.attachment is not None:
            file = message.attachment
            send = bot.send_photo if file.kind == "photo" else bot.send_document
            if fits:
                sent = await call(
                    lambda: send(
                        cid,
                        file.file_id,
                        caption=message.text or None,
                        reply_markup=markup,
                        **extra,
                    )
                )
                return await self._maybe_pin(call, message, chat_id, sent.message_id)
            await call(lambda: send(cid, file.file_id, **extra))  # the file, then the whole text
            message = replace(message, attachment=None)
        # Telegram refuses empty text; a buttons-only message still needs a line.
        chunks = split_text(message.text, TEXT_LIMIT, utf16=True) or (["…"] if markup else [])
        sent_id = None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            reply_markup: Any = markup if last else None
            if last and message.request_contact:
                await call(lambda c=chunk: bot.send_message(cid, c, reply_markup=markup, **extra))
                keyboard = ReplyKeyboardMarkup(
                    [[KeyboardButton(message.request_contact, request_contact=True)]],
                    resize_keyboard=True,
                    one_time_keyboard=True,
                )
                sent = await call(lambda k=keyboard: bot.send_message(cid, "⬇️", reply_markup=k))
                return f"{chat_id}:{sent.message_id}"
            if reply_markup is None and not chat_id.startswith("-"):
                # Take down a share-phone keyboard if one is open (no-op otherwise); stateless,
                # so it still works after a restart.
                reply_markup = ReplyKeyboardRemove()
            sent = await call(
                lambda c=chunk, m=reply_markup: bot.send_message(cid, c, reply_markup=m, **extra)
            )
            sent_id = sent.message_id
        if sent_id is None:
            return None
        return await self._maybe_pin(call, message, chat_id, sent_id)

    async def stop_poll(self, message_ref: str) -> None:
        """Close a native poll (at its deadline): no more answers in the app."""
        chat_id, _, message_id = message_ref.partition(":")
        await self._call(
            chat_id,
            lambda: self.application.bot.stop_poll(int(chat_id), int(message_id)),
            paced=False,
            urgent=False,
        )

    async def _maybe_pin(self, call: Any, message: Message, chat_id: str, message_id: int) -> str:
        if message.pin and chat_id.startswith("-"):
            try:
                await call(
                    lambda: self.application.bot.pin_chat_message(
                        int(chat_id), message_id, disable_notification=True
                    )
                )
            except SendError as exc:  # the bot may lack the right to pin: the message stands
                log.info("could not pin in a group: %s", exc)
        return f"{chat_id}:{message_id}"


def _topic(message: Any) -> str | None:
    """The forum topic a message is in. Bot API: `message_thread_id` is "Unique identifier of
    a message thread to which the message belongs; for supergroups only", `is_topic_message`
    "True, if the message is sent to a forum topic". Replies in a group without topics also
    carry a thread id; only a forum topic is a place to answer in."""
    if message is None or not getattr(message, "is_topic_message", False):
        return None
    thread = getattr(message, "message_thread_id", None)
    return str(thread) if thread else None


def _file_ref(message: Any) -> FileRef | None:
    if message.photo:
        biggest = message.photo[-1]
        return FileRef("telegram", "photo", biggest.file_id, size=biggest.file_size or 0)
    if message.document:
        doc = message.document
        return FileRef(
            "telegram",
            "document",
            doc.file_id,
            doc.file_name or "",
            doc.mime_type or "",
            doc.file_size or 0,
        )
    return None


def _maybe_delivered(exc: TelegramError) -> bool:
    """Could the request have reached Telegram before failing? Only errors raised before
    the request was written (connect, pool) are sure not to have."""
    cause = exc.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return False
    if isinstance(exc, TimedOut) and "pool" in str(exc).lower():
        return False
    # An HTTP 5xx answer means Telegram looked at it and refused: it was not delivered.
    return cause is not None


def _inline(message: Message) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(b.label, callback_data=b.payload)
            if b.payload
            else InlineKeyboardButton(b.label, web_app=WebAppInfo(b.web_app))
            if b.web_app
            else InlineKeyboardButton(b.label, url=b.url)
            for b in row
        ]
        for row in message.buttons
    ]
    return InlineKeyboardMarkup(rows)


def _commands(items: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, description[:256]) for name, description in items]
