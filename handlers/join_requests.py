"""Requests to join a linked group that approves new members (Telegram join requests).

The bot writes to the person in private (Telegram allows it for a join request: the
request's user_chat_id, for 5 minutes or until the person writes back). A member of the
group's unit (or of a unit under it) is let in at once; someone who is not a member is walked
through registration, and the request follows the board's decision on it; a member of
another unit is put to the board with two buttons. Nobody is let in without one of these,
and nothing about the person is said in the group.

A decision is committed first (`approving` / `declining`) and told to the platform after
the person has been written to (once the request is processed the bot may no longer write);
a decision a stop interrupted is told at the next start.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from bot.chat import Address, Button, Message
from bot.context import Context, Outgoing
from bot.i18n import Translator
from bot.registry import ID, OutdatedPress, payload, press_parts
from bot.sending import SendError, Transient
from handlers import registry
from handlers.common.decisions import on_member_decided
from handlers.common.notify import board_chats, notify_board
from handlers.members.registration import begin
from models import groups, members, units
from models.groups import APPROVED, APPROVING, DECLINED, DECLINING, GONE, WAITING, JoinRequest
from models.members import ACTIVE, PENDING, Member
from models.units import Unit

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


async def on_join_request(ctx: Context) -> None:
    event = ctx.event
    group = await groups.find(ctx.session, event.platform, event.chat_id)
    unit = await units.get(ctx.session, group.unit_id) if group and group.unit_id else None
    if group is None or unit is None or not group.active:
        log.info(
            "join request to %s:%s, not a linked group: left to its admins",
            event.platform,
            event.chat_id,
        )
        return
    request = await groups.record_request(
        session=ctx.session,
        group=group,
        user_id=event.user_id,
        private_chat_id=event.private_chat_id or event.user_id,
        at=ctx.now,
    )
    ctx.audit("join_request", target=f"{event.platform}:{event.chat_id}", request=request.id)
    # From here on the bot talks to the person, in private; nothing goes to the group.
    ctx.event = replace(
        event, chat_id=request.private_chat_id, chat_kind="private", group_change=None
    )
    title = group.title or unit.name
    member = ctx.member
    if member is not None and member.status == ACTIVE:
        home = await units.get(ctx.session, member.unit_id)
        if home is not None and unit.contains(home):
            ctx.reply(ctx.t("jr.member_in", name=member.full_name, unit=home.name, group=title))
            _decide(ctx, request, approve=True)
            return
        ctx.reply(ctx.t("jr.ask_board", group=title, unit=unit.name))
        await notify_board(ctx, unit, lambda t: _card(t, request, member, home, unit, title))
        return
    if member is not None and member.status == PENDING:
        ctx.reply(ctx.t("jr.pending", group=title))  # the board has the registration already
        return
    ctx.reply(ctx.t("jr.register", group=title, unit=unit.name))
    name = event.user_name
    await notify_board(
        ctx,
        unit,
        lambda t: Message(t("jr.board_registering", name=name, group=title, unit=unit.name)),
    )
    await begin(ctx, unit.code)


def _card(
    t: Translator, request: JoinRequest, member: Member, home: Unit | None, unit: Unit, title: str
) -> Message:
    text = t(
        "jr.board_card",
        name=member.full_name,
        member_unit=home.name if home else "—",
        group=title,
        unit=unit.name,
    )
    return Message(
        text,
        buttons=[
            [
                Button(t("jr.btn.approve"), payload("jr", "ok", request.id)),
                Button(t("jr.btn.decline"), payload("jr", "no", request.id)),
            ]
        ],
    )


def _decide(ctx: Context, request: JoinRequest, *, approve: bool) -> None:
    groups.decide_request(request=request, approve=approve, at=ctx.now)
    action = "join_request_approved" if approve else "join_request_declined"
    ctx.audit(action, target=f"{request.platform}:{request.chat_id}", request=request.id)
    app, request_id = ctx.app, request.id
    assert request_id is not None
    # After the commit and after the person was written to.
    ctx.followups.append(lambda: tell_platform(app, [request_id]))


async def _title(ctx: Context, request: JoinRequest, unit: Unit) -> str:
    group = await groups.find(ctx.session, request.platform, request.chat_id)
    return group.title if group is not None and group.title else unit.name


def _to_person(
    ctx: Context, request: JoinRequest, language: str | None, key: str, title: str
) -> None:
    t = ctx.app.translator(language, request.platform)
    address = Address(request.platform, request.private_chat_id, request.bot or request.platform)
    ctx.outgoing.append(Outgoing(address, Message(t(key, group=title))))


@on_member_decided
async def after_registration(ctx: Context, member: Member, approved: bool) -> None:
    """The board decided on a registration: the person's waiting requests follow it."""
    assert member.id is not None
    accounts = {
        (i.platform, i.user_id): i for i in await members.identities_of(ctx.session, [member.id])
    }
    home = await units.get(ctx.session, member.unit_id)
    for request in await groups.waiting_requests_of(ctx.session, list(accounts)):
        unit = await units.get(ctx.session, request.unit_id)
        if unit is None:
            continue
        title = await _title(ctx, request, unit)
        language = accounts[(request.platform, request.user_id)].language
        if approved and (home is None or not unit.contains(home)):
            # Registered with another unit: the group's board decides.
            card = partial(_card, request=request, member=member, home=home, unit=unit, title=title)
            await notify_board(ctx, unit, card)
            continue
        _to_person(ctx, request, language, "jr.approved" if approved else "jr.declined", title)
        _decide(ctx, request, approve=approved)


@registry.button("jr", access="board")
async def on_board_decision(ctx: Context) -> None:
    decision, request_id = press_parts(ctx.press_args, ("ok", "no"), ID)
    request = await groups.get_request(ctx.session, request_id)
    unit = await units.get(ctx.session, request.unit_id) if request else None
    if request is None or unit is None:
        raise OutdatedPress()
    if not await ctx.manages(unit, f"join_request:{request.id}"):
        return
    if request.state != WAITING:
        ctx.reply(ctx.t("jr.already_decided"))
        return
    person = await members.identity(ctx.session, request.platform, request.user_id)
    member = (
        await members.get(ctx.session, person.member_id) if person and person.member_id else None
    )
    name = member.full_name if member else (person.display_name if person else "?")
    title = await _title(ctx, request, unit)
    approve = decision == "ok"
    _to_person(
        ctx,
        request,
        person.language if person else None,
        "jr.approved" if approve else "jr.declined",
        title,
    )
    _decide(ctx, request, approve=approve)
    key = "jr.board_approved" if approve else "jr.board_declined"
    ctx.reply(Message(ctx.t(key, name=name, group=title), edit_ref=ctx.event.message_ref))


async def tell_platform(app: App, request_ids: list[int]) -> None:
    """Tell the platform the decisions on these requests, each marked done once told. A
    network failure leaves it to the next start; a refusal (the bot lost its rights or the
    group) is logged and kept with the row."""
    for request_id in request_ids:
        async with app.db.session() as session:
            request = await groups.get_request(session, request_id)
            if request is None or request.state not in (APPROVING, DECLINING):
                continue
            approve = request.state == APPROVING
            where = (request.platform, request.bot, request.chat_id, request.user_id)
        error: str | None = None
        try:
            outcome = await app.answer_join_request(*where, approve=approve)
        except Transient as exc:
            log.warning(
                "join request %s not answered yet (%s); retried at the next start", request_id, exc
            )
            continue
        except SendError as exc:
            log.warning("join request %s refused by the platform: %s", request_id, exc)
            outcome, error = "gone", str(exc)
            await _tell_board_refused(app, request_id)
        if outcome is None:
            continue
        state = GONE if outcome == "gone" else (APPROVED if approve else DECLINED)
        async with app.db.writer_turn(), app.db.session() as session:
            request = await groups.get_request(session, request_id)
            if request is not None and request.state in (APPROVING, DECLINING):
                groups.answered(request=request, state=state, error=error, at=app.clock.now())
                await session.commit()


async def _tell_board_refused(app: App, request_id: int) -> None:
    """The platform refused to let the bot decide (it is no longer an administrator that may
    add members): the unit's board is told, to decide in the app and give the bot the right."""
    async with app.db.session() as session:
        request = await groups.get_request(session, request_id)
        unit = await units.get(session, request.unit_id) if request else None
        if request is None or unit is None:
            return
        group = await groups.find(session, request.platform, request.chat_id)
        title = group.title if group is not None and group.title else unit.name
        chats = await board_chats(session, app, unit)
    await app.deliver(
        [Outgoing(address, Message(t("jr.board_no_right", group=title))) for address, t in chats]
    )


@registry.on_start
async def resume(app: App) -> None:
    async with app.db.session() as session:
        pending = [r.id for r in await groups.undelivered_decisions(session) if r.id is not None]
    if pending:
        log.info("telling the platform %d join request decision(s) left from before", len(pending))
        await tell_platform(app, pending)
