"""Collective titles (danh hiệu tập thể, e.g. "Tổ công đoàn vững mạnh"): a unit's own leaders
(tổ trưởng) or the board register their unit before the deadline (/thidua_tapthe); the board
decides the result at the year-end review."""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.registry import ID, OutdatedPress, PartSpec, code_part, payload, press_parts
from bot.registry import PAGE as PAGE_NUMBER
from handlers import registry
from handlers.common import pickers
from models import emulation, units
from models.emulation import Campaign, UnitPledge
from models.roles import TO_TRUONG
from models.units import Unit

LED_LIST = "etp_units"  # the units someone may register, searched by typed words
PAGE = 10  # collective pledges per review page
RESULTS = {"d": "dat", "c": "chua_dat"}


async def units_led_by(ctx: Context) -> list[Unit]:
    """Units this person may register: those they lead as tổ trưởng, and every unit below
    the CĐCS they sit on the board of."""
    found: dict[int, Unit] = {}
    for role, unit in ctx.roles:
        if role == TO_TRUONG:
            assert unit.id is not None
            found[unit.id] = unit
    for root in await ctx.board_roots():
        for unit in await units.subtree(ctx.session, root):
            if unit.id != root.id:
                assert unit.id is not None
                found[unit.id] = unit
    return sorted(found.values(), key=lambda u: u.path)


def collective_titles(campaign: Campaign) -> list[dict]:
    return [t for t in campaign.titles if t["kind"] == "collective" and not t.get("removed")]


@registry.command(
    "thidua_tapthe", access="organiser", where="private", help_key="help.cmd.thidua_tapthe"
)
async def collective(ctx: Context) -> None:
    led = await units_led_by(ctx)
    if not led:  # a board whose CĐCS has no tổ
        ctx.reply(ctx.t("access.leaders_only"))
        return
    if len(led) == 1:
        await _show_unit(ctx, led[0])
        return
    await _pick_unit(ctx, led)


async def _pick_unit(
    ctx: Context, led: list[Unit], number: int = 0, query: str = "", *, edit: bool = False
) -> None:
    """The units this person may register, a page at a time; typed words search them."""
    ids = {u.id for u in led}
    tree = [
        p for p in await pickers.unit_tree(ctx.session, await ctx.board_roots()) if p[0].id in ids
    ]
    listed = {u.id for u, _ in tree}
    tree += [(u, None) for u in led if u.id not in listed]  # a tổ trưởng's own tổ
    choices = pickers.unit_choices(tree, lambda u: payload("etp", "u", u.id))
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("etp", "lp", n),
        query=query,
        clear=payload("etp", "la"),
    )
    if pickers.is_long(choices):
        await pickers.listen(ctx, LED_LIST, [], query)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(ctx.t("emu.coll.pick_unit")), buttons=shown.rows, edit_ref=ref))


@pickers.searchable(LED_LIST)
async def _search_led(ctx: Context, _args: list[str], query: str) -> None:
    led = await units_led_by(ctx)
    if not led:
        await pickers.stop_listening(ctx)
        ctx.reply(ctx.t("access.leaders_only"))
        return
    await _pick_unit(ctx, led, 0, query)


async def _show_unit(ctx: Context, unit: Unit, edit: bool = False) -> None:
    campaign = await emulation.open_for(ctx.session, unit, ctx.now)
    if campaign is None:
        ctx.reply(ctx.t("emu.none_open"))
        return
    titles = collective_titles(campaign)
    if not titles:
        ctx.reply(ctx.t("emu.coll.none_offered", year=campaign.year))
        return
    assert campaign.id is not None and unit.id is not None
    pledged = {
        p.title_code for p in await emulation.unit_pledges(ctx.session, campaign.id, [unit.id])
    }
    lines = [
        ctx.t(
            "emu.coll.title",
            unit=unit.name,
            year=campaign.year,
            deadline=ctx.t.date(campaign.deadline.astimezone(ctx.t.tz).date()),
        )
    ]
    buttons = []
    for title in titles:
        mark = "✅" if title["code"] in pledged else "⬜"
        lines.append(
            f"{mark} {title['name']}"
            + (f" — {title['description']}" if title.get("description") else "")
        )
        buttons.append(
            [Button(f"{mark} {title['name']}", payload("etp", "t", unit.id, title["code"]))]
        )
    ctx.reply(
        Message("\n".join(lines), buttons=buttons, edit_ref=ctx.event.message_ref if edit else None)
    )


@registry.button("etp", access="organiser")
async def on_button(ctx: Context) -> None:
    args = ctx.press_args
    # a unit picked, a title toggled for it, a page of the unit list or all of it again
    specs: dict[str, list[PartSpec]] = {
        "u": [ID],
        "t": [ID, code_part],
        "lp": [PAGE_NUMBER],
        "la": [],
    }
    act, *parts = press_parts(args, specs, *specs.get(args[0] if args else "", []))
    if act in ("u", "t"):
        unit = await units.get(ctx.session, parts[0])
        if unit is None:
            raise OutdatedPress(args)
        if unit.id not in {u.id for u in await units_led_by(ctx)}:
            ctx.refuse(f"unit:{unit.code}", "unit leader")
            return
        if act == "u":
            await pickers.stop_listening(ctx)
            await _show_unit(ctx, unit)
        else:
            await _toggle(ctx, unit, parts[1])
    elif act in ("lp", "la"):  # the unit list: a page, or all
        number = parts[0] if act == "lp" else 0
        query = pickers.listened_query(ctx, LED_LIST, []) if act == "lp" else ""
        led = await units_led_by(ctx)
        if not led:
            ctx.reply(ctx.t("access.leaders_only"))
            return
        await _pick_unit(ctx, led, number, query, edit=True)


@registry.button("etd", access="board")
async def on_review_button(ctx: Context) -> None:
    """The board's review of collective titles: a page of it, or a decision."""
    args = ctx.press_args
    specs: dict[str, list[PartSpec]] = {"p": [PAGE_NUMBER], "r": [ID, RESULTS]}
    act, *parts = press_parts(args, specs, *specs.get(args[0] if args else "", []))
    if act == "r":
        await _decide(ctx, parts[0], RESULTS[parts[1]])
        return
    roots = await ctx.board_roots()  # the review of the board's own CĐCS only
    campaign = await emulation.latest_for(ctx.session, roots[0]) if roots else None
    root = await units.get(ctx.session, campaign.unit_id) if campaign else None
    if campaign is None or root is None:
        raise OutdatedPress(args)
    await review_list(ctx, campaign, root, parts[0])


async def _toggle(ctx: Context, unit: Unit, code: str) -> None:
    campaign = await emulation.open_for(ctx.session, unit, ctx.now)
    if campaign is None:
        ctx.reply(ctx.t("emu.deadline_passed"))
        return
    if code not in {t["code"] for t in collective_titles(campaign)}:
        raise OutdatedPress(code)
    assert campaign.id is not None and unit.id is not None
    saved = await emulation.toggle_unit_pledge(
        session=ctx.session,
        campaign_id=campaign.id,
        unit_id=unit.id,
        code=code,
        by=ctx.member.id if ctx.member else None,
        at=ctx.now,
    )
    ctx.audit(
        "unit_pledge_saved" if saved else "unit_pledge_removed",
        target=f"unit:{unit.code}",
        title=code,
    )
    await _show_unit(ctx, unit, edit=True)


# --- year-end review (board) -------------------------------------------------------------------
async def review_list(ctx: Context, campaign: Campaign, root: Unit, page: int = 0) -> None:
    """The units that registered a collective title, each with its decision buttons, a page
    at a time."""
    assert campaign.id is not None
    tree = {u.id: u for u in await units.subtree(ctx.session, root)}
    rows = [p for p in await emulation.unit_pledges(ctx.session, campaign.id) if p.unit_id in tree]
    if not rows:
        ctx.reply(ctx.t("emu.coll.review_none", year=campaign.year))
        return
    pages = (len(rows) + PAGE - 1) // PAGE
    page = max(0, min(page, pages - 1))
    lines = [ctx.t("emu.coll.review_title", year=campaign.year)]
    if pages > 1:
        lines.append(ctx.t("emu.coll.page", page=page + 1, pages=pages))
    buttons = []
    for pledge in rows[page * PAGE : (page + 1) * PAGE]:
        title = campaign.title(pledge.title_code)
        name = title["name"] if title else pledge.title_code
        decided = (
            ctx.t(f"emu.result.{pledge.result}") if pledge.result else ctx.t("emu.result.none")
        )
        unit_name = tree[pledge.unit_id].name
        lines.append(f"• {unit_name} — {name}: {decided}")
        buttons.append(
            [
                Button(f"✅ {unit_name}", payload("etd", "r", pledge.id, "d")),
                Button(f"❌ {unit_name}", payload("etd", "r", pledge.id, "c")),
            ]
        )
    nav = []
    if page > 0:
        nav.append(Button(ctx.t("btn.prev"), payload("etd", "p", page - 1)))
    if page + 1 < pages:
        nav.append(Button(ctx.t("btn.next"), payload("etd", "p", page + 1)))
    if nav:
        buttons.append(nav)
    ctx.reply(Message("\n".join(lines), buttons=buttons))


async def _decide(ctx: Context, pledge_id: int, result: str) -> None:
    pledge = await ctx.session.get(UnitPledge, pledge_id)
    unit = await units.get(ctx.session, pledge.unit_id) if pledge else None
    campaign = await ctx.session.get(Campaign, pledge.campaign_id) if pledge else None
    if pledge is None or unit is None or campaign is None:
        raise OutdatedPress(str(pledge_id))
    if not await ctx.manages(unit, f"unit_pledge:{pledge.id}"):
        return
    await emulation.decide_unit_pledge(session=ctx.session, pledge=pledge, result=result)
    ctx.audit("unit_pledge_decided", target=f"unit_pledge:{pledge.id}", result=result)
    root = await units.get(ctx.session, campaign.unit_id)
    assert root is not None
    await review_list(ctx, campaign, root)
