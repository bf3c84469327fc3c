"""Group chats: link a group to a unit, greet newcomers, follow removals and migrations.

Nothing personal is ever said in a group: registration and profiles live in private chat.
"""

from __future__ import annotations

from datetime import timedelta

from bot import links
from bot.chat import Button, Message
from bot.context import Context
from handlers import registry
from handlers.join_requests import on_join_request
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
    elif event.group_change == "join_request":
        await on_join_request(ctx)


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


GROUP_LINK_HOURS = 24  # how long a link that adds the bot to a group works


@registry.command("lienketnhom", access="board", where="any", help_key="help.cmd.lienketnhom")
async def link_group(ctx: Context) -> None:
    """In a group (or one of its topics): link it with a unit. In private: a link that adds
    the bot to a group with the rights it needs and links that group in one step."""
    if ctx.event.is_private:
        await _offer_group_link(ctx)
        return
    args = ctx.event.args.strip()
    if args.startswith(links.GROUP_TOKEN):  # the /start of the link made below
        unit_id = links.read_group_token(ctx.app.settings, args, ctx.now)
        unit = await units.get(ctx.session, unit_id) if unit_id is not None else None
        if unit is None:
            ctx.audit("group_link_refused", target=_here(ctx), reason="bad or expired link")
            ctx.reply(ctx.t("group.link_bad_token"))
            return
    else:
        unit = await _unit_named(ctx, args)
        if unit is None:
            ctx.reply(ctx.t("group.link_usage"))
            return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    event = ctx.event
    group = await groups.seen(
        ctx.session, event.platform, event.chat_id, event.chat_title, event.bot
    )
    await groups.link(
        session=ctx.session,
        group=group,
        unit=unit,
        thread_id=event.thread_id,
        by=ctx.member.id if ctx.member else None,
        at=ctx.now,
    )
    ctx.audit("group_linked", target=_here(ctx), unit=unit.code, topic=event.thread_id)
    link = ctx.private_link(unit.code)
    buttons = [[Button(ctx.t("group.register_button"), url=link)]] if link else []
    key = "group.linked_topic" if event.thread_id else "group.linked"
    ctx.reply(Message(ctx.t(key, unit=unit.name), buttons=buttons))


async def _unit_named(ctx: Context, code: str) -> units.Unit | None:
    """The unit of `code`; without one, the board member's only unit."""
    if code:
        return await units.by_code(ctx.session, code)
    roots = await ctx.board_roots()
    return roots[0] if len(roots) == 1 else None


def _here(ctx: Context) -> str:
    return f"{ctx.event.platform}:{ctx.event.chat_id}"


async def _offer_group_link(ctx: Context) -> None:
    unit = await _unit_named(ctx, ctx.event.args.strip())
    if unit is None:
        ctx.reply(ctx.t("group.add_usage"))
        return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    assert unit.id is not None
    expires = ctx.now + timedelta(hours=GROUP_LINK_HOURS)
    token = links.group_token(ctx.app.settings, unit.id, expires)
    url = ctx.app.group_link(ctx.event.platform, token, ctx.event.bot)
    if url is None:
        ctx.reply(ctx.t("group.add_unavailable", code=unit.code))
        return
    ctx.audit("group_link_offered", target=f"unit:{unit.code}")
    ctx.reply(
        Message(
            ctx.t("group.add_link", unit=unit.name, hours=GROUP_LINK_HOURS),
            buttons=[[Button(ctx.t("group.add_button"), url=url)]],
        )
    )


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
