"""Board actions on one member's card: move them to another unit, record that they left the
union, or take them back. Pledges follow a member who moves, so the unit that reviews them at
year-end counts them; someone who left is listed in reports but no longer counted."""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.registry import payload
from handlers import registry
from models import emulation, members, units
from models.members import ACTIVE, LEFT, Member

MAX_UNITS_SHOWN = 30


def card_buttons(ctx: Context, member: Member) -> list[list[Button]]:
    if member.status == ACTIVE:
        return [
            [
                Button(ctx.t("mm.btn.move"), payload("mbr", "move", member.id)),
                Button(ctx.t("mm.btn.left"), payload("mbr", "left", member.id)),
            ]
        ]
    if member.status == LEFT:
        return [[Button(ctx.t("mm.btn.back"), payload("mbr", "back", member.id))]]
    return []


@registry.button("mbr", access="board")
async def on_button(ctx: Context) -> None:
    args = ctx.press_args
    member = (
        await members.get(ctx.session, int(args[1]))
        if len(args) >= 2 and args[1].isdigit()
        else None
    )
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None:
        ctx.reply(ctx.t("button.outdated"))
        return
    if not await ctx.manages(unit, f"member:{member.id}"):
        return
    action = args[0]
    if action == "move":
        choices = [
            u
            for root in await ctx.board_roots()
            for u in await units.subtree(ctx.session, root)
            if u.id != unit.id
        ]
        ctx.reply(
            Message(
                ctx.t("mm.ask_unit", name=member.full_name, unit=unit.name),
                buttons=[
                    [Button(u.name, payload("mbr", "to", member.id, u.id))]
                    for u in choices[:MAX_UNITS_SHOWN]
                ],
            )
        )
    elif action == "to" and len(args) == 3 and args[2].isdigit() and member.status == ACTIVE:
        target = await units.get(ctx.session, int(args[2]))
        if target is None or not await ctx.manages(target, f"unit:{args[2]}"):
            return
        member.unit_id = target.id  # type: ignore[assignment]
        ctx.session.add(member)
        moved = await emulation.follow_member(ctx.session, member.id, target.id)  # type: ignore[arg-type]
        ctx.audit(
            "member_moved", target=f"member:{member.id}", from_unit=unit.code, to_unit=target.code
        )
        ctx.reply(ctx.t("mm.moved", name=member.full_name, unit=target.name, pledges=moved))
    elif action == "left" and member.status == ACTIVE:
        ctx.reply(
            Message(
                ctx.t("mm.confirm_left", name=member.full_name),
                buttons=[
                    [Button(ctx.t("mm.btn.confirm_left"), payload("mbr", "leftok", member.id))]
                ],
            )
        )
    elif action == "leftok" and member.status == ACTIVE:
        member.status = LEFT
        ctx.session.add(member)
        ctx.audit("member_left", target=f"member:{member.id}")
        ctx.reply(ctx.t("mm.left", name=member.full_name))
    elif action == "back" and member.status == LEFT:
        member.status = ACTIVE
        ctx.session.add(member)
        ctx.audit("member_back", target=f"member:{member.id}")
        ctx.reply(ctx.t("mm.back", name=member.full_name))
    else:
        ctx.reply(ctx.t("button.outdated"))
