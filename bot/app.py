"""The application core: turns an Event into handler calls and sends the answers.

For every event: drop it if already seen, hold the user's lock, load the person, their roles
and their dialog, dispatch, commit, then send. Sending after the commit means a crash can lose
a reply but never leaves the database behind what the user was told.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import logs
from bot.chat import Address, Button, Capabilities, Event, Message
from bot.clock import Clock
from bot.config import PlatformDelivery, Settings
from bot.context import Context, Outgoing
from bot.i18n import Translator
from bot.monitoring.beats import Heartbeats
from bot.monitoring.metrics import Metrics
from bot.ordering import KeyedLocks
from bot.registry import OutdatedPress, Registry, parse_payload
from models import events as processed
from models import groups, members, roles, transactions
from models.db import Database
from models.dialogs import load as load_dialog

log = logging.getLogger(__name__)

# A busy database is tried this many times, pausing about BUSY_PAUSE × try seconds between.
BUSY_ATTEMPTS = 4
BUSY_PAUSE = 0.05


@dataclass
class Handled:
    """What one update produced, acted on after its commit."""

    outgoing: list[Outgoing]
    queued: bool = False  # deliveries were queued: wake the workers
    replan: bool = False  # timed actions were planned: re-arm the scheduler
    followups: list[Any] = field(default_factory=list)


class RecentEvents:
    """The last few thousand event ids handled in this process (bounded)."""

    def __init__(self, size: int = 20_000) -> None:
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size

    def seen(self, platform: str, event_id: str) -> bool:
        return (platform, event_id) in self._ids

    def add(self, platform: str, event_id: str) -> None:
        self._ids[(platform, event_id)] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)


class Adapter(Protocol):
    platform: str
    caps: Capabilities

    async def send(self, chat_id: str, message: Message, *, bulk: bool = False) -> str | None: ...

    def must_wait(self, chat_id: str) -> bool:
        """Whether a message to this chat now would wait for the chat's own pace."""
        ...

    def private_link(self, start: str) -> str | None: ...


class PollStopper(Protocol):
    """An adapter whose app has native polls (Capabilities.native_polls) can close one."""

    async def stop_poll(self, message_ref: str) -> None: ...


class App:
    def __init__(self, settings: Settings, db: Database, clock: Clock, registry: Registry) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.registry = registry
        # The main adapter per platform, and every bot by key ("telegram", "telegram:sct").
        self.adapters: dict[str, Adapter] = {}
        self.bots: dict[str, Adapter] = {}
        self._locks = KeyedLocks()
        # Delivery workers (and the fan-out) to wake when a handler has just queued
        # something, and the scheduler to re-arm when it has planned something.
        self.workers: list[Any] = []
        # The background fan-out (bot/fanout.py) that turns big jobs into outbox rows.
        self.fanout: Any = None
        self.scheduler: Any = None
        self._config_admins = set(settings.bot.admins)
        self._background: set[asyncio.Task[Any]] = set()
        # Read-only updates leave no row; their ids are remembered here for redeliveries.
        self._recent = RecentEvents()
        # Health and metrics (bot/monitoring/): when each app last heard from its platform,
        # this app's own Prometheus registry, and this process's delivery machinery
        # (bot/runtime.py Background; None in an intake-only process).
        self.beats = Heartbeats(clock, on_refused=self._token_refused)
        self.metrics = Metrics()
        self.background: Any = None

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run follow-up work (e.g. stopping native polls) without holding up the reply; the
        task is kept referenced until it ends and its failure is logged."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def wait_background(self) -> None:
        """Until no follow-up work is left (work may start more work)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def add_adapter(self, adapter: Adapter) -> None:
        key = getattr(adapter, "bot_key", adapter.platform)
        self.bots[key] = adapter
        if key == adapter.platform:
            self.adapters[adapter.platform] = adapter

    def paid_pace(self) -> PlatformDelivery | None:
        """The pace settings of the app whose bot has a paid-broadcast lane (Telegram's,
        where the config enables it), or None: what the preview may offer."""
        for adapter in self.adapters.values():
            if getattr(adapter, "paid_limiter", None) is not None:
                return self.settings.delivery.for_platform(adapter.platform)
        return None

    async def stop_native_poll(self, address: Address, message_ref: str) -> bool:
        """Close a native poll sent to `address` (no more answers in the app); False where
        that app has no native polls."""
        adapter = await self.adapter_for(address)
        if adapter is None or not adapter.caps.native_polls:
            return False
        await cast(PollStopper, adapter).stop_poll(message_ref)
        return True

    def group_link(self, platform: str, start: str, bot: str | None = None) -> str | None:
        """A link that adds the bot to a group and starts it there with `start`; None where
        the app has none."""
        adapter = self.bots.get(bot) if bot else self.adapters.get(platform)
        make = getattr(adapter, "group_link", None)
        return make(start) if make is not None else None

    async def answer_join_request(
        self, platform: str, bot: str | None, chat_id: str, user_id: str, *, approve: bool
    ) -> str | None:
        """Tell the platform the decision on a request to join a group (see
        TelegramAdapter.answer_join_request); None where the app has no join requests."""
        adapter = self.bots.get(bot) if bot else self.adapters.get(platform)
        answer = getattr(adapter, "answer_join_request", None)
        if answer is None:
            return None
        return str(await answer(chat_id, user_id, approve=approve))

    async def adapter_for(self, address: Address) -> Adapter | None:
        """The bot to send through: the one named, else the one this person or group talks
        to (only looked up where a platform has several bots), else the platform's main one."""
        if address.bot is not None:
            return self.bots.get(address.bot)
        platform = address.platform
        if sum(1 for a in self.bots.values() if a.platform == platform) > 1:
            async with self.db.session() as session:
                if address.chat_id.startswith("-"):
                    group = await groups.find(session, platform, address.chat_id)
                    bot = group.bot if group else None
                else:
                    person = await members.identity(session, platform, address.chat_id)
                    bot = person.bot if person else None
            if bot is not None and bot in self.bots:
                return self.bots[bot]
        return self.adapters.get(platform)

    def translator(self, language: str | None = None, platform: str | None = None) -> Translator:
        """Messages in `language`; worded for `platform`'s app when given (numbered choices
        to reply to where it has no buttons)."""
        adapter = self.adapters.get(platform) if platform else None
        buttons = adapter is None or adapter.caps.inline_buttons
        return Translator(language or self.settings.bot.language, self.settings.tz, buttons=buttons)

    def private_link(self, platform: str, start: str, bot: str | None = None) -> str | None:
        adapter = self.bots.get(bot) if bot else self.adapters.get(platform)
        return adapter.private_link(start) if adapter else None

    def is_config_admin(self, platform: str, user_id: str) -> bool:
        return f"{platform}:{user_id}" in self._config_admins

    # --- entry point ---------------------------------------------------------------
    async def handle(self, event: Event) -> None:
        with logs.about(logs.EVENT_ID, event.event_id), logs.about(logs.PLATFORM, event.platform):
            await self._handle(event)

    async def _handle(self, event: Event) -> None:
        key = (event.platform, event.user_id or f"chat:{event.chat_id}")
        async with self._locks.hold(key):
            if self._recent.seen(event.platform, event.event_id):
                log.info("duplicate event %s:%s ignored", event.platform, event.event_id)
                return
            loop = asyncio.get_running_loop()
            began = loop.time()
            result = await self._process_retrying(event)
            if result is not None:
                self.metrics.handler_seconds.labels(event.platform).observe(loop.time() - began)
                self.metrics.updates.labels(event.platform).inc()
        if result is None:
            log.info("duplicate event %s:%s ignored", event.platform, event.event_id)
            return
        await self.after_commit(result, first_to=(event.platform, event.chat_id))

    async def after_commit(self, result: Handled, *, first_to: tuple[str, str]) -> None:
        """What a committed update (or a web form, bot/webui/acting.py) set going: the
        workers woken for what it queued, the scheduler re-armed, its messages sent (the
        person's first), its follow-up work started."""
        if result.queued:
            for worker in self.workers:
                worker.wake()
        if result.replan and self.scheduler is not None:
            await self.scheduler.rearm()
        await self.deliver(result.outgoing, first_to=first_to)
        for work in result.followups:
            self.spawn(work())

    def turn_of(self, platform: str, user_id: str) -> AbstractAsyncContextManager[None]:
        """The person's turn: their updates (and web forms) are handled one at a time."""
        return self._locks.hold((platform, user_id))

    async def _process_retrying(self, event: Event) -> Handled | None:
        """Handle the event; a busy database (lock timeout, serialization failure) is retried
        a few times with jittered pauses, then the person gets an apology and the event is
        left unrecorded, so a redelivery is handled rather than dropped."""
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                return await self._process(event)
            except Exception as exc:
                if not transactions.is_busy(exc):
                    raise
                if attempt == BUSY_ATTEMPTS:
                    self.metrics.errors.labels(event.platform, "busy").inc()
                    log.error(
                        "database busy: %s event %s not handled after %d tries (%s)",
                        event.platform,
                        event.event_id,
                        attempt,
                        type(exc).__name__,
                    )
                    apology = Message(self.translator()("error.busy"))
                    return Handled([Outgoing(Address(event.platform, event.chat_id), apology)])
                log.warning(
                    "database busy: retrying %s event %s (try %d)",
                    event.platform,
                    event.event_id,
                    attempt,
                )
                await asyncio.sleep(random.uniform(0.5, 1.5) * BUSY_PAUSE * attempt)
        raise AssertionError("unreachable")

    async def _process(self, event: Event) -> Handled | None:
        """One transaction: the handler's writes and the "already handled" record commit
        together. None when the event was handled before. The whole transaction runs in
        this process's turn to write (SQLite: see Database.writer_turn)."""
        async with self.db.writer_turn(), self.db.session() as session:
            if await processed.seen(session, event.platform, event.event_id):
                return None
            if event.poll_state is not None:  # the platform's count: nobody to answer
                if self.registry.poll_state is not None:
                    await self.registry.poll_state(self, session, event)
                    if not await self._commit(session, event):
                        return None
                return Handled([])
            ctx: Context | None = None
            try:
                ctx = await self.context_for(session, event)
                await self._dispatch(ctx)
                await session.flush()
            except Exception as exc:
                await session.rollback()
                if transactions.is_busy(exc):
                    raise
                log.exception("error handling %s event %s", event.platform, event.event_id)
                self.metrics.errors.labels(event.platform, "handler").inc()
                await self._record_failed(event)
                t = ctx.t if ctx else self.translator()
                apology = Outgoing(
                    Address(event.platform, event.chat_id),
                    Message(t("error.unexpected", ref=event.event_id)),
                )
                return Handled([apology, *self._error_report(event, exc)])
            queued = transactions.queued(session)
            if not await self._commit(session, event):
                return None
            return Handled(ctx.outgoing, queued, ctx.replan, ctx.followups)

    async def _commit(self, session: AsyncSession, event: Event) -> bool:
        """Commit the handler's work with the event's "handled" record; a read-only update
        leaves no row (it is remembered in memory instead). False when another process
        committed the same event first: nothing of ours is kept, nothing is sent."""
        if transactions.wrote(session):
            try:
                await processed.record(session, event.platform, event.event_id, self.clock.now())
            except IntegrityError:
                await session.rollback()
                return False
        await session.commit()
        self._recent.add(event.platform, event.event_id)
        return True

    async def _record_failed(self, event: Event) -> None:
        """A handler crashed (already apologised for): a redelivery must not crash again and
        apologise twice, so the event is recorded on its own."""
        try:
            async with self.db.session() as session:
                await processed.record(session, event.platform, event.event_id, self.clock.now())
                await session.commit()
        except Exception:
            log.warning("could not record failed event %s:%s", event.platform, event.event_id)

    async def context_for(self, session: AsyncSession, event: Event) -> Context:
        """The person behind `event` as handlers see them: identity, member, roles, dialog."""
        identity = await members.ensure_identity(
            session, event.platform, event.user_id, event.user_name, self.clock.now(), event.bot
        )
        member = await members.get(session, identity.member_id) if identity.member_id else None
        member_roles: Sequence = []
        if member is not None and member.status == "active":
            assert member.id is not None
            member_roles = await roles.of_member(session, member.id)
        now = self.clock.now()
        dialog, expired = await load_dialog(session, event.platform, event.user_id, now)
        adapter = self.adapters.get(event.platform)
        caps = adapter.caps if adapter else Capabilities(False, False, False, 4000)
        ctx = Context(
            app=self,
            event=event,
            session=session,
            identity=identity,
            member=member,
            roles=member_roles,
            is_config_admin=self.is_config_admin(event.platform, event.user_id),
            dialog=dialog,
            t=self.translator(identity.language, event.platform),
            caps=caps,
            now=now,
        )
        if expired and event.is_private and event.poll_answer is None:
            ctx.reply(ctx.t("dialog.expired"))
        return ctx

    async def _dispatch(self, ctx: Context) -> None:
        try:
            await self._route(ctx)
        except OutdatedPress as outdated:
            # Keep nothing of the update, and say once, here, that the button is outdated.
            log.info("outdated press %r from %s", (ctx.event.payload or "")[:80], ctx.actor)
            await ctx.session.rollback()
            ctx.outgoing.clear()
            ctx.followups.clear()
            ctx.replan = False
            if outdated.end_dialog:
                await ctx.end_dialog()
            ctx.reply(ctx.t("button.outdated"))

    async def _route(self, ctx: Context) -> None:
        event, registry = ctx.event, self.registry
        if event.group_change:
            if registry.group_change:
                await registry.group_change(ctx)
            return
        if event.poll_answer:
            if registry.poll_answer:
                await registry.poll_answer(ctx)
            return
        if event.command is not None:
            await self.run_command(ctx, event.command)
            return
        if event.payload is not None:
            await self._press(ctx, event.payload)
            return
        if ctx.dialog is not None and event.is_private:
            flow = registry.flows.get(ctx.dialog.flow)
            if flow is not None:
                with logs.about(logs.HANDLER, f"flow:{ctx.dialog.flow}"):
                    await flow(ctx)
                return
            await ctx.end_dialog()
        if event.text:
            for hook in registry.text_hooks:
                if await hook(ctx):
                    return
        if not event.is_private:
            return  # in groups the bot speaks only when spoken to with a command
        await self._fallback(ctx, "help.not_understood")

    async def _fallback(self, ctx: Context, notice: str, **params: object) -> None:
        """Unknown input gets help rather than silence."""
        ctx.notice = (notice, params)
        if self.registry.fallback is not None:
            await self.registry.fallback(ctx)
        else:
            ctx.reply(ctx.t(notice, **params))

    async def run_command(self, ctx: Context, name: str) -> None:
        spec = self.registry.commands.get(name)
        if spec is None:
            if ctx.event.is_private:
                await self._fallback(ctx, "help.unknown_command", command=name)
            return
        if spec.where == "private" and not ctx.event.is_private:
            link = ctx.private_link()
            buttons = [[Button(ctx.t("group.open_private"), url=link)]] if link else []
            ctx.reply(Message(ctx.t("group.private_only", command=name), buttons=buttons))
            return
        if spec.where == "group" and ctx.event.is_private:
            ctx.reply(ctx.t("group.group_only", command=name))
            return
        with logs.about(logs.HANDLER, f"/{name}"):
            if await self._allowed(ctx, spec.access, f"/{name}"):
                await spec.handler(ctx)

    async def _press(self, ctx: Context, payload: str) -> None:
        parsed = parse_payload(payload)
        if parsed is None or parsed[0] not in self.registry.buttons:
            raise OutdatedPress(payload)
        prefix, _ = parsed
        handler, access = self.registry.buttons[prefix]
        with logs.about(logs.HANDLER, f"button:{prefix}"):
            if await self._allowed(ctx, access, f"button:{prefix}"):
                await handler(ctx)

    async def _allowed(self, ctx: Context, access: str, what: str) -> bool:
        if ctx.may(access):
            return True
        if access == "member":
            key = (
                "access.pending"
                if ctx.member and ctx.member.status == "pending"
                else ("access.not_member")
            )
            ctx.reply(ctx.t(key))
            return False
        ctx.audit("access_denied", target=what, needed=access)
        log.warning("access denied: %s tried %s (needs %s)", ctx.actor, what, access)
        default = "access.leaders_only" if access == "organiser" else "access.board_only"
        ctx.reply(ctx.t(self.registry.refusals.get(what, default)))
        return False

    # --- sending ---------------------------------------------------------------------
    async def deliver(
        self, outgoing: Sequence[Outgoing], *, first_to: tuple[str, str] | None = None
    ) -> None:
        """Send one update's answers in order; with `first_to`, that chat's come first (the
        person who acted is waiting; the board members told about it are not).

        With `first_to`, a message to another chat that would wait for that chat's pace (a
        board member told of 40 registrations in one second) is sent in the background with
        the rest: the update's task must not wait, or a rush of them would take every slot
        python-telegram-bot has for concurrent updates and nobody would be answered."""
        items = coalesce(outgoing)
        if first_to is not None:
            items.sort(key=lambda item: (item.address.platform, item.address.chat_id) != first_to)
        await self._send_in_order(items, set(), first_to)

    async def _send_in_order(
        self,
        items: list[Outgoing],
        with_choices: set[tuple[Address, str | None]],
        first_to: tuple[str, str] | None,
    ) -> None:
        for index, item in enumerate(items):
            adapter = await self.adapter_for(item.address)
            if adapter is None:
                log.warning(
                    "no adapter for %s; message dropped", item.address.bot or item.address.platform
                )
                continue
            chat = (item.address.platform, item.address.chat_id)
            if first_to is not None and chat != first_to and adapter.must_wait(chat[1]):
                self.spawn(self._send_in_order(items[index:], with_choices, None))
                return
            message = item.message
            choices = any(b.payload for row in message.buttons for b in row)
            if choices and not adapter.caps.inline_buttons:
                # Several cards with choices in one answer: number them across the cards.
                menu = (item.address, message.for_user)
                if menu in with_choices:
                    message = replace(message, more_choices=True)
                with_choices.add(menu)
            try:
                await adapter.send(item.address.chat_id, message)
            except Exception:
                log.exception("could not send to %s chat", item.address.platform)

    def _token_refused(self, bot: str) -> None:
        """A platform refused a bot's token (Heartbeats.refused): the admin chat is told once
        (if it is on that platform, the message may not get through: the log says it too)."""
        log.error("%s refused the bot's token (401): check its token", bot)
        target = self.settings.bot.admin_chat
        if not target:
            return
        platform, _, chat_id = target.partition(":")
        text = self.translator(None, platform)("ops.token_refused", bot=bot)
        self.spawn(self.deliver([Outgoing(Address(platform, chat_id), Message(text))]))

    def _error_report(self, event: Event, exc: BaseException) -> list[Outgoing]:
        """A report for the admin chat: where it failed, never what people typed."""
        target = self.settings.bot.admin_chat
        if not target:
            return []
        platform, _, chat_id = target.partition(":")
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))
        text = self.translator()(
            "error.report",
            kind=type(exc).__name__,
            where=where,
            platform=event.platform,
            ref=event.event_id,
        )
        return [Outgoing(Address(platform, chat_id), Message(text))]


def coalesce(outgoing: Sequence[Outgoing], limit: int = 3500) -> list[Outgoing]:
    """Fold a plain note into the message that follows it in the same chat ("Saved." + the
    next question): fewer messages for people to read and fewer API calls."""
    result: list[Outgoing] = []
    for item in outgoing:
        previous = result[-1] if result else None
        if (
            previous is not None
            and previous.address == item.address
            and _plain(previous)
            and item.message.edit_ref is None
            and len(previous.message.text) + len(item.message.text) < limit
        ):
            merged = replace(item.message, text=f"{previous.message.text}\n\n{item.message.text}")
            result[-1] = Outgoing(item.address, merged)
        else:
            result.append(item)
    return result


def _plain(item: Outgoing) -> bool:
    m = item.message
    return not (
        m.buttons
        or m.document
        or m.image
        or m.attachment
        or m.edit_ref
        or m.request_contact
        or m.standalone
    )
