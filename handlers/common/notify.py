"""Telling the board about something in one of their units (a few people: direct sends)."""

from __future__ import annotations

from collections.abc import Callable

from bot.chat import Address, Message
from bot.context import Context, Outgoing
from bot.i18n import Translator
from models import members, roles
from models.units import Unit


async def notify_board(ctx: Context, unit: Unit, build: Callable[[Translator], Message]) -> int:
    """Send to every board member responsible for `unit` and to the configured admins.

    Returns how many chats were addressed; 0 means nobody can act on it yet.
    """
    board_ids = await roles.board_member_ids_for(ctx.session, unit)
    seen: set[tuple[str, str]] = set()
    for ident in await members.identities_of(ctx.session, board_ids):
        if (ident.platform, ident.user_id) not in seen:
            seen.add((ident.platform, ident.user_id))
            ctx.send_to(ident, build)
    for address in ctx.app.settings.bot.admins:
        platform, _, user_id = address.partition(":")
        if (platform, user_id) in seen or platform not in ctx.app.adapters:
            continue
        seen.add((platform, user_id))
        known = await members.identity(ctx.session, platform, user_id)
        if known is not None:
            ctx.send_to(known, build)
        else:
            message = build(ctx.app.translator(None, platform))
            ctx.outgoing.append(Outgoing(Address(platform, user_id), message))
    return len(seen)
