"""Telling the board about something in one of their units (a few people: direct sends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Address, Message
from bot.context import Context, Outgoing
from bot.i18n import Translator
from models import members, roles
from models.units import Unit

if TYPE_CHECKING:
    from bot.app import App


async def board_chats(
    session: AsyncSession, app: App, unit: Unit
) -> list[tuple[Address, Translator]]:
    """The private chats of every board member responsible for `unit` and of the configured
    admins, each with the translator of that person's language and app."""
    board_ids = await roles.board_member_ids_for(session, unit)
    seen: set[tuple[str, str]] = set()
    chats: list[tuple[Address, Translator]] = []
    for ident in await members.identities_of(session, board_ids):
        if (ident.platform, ident.user_id) not in seen:
            seen.add((ident.platform, ident.user_id))
            address = Address(ident.platform, ident.user_id, ident.bot or ident.platform)
            chats.append((address, app.translator(ident.language, ident.platform)))
    for admin in app.settings.bot.admins:
        platform, _, user_id = admin.partition(":")
        if (platform, user_id) in seen or platform not in app.adapters:
            continue
        seen.add((platform, user_id))
        known = await members.identity(session, platform, user_id)
        if known is not None:
            address = Address(platform, user_id, known.bot or platform)
            chats.append((address, app.translator(known.language, platform)))
        else:
            chats.append((Address(platform, user_id), app.translator(None, platform)))
    return chats


async def notify_board(ctx: Context, unit: Unit, build: Callable[[Translator], Message]) -> int:
    """Send to every board member responsible for `unit` and to the configured admins.

    Returns how many chats were addressed; 0 means nobody can act on it yet.
    """
    chats = await board_chats(ctx.session, ctx.app, unit)
    for address, t in chats:
        ctx.outgoing.append(Outgoing(address, build(t)))
    return len(chats)
