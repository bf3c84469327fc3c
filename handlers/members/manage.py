"""Board actions on one member's card: move them to another unit, record that they left the
union, or take them back. Pledges follow a member who moves, so the unit that reviews them at
year-end counts them; someone who left is listed in reports but no longer counted."""

from __future__ import annotations

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload, press_parts
from handlers import registry
from handlers.common import pickers
from models import emulation, members, units
from models.members import ACTIVE, LEFT, Member
from models.units import Unit

MOVE_LIST = "mbr_move"  # the units a member may move to, searched by typed words


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
    # "mbr:<action>:<member>", and a page of the unit picker or the unit picked after it
    third = {"mvp": PAGE, "to": ID}.get(args[0]) if args else None
    actions = ("move", "mva", "left", "leftok", "back") if third is None else (args[0],)
    action, member_id, other = press_parts(args, actions, ID, third)
    member = await members.get(ctx.session, member_id)
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None:
        raise OutdatedPress()
    if not await ctx.manages(unit, f"member:{member.id}"):
        return
    if action == "move":
        await _move_picker(ctx, member, unit)
    elif action == "mvp":  # another page
        query = pickers.listened_query(ctx, MOVE_LIST, [member.id])
        await _move_picker(ctx, member, unit, other, query, edit=True)
    elif action == "mva":  # the whole list again, after a search
        await _move_picker(ctx, member, unit, edit=True)
    elif action == "to" and member.status == ACTIVE:
        target = await units.get(ctx.session, other)
        if target is None or not await ctx.manages(target, f"unit:{other}"):
            return
        await pickers.stop_listening(ctx)
        moved = await move_member(ctx, member, unit, target)
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
        await mark_left(ctx, member)
        ctx.reply(ctx.t("mm.left", name=member.full_name))
    elif action == "back" and member.status == LEFT:
        await mark_back(ctx, member)
        ctx.reply(ctx.t("mm.back", name=member.full_name))
    else:
        raise OutdatedPress()


async def move_member(ctx: Context, member: Member, unit: Unit, target: Unit) -> int:
    """The member moves from `unit` to `target` (both checked by the caller: units this board
    manages), audited; their undecided pledges follow. How many pledges moved."""
    assert target.id is not None and member.id is not None
    await members.move(session=ctx.session, member=member, to=target)
    moved = await emulation.follow_member(ctx.session, member.id, target.id)
    ctx.audit(
        "member_moved", target=f"member:{member.id}", from_unit=unit.code, to_unit=target.code
    )
    return moved


async def mark_left(ctx: Context, member: Member) -> None:
    await members.mark_left(session=ctx.session, member=member)
    ctx.audit("member_left", target=f"member:{member.id}")


async def mark_back(ctx: Context, member: Member) -> None:
    await members.mark_back(session=ctx.session, member=member)
    ctx.audit("member_back", target=f"member:{member.id}")


async def move_targets(ctx: Context, unit: Unit) -> list[tuple[Unit, Unit | None]]:
    """Where a member of `unit` may move: the units the board manages, but their own."""
    tree = await pickers.unit_tree(ctx.session, await ctx.board_roots())
    return [pair for pair in tree if pair[0].id != unit.id]


async def _move_picker(
    ctx: Context,
    member: Member,
    unit: Unit,
    number: int = 0,
    query: str = "",
    *,
    edit: bool = False,
) -> None:
    """The units the board manages, a page at a time; typed words search them."""
    tree = await move_targets(ctx, unit)
    choices = pickers.unit_choices(tree, lambda u: payload("mbr", "to", member.id, u.id))
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("mbr", "mvp", member.id, n),
        query=query,
        clear=payload("mbr", "mva", member.id),
    )
    if pickers.is_long(choices):
        await pickers.listen(ctx, MOVE_LIST, [member.id], query)
    head = ctx.t("mm.ask_unit", name=member.full_name, unit=unit.name)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(head), buttons=shown.rows, edit_ref=ref))


@pickers.searchable(MOVE_LIST)
async def _move_search(ctx: Context, args: list[str], query: str) -> None:
    member_id = textutil.number_or_none(args[0]) if len(args) == 1 else None
    member = await members.get(ctx.session, member_id) if member_id is not None else None
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None or member.status != ACTIVE:
        raise OutdatedPress(args, end_dialog=True)
    if not await ctx.manages(unit, f"member:{member.id}"):
        await pickers.stop_listening(ctx)
        return
    await _move_picker(ctx, member, unit, 0, query)
