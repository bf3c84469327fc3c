"""One member on the web, opened from the member table: the board edits the profile's fields
(each by the chat's rules and messages, audited as /hoso saves them), moves the member to
another of its units, or records that they left or came back (the chat's card buttons,
handlers/members/manage.py); a tổ trưởng sees a member of their own tổ, read only."""

from __future__ import annotations

from starlette.responses import Response

from bot import textutil
from bot.webui.pages import WebRequest
from handlers import registry
from handlers.common.fields import FIELDS, show
from handlers.members.manage import mark_back, mark_left, move_member, move_targets
from handlers.members.pages import save_fields, typed_values
from handlers.members.profile import EDITABLE
from handlers.members.table import MEMBER_PAGE, TABLE_PAGE, may_see, refusal
from models import members, units
from models.members import ACTIVE, LEFT, LISTED, Member
from models.units import Unit

pages = registry.pages


@pages.page(MEMBER_PAGE, access="organiser", title_key="members.web.card_title", nav=False)
async def member_card(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    member_id = textutil.number_or_none(web.request.query_params.get("id", ""))
    member = await members.get(ctx.session, member_id) if member_id is not None else None
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None or member.status not in LISTED:
        return web.render("message.html", key="members.web.not_found", params={}, status=404)
    target = f"member:{member.id}"
    if not await may_see(ctx, unit, target):  # another tổ, another union: audited
        return refusal(web)
    editable = await ctx.can_manage(unit)  # the board; a tổ trưởng only reads
    values = typed_values(member)
    errors: dict[str, str] = {}
    notices: list[tuple[str, str]] = []
    if web.method == "POST":
        if not editable:
            ctx.refuse(target, "board of unit")
            return refusal(web)
        action = web.value("action")
        if action == "save":
            values, errors, changed = await save_fields(web, member)
            if not errors:
                notices.append(("ok", t("profile.web.saved", count=changed)))
        elif action == "move" and member.status == ACTIVE:
            goal_id = textutil.number_or_none(web.value("unit"))
            goal = await units.get(ctx.session, goal_id) if goal_id is not None else None
            if goal is None or goal.id == unit.id:
                notices.append(("bad", t("members.web.pick_unit")))
            elif not await ctx.manages(goal, f"unit:{goal.id}"):  # a forged unit: audited
                return refusal(web)
            else:
                moved = await move_member(ctx, member, unit, goal)
                text = t("mm.moved", name=member.full_name, unit=goal.name, pledges=moved)
                notices.append(("ok", text))
                unit = goal
        elif action == "left" and member.status == ACTIVE and web.value("confirm") == "yes":
            await mark_left(ctx, member)
            notices.append(("ok", t("mm.left", name=member.full_name)))
        elif action == "back" and member.status == LEFT:
            await mark_back(ctx, member)
            notices.append(("ok", t("mm.back", name=member.full_name)))
        else:  # a stale page (the member's status changed) or a forged action
            notices.append(("bad", t("members.web.not_done")))
    else:
        ctx.audit("member_viewed", target=target, via="web")
    return web.render(
        "members/card.html",
        member=member,
        unit=unit.name,
        status=422 if errors else 200,
        editable=editable,
        fields=[(name, FIELDS[name]) for name in EDITABLE],
        shown=[(name, show(t, name, getattr(member, name))) for name in EDITABLE],
        values=values,
        errors=errors,
        notices=notices,
        targets=await _targets(web, member, unit) if editable else [],
        action=f"{MEMBER_PAGE}?id={member.id}",
        back=TABLE_PAGE,
    )


async def _targets(web: WebRequest, member: Member, unit: Unit) -> list[tuple[int, str, int]]:
    """The units an active member may move to (the chat's choice: the board's other units)."""
    if member.status != ACTIVE:
        return []
    tree = await move_targets(web.ctx, unit)
    return [(u.id or 0, u.name, u.path.count("/") - 2) for u, _parent in tree]
