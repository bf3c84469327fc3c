"""Command menus per scope (private chats, groups, board members) built from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models import members, roles

if TYPE_CHECKING:
    from bot.app import App


async def command_menus(app: App, platform: str, language: str) -> dict[str, Any]:
    t = app.translator(language)
    private, group, board = [], [], []
    for spec in app.registry.commands.values():
        if spec.help_key is None:
            continue
        item = (spec.name, t(spec.help_key))
        if spec.access in ("board", "admin"):
            if spec.where != "group":
                board.append(item)
            if spec.where != "private":
                group.append(item)
        else:
            if spec.where != "group":
                private.append(item)
            if spec.where != "private":
                group.append(item)
    async with app.db.session() as session:
        board_ids = await roles.all_board_member_ids(session)
        chats = {
            i.user_id
            for i in await members.identities_of(session, board_ids)
            if i.platform == platform
        }
    chats |= {a.partition(":")[2] for a in app.settings.bot.admins if a.startswith(platform + ":")}
    return {
        "private": private,
        "group": group,
        "board": private + board,
        "board_chats": sorted(chats),
    }
