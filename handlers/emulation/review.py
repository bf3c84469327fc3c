"""Year-end review (bình xét): members assess each title they pledged (/thidua_tudanhgia),
the board records the decision per member and title (/thidua_xet). Members who did not
register are not considered; the report counts the decided results against the targets.

The rules that apply when titles are awarded are checked here, on the situation at the review
day (31/12 of the campaign's year): time since joining, the titles a title needs reached first
(CSTĐCS needs LĐTT) and share caps (CSTĐCS: at most 15 % of those who reached LĐTT)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, PartSpec, payload, press_parts
from handlers import registry
from handlers.common import pickers
from handlers.emulation.campaign import ineligible_reason, percent, review_day, short_name
from handlers.emulation.collective import review_list
from models import emulation, members, units
from models.emulation import Campaign, Pledge
from models.members import Member

RESULTS = {"d": "dat", "c": "chua_dat"}
REVIEW_LIST = "emx_members"  # the members to review, searched by typed words


async def _campaign_for(ctx: Context, unit_id: int) -> Campaign | None:
    unit = await units.get(ctx.session, unit_id)
    return await emulation.latest_for(ctx.session, unit) if unit else None


@registry.command(
    "thidua_tudanhgia", access="member", where="private", help_key="help.cmd.thidua_tudanhgia"
)
async def self_assess(ctx: Context) -> None:
    if ctx.member is None:
        ctx.reply(ctx.t("profile.none"))
        return
    campaign = await _campaign_for(ctx, ctx.member.unit_id)
    if campaign is None:
        ctx.reply(ctx.t("emu.none_open"))
        return
    if ctx.now < campaign.deadline:
        ctx.reply(ctx.t("emu.review_not_yet"))
        return
    assert campaign.id is not None and ctx.member.id is not None
    mine = await emulation.pledges_of(ctx.session, campaign.id, ctx.member.id)
    if not mine:
        ctx.reply(ctx.t("emu.review_not_registered", year=campaign.year))
        return
    for item in mine:
        title = campaign.title(item.title_code)
        ctx.reply(
            Message(
                ctx.t(
                    "emu.review_item",
                    title=title["name"] if title else "?",
                    now=_result(ctx, item.self_result),
                ),
                buttons=[
                    [
                        Button(ctx.t("emu.btn.reached"), payload("emr", item.id, "d")),
                        Button(ctx.t("emu.btn.not_reached"), payload("emr", item.id, "c")),
                    ]
                ],
            )
        )


def _result(ctx: Context, value: str | None) -> str:
    return ctx.t(f"emu.result.{value}") if value else ctx.t("emu.result.none")


@registry.button("emr", access="member")
async def on_self_result(ctx: Context) -> None:
    pledge_id, result = press_parts(ctx.press_args, ID, RESULTS)
    item = await ctx.session.get(Pledge, pledge_id)
    if item is None or ctx.member is None or item.member_id != ctx.member.id:
        raise OutdatedPress()
    item.self_result = RESULTS[result]
    await ctx.set_dialog("emu_note", "note", {"pledge_id": item.id})
    ctx.reply(
        Message(
            ctx.t("emu.ask_note", result=_result(ctx, item.self_result)),
            buttons=[[Button(ctx.t("btn.skip"), payload("emrn"))]],
        )
    )


@registry.flow("emu_note")
async def on_note(ctx: Context) -> None:
    assert ctx.dialog is not None
    try:
        note = textutil.parse_free_text(ctx.event.text or "", max_len=300, min_len=2)
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))
        return
    item = await ctx.session.get(Pledge, ctx.dialog.data["pledge_id"])
    await ctx.end_dialog()
    if item is not None:
        item.self_note = note
    ctx.reply(ctx.t("emu.self_saved"))


@registry.button("emrn", access="member")
async def on_no_note(ctx: Context) -> None:
    press_parts(ctx.press_args)
    if ctx.dialog is not None and ctx.dialog.flow == "emu_note":
        await ctx.end_dialog()
    ctx.reply(ctx.t("emu.self_saved"))


@registry.command("thidua_xet", access="board", where="private", help_key="help.cmd.thidua_xet")
async def review(ctx: Context) -> None:
    await _review_list(ctx)


async def _review_list(
    ctx: Context, number: int = 0, query: str = "", *, edit: bool = False
) -> None:
    """The members who registered, a page at a time; typed words of a name search them."""
    roots = await ctx.board_roots()
    root_id = roots[0].id if roots else None
    campaign = await _campaign_for(ctx, root_id) if root_id is not None else None
    if campaign is None:
        await pickers.stop_listening(ctx)
        ctx.reply(ctx.t("emu.none_open"))
        return
    root = await units.get(ctx.session, campaign.unit_id)
    assert root is not None
    rows = await emulation.member_rows(ctx.session, campaign, root)
    pledged = [(mid, name, codes) for mid, name, _, codes in rows if codes]
    shorts = {t["code"]: short_name(t) for t in campaign.titles}
    choices = [
        pickers.Choice(
            f"{name} ({', '.join(shorts.get(c, c) for c in codes)})",
            payload("emx", "m", mid),
            key=name,
        )
        for mid, name, codes in pledged
    ]
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("emx", "lp", n),
        query=query,
        clear=payload("emx", "la"),
        hint="pick.hint.member",
    )
    if pickers.is_long(choices):
        await pickers.listen(ctx, REVIEW_LIST, [], query)
    head = ctx.t(
        "emu.review_list",
        year=campaign.year,
        pledged=len(pledged),
        total=len(rows),
        excluded=len(rows) - len(pledged),
    )
    caps = await cap_lines(ctx, campaign)
    if caps:
        head += "\n" + "\n".join(caps)
    buttons = [*shown.rows, [Button(ctx.t("emu.coll.btn_review"), payload("emx", "units"))]]
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(head), buttons=buttons, edit_ref=ref))


@pickers.searchable(REVIEW_LIST)
async def _search_members(ctx: Context, _args: list[str], query: str) -> None:
    if not ctx.is_board:  # roles may have changed since the list was shown
        await pickers.stop_listening(ctx)
        ctx.reply(ctx.t("access.board_only"))
        return
    await _review_list(ctx, 0, query)


@registry.button("emx", access="board")
async def on_review_button(ctx: Context) -> None:
    args = ctx.press_args
    # a page of members, all of them again, the collective titles, a member's card, a decision
    specs: dict[str, list[PartSpec]] = {
        "lp": [PAGE],
        "la": [],
        "units": [],
        "m": [ID],
        "r": [ID, RESULTS],
    }
    act, *parts = press_parts(args, specs, *specs.get(args[0] if args else "", []))
    if act == "lp":
        await _review_list(ctx, parts[0], pickers.listened_query(ctx, REVIEW_LIST, []), edit=True)
    elif act == "la":  # every member again, after a search
        await _review_list(ctx, edit=True)
    elif act == "units":
        roots = await ctx.board_roots()
        root_id = roots[0].id if roots else None
        campaign = await _campaign_for(ctx, root_id) if root_id is not None else None
        root = await units.get(ctx.session, campaign.unit_id) if campaign else None
        if campaign is None or root is None:
            raise OutdatedPress()
        await review_list(ctx, campaign, root)
    elif act == "m":
        await _member_card(ctx, parts[0])
    else:
        pledge_id, result = parts
        decision = await decide(ctx, pledge_id, RESULTS[result])
        if decision.outcome == MISSING:
            raise OutdatedPress()
        if decision.outcome == PROBLEM:
            ctx.reply(decision.problem)
        elif decision.outcome == DECIDED and decision.pledge is not None:
            await _member_card(ctx, decision.pledge.member_id)


# What became of one decision: recorded; refused by a review rule (the problem says why); not
# this board's (refused, audited); no such pledge.
DECIDED, PROBLEM, REFUSED, MISSING = "decided", "problem", "refused", "missing"


@dataclass(frozen=True)
class Decision:
    outcome: str
    pledge: Pledge | None = None
    problem: str = ""


async def decide(
    ctx: Context, pledge_id: int, result: str, campaign_id: int | None = None
) -> Decision:
    """The board records `result` ("dat", "chua_dat") for one pledge, by the review's rules:
    only in a unit it manages (else refused and audited), and only when the rules allow it;
    audited `pledge_decided`. `campaign_id`: only a pledge of that campaign (a web form)."""
    item = await ctx.session.get(Pledge, pledge_id)
    member = await members.get(ctx.session, item.member_id) if item else None
    unit = await units.get(ctx.session, member.unit_id) if member else None
    campaign = await ctx.session.get(Campaign, item.campaign_id) if item else None
    if item is None or member is None or unit is None or campaign is None:
        return Decision(MISSING)
    if not await ctx.manages(unit, f"pledge:{item.id}"):
        return Decision(REFUSED, item)
    if campaign_id is not None and item.campaign_id != campaign_id:
        return Decision(MISSING)
    problem = await _decision_problem(ctx, campaign, item, member, result)
    if problem:
        return Decision(PROBLEM, item, problem)
    item.result = result
    ctx.audit("pledge_decided", target=f"pledge:{item.id}", result=item.result)
    return Decision(DECIDED, item)


async def cap_state(
    ctx: Context, campaign: Campaign, title: dict[str, Any], exclude_pledge: int | None = None
) -> tuple[int, int, int]:
    """(awarded, places, base) of a capped title: CSTĐCS awarded so far, the places (15 % of
    those who reached LĐTT, rounded down: "không quá 15 %") and how many reached LĐTT."""
    cap = title["max_share"]
    assert campaign.id is not None
    base = await emulation.count_reached(ctx.session, campaign.id, cap["of"])
    used = await emulation.count_reached(ctx.session, campaign.id, title["code"], exclude_pledge)
    return used, math.floor(base * float(cap["percent"]) / 100 + 1e-9), base


def _cap_params(ctx: Context, campaign: Campaign, title: dict[str, Any]) -> dict[str, Any]:
    other = campaign.title(title["max_share"]["of"])
    return {
        "title": title["name"],
        "percent": percent(ctx.t, title["max_share"]["percent"], exact=True),
        "other": other["name"] if other else title["max_share"]["of"],
    }


async def cap_line(ctx: Context, campaign: Campaign, title: dict[str, Any]) -> str:
    used, places, base = await cap_state(ctx, campaign, title)
    return ctx.t(
        "emu.review.cap",
        used=ctx.t.number(used),
        places=ctx.t.number(places),
        base=ctx.t.number(base),
        **_cap_params(ctx, campaign, title),
    )


async def cap_lines(ctx: Context, campaign: Campaign) -> list[str]:
    """Where each capped title stands ("đã xét 2/3 suất"), as the review list shows it."""
    return [await cap_line(ctx, campaign, t) for t in campaign.titles if t.get("max_share")]


async def _decision_problem(
    ctx: Context, campaign: Campaign, item: Pledge, member: Member, result: str
) -> str | None:
    """Why the board cannot record `result` for this pledge, or None. The rules that apply
    when titles are awarded: the member's situation at the review day, the titles it needs
    reached first, and a share cap (CSTĐCS: at most 15 % of those who reached LĐTT)."""
    title = campaign.title(item.title_code)
    if title is None or result == item.result:
        return None
    assert campaign.id is not None and member.id is not None
    mine = {
        p.title_code: p for p in await emulation.pledges_of(ctx.session, campaign.id, member.id)
    }

    def name(code: str) -> str:
        found = campaign.title(code)
        return found["name"] if found else code

    if result != "dat":  # taking an award back: nothing awarded may stand on it
        for other in campaign.titles if item.result == "dat" else []:
            leaning = mine.get(other["code"])
            needs_it = item.title_code in (other.get("requires") or [])
            if needs_it and leaning is not None and leaning.result == "dat":
                return ctx.t("emu.review.required_by", title=title["name"], other=other["name"])
        return None
    key, params = ineligible_reason(title, member, review_day(campaign.year))
    if key:
        return ctx.t("emu.review.not_eligible", title=title["name"], reason=ctx.t(key, **params))
    for needed in title.get("requires") or []:
        if needed not in mine or mine[needed].result != "dat":
            return ctx.t("emu.review.needs", title=title["name"], other=name(needed))
    if title.get("max_share"):
        used, places, base = await cap_state(ctx, campaign, title, exclude_pledge=item.id)
        if used + 1 > places:
            return ctx.t(
                "emu.cap_reached",
                used=ctx.t.number(used),
                places=ctx.t.number(places),
                base=ctx.t.number(base),
                **_cap_params(ctx, campaign, title),
            )
    return None


async def _member_card(ctx: Context, member_id: int) -> None:
    member = await members.get(ctx.session, member_id)
    unit = await units.get(ctx.session, member.unit_id) if member else None
    campaign = await _campaign_for(ctx, member.unit_id) if member else None
    if member is None or unit is None or campaign is None:
        raise OutdatedPress()
    if not await ctx.manages(unit, f"member:{member.id}"):
        return
    assert campaign.id is not None
    lines = [ctx.t("emu.card", name=member.full_name, unit=unit.name)]
    buttons = []
    capped = []
    for item in await emulation.pledges_of(ctx.session, campaign.id, member_id):
        title = campaign.title(item.title_code)
        if title and title.get("max_share"):
            capped.append(title)
        name = title["name"] if title else item.title_code
        lines.append(
            ctx.t(
                "emu.card_line",
                title=name,
                own=_result(ctx, item.self_result),
                note=item.self_note or "—",
                decided=_result(ctx, item.result),
            )
        )
        buttons.append(
            [
                Button(f"✅ {name}", payload("emx", "r", item.id, "d")),
                Button(f"❌ {name}", payload("emx", "r", item.id, "c")),
            ]
        )
    lines += [await cap_line(ctx, campaign, title) for title in capped]
    ctx.reply(Message("\n".join(lines), buttons=buttons))
