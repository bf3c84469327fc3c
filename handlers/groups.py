"""Group chats: link a group to a unit, greet newcomers, follow removals and migrations.

Nothing personal is ever said in a group: registration and profiles live in private chat.
"""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from handlers import registry
from models import groups, units


@registry.on_group_change
async def on_group_change(ctx: Context) -> None:
    event = ctx.event
    session = ctx.session
    if event.group_change == "bot_added":
        await groups.seen(session, event.platform, event.chat_id, event.chat_title, event.bot)
        ctx.audit("group_bot_added", target=f"{event.platform}:{event.chat_id}")
        ctx.reply(ctx.t("group.added"))
    elif event.group_change == "bot_removed":
        group = await groups.find(session, event.platform, event.chat_id)
        if group is not None:
            group.active = False
            group.updated_at = ctx.now
        ctx.audit("group_bot_removed", target=f"{event.platform}:{event.chat_id}")
    elif event.group_change == "migrated" and event.new_chat_id:
        await groups.migrate(session, event.platform, event.chat_id, event.new_chat_id)
        ctx.audit(
            "group_migrated",
            target=f"{event.platform}:{event.chat_id}",
            new_chat_id=event.new_chat_id,
        )
    elif event.group_change == "member_joined":
        await _greet(ctx)


async def _greet(ctx: Context) -> None:
    group = await groups.find(ctx.session, ctx.event.platform, ctx.event.chat_id)
    if group is None or group.unit_id is None or not group.active:
        return
    unit = await units.get(ctx.session, group.unit_id)
    if unit is None:
        return
    link = ctx.private_link(unit.code)
    buttons = [[Button(ctx.t("group.register_button"), url=link)]] if link else []
    ctx.reply(
        Message(ctx.t("group.welcome", name=ctx.event.user_name, unit=unit.name), buttons=buttons)
    )


@registry.command("lienketnhom", access="board", where="group", help_key="help.cmd.lienketnhom")
async def link_group(ctx: Context) -> None:
    code = ctx.event.args.strip()
    roots = await ctx.board_roots()
    unit = (
        await units.by_code(ctx.session, code) if code else (roots[0] if len(roots) == 1 else None)
    )
    if unit is None:
        ctx.reply(ctx.t("group.link_usage"))
        return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    group = await groups.seen(
        ctx.session, ctx.event.platform, ctx.event.chat_id, ctx.event.chat_title, ctx.event.bot
    )
    group.unit_id = unit.id
    group.linked_by = ctx.member.id if ctx.member else None
    ctx.audit("group_linked", target=f"{ctx.event.platform}:{ctx.event.chat_id}", unit=unit.code)
    link = ctx.private_link(unit.code)
    buttons = [[Button(ctx.t("group.register_button"), url=link)]] if link else []
    ctx.reply(Message(ctx.t("group.linked", unit=unit.name), buttons=buttons))


@registry.command("huylienket", access="board", where="group", help_key="help.cmd.huylienket")
async def unlink_group(ctx: Context) -> None:
    group = await groups.find(ctx.session, ctx.event.platform, ctx.event.chat_id)
    unit = await units.get(ctx.session, group.unit_id) if group and group.unit_id else None
    if group is None or unit is None:
        ctx.reply(ctx.t("group.not_linked"))
        return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    group.unit_id = None
    ctx.audit("group_unlinked", target=f"{ctx.event.platform}:{ctx.event.chat_id}", unit=unit.code)
    ctx.reply(ctx.t("group.unlinked", unit=unit.name))
