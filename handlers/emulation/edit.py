"""/thidua_sua: the board changes a running campaign.

The deadline can move (reminders are re-planned and those who have not registered are told);
titles can be added or taken out. A title taken out after members pledged it stays in the
campaign flagged "removed": nobody can pick it any more, existing pledges stay visible.
"""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.registry import OutdatedPress, code_part, payload
from handlers import registry
from handlers.common.dialogs import dialog_press
from handlers.emulation.campaign import plan_deadline_reminders, read_deadline, send_to_members
from handlers.emulation.report import campaign_of_board
from models import emulation, reminders, units
from models.emulation import Campaign

FLOW = "emu_edit"


@registry.command("thidua_sua", access="board", where="private", help_key="help.cmd.thidua_sua")
async def edit_campaign(ctx: Context) -> None:
    found = await campaign_of_board(ctx)
    if found is None:
        ctx.reply(ctx.t("emu.none_open"))
        return
    campaign, _ = found
    await ctx.set_dialog(FLOW, "menu", {"campaign_id": campaign.id})
    ctx.reply(
        Message(
            ctx.t(
                "emu.edit.menu",
                year=campaign.year,
                deadline=ctx.t.date(campaign.deadline.astimezone(ctx.t.tz).date()),
            ),
            buttons=[
                [Button(ctx.t("emu.edit.btn_deadline"), payload("eme", "deadline"))],
                [Button(ctx.t("emu.edit.btn_titles"), payload("eme", "titles"))],
                [Button(ctx.t("btn.cancel"), payload("eme", "cancel"))],
            ],
        )
    )


async def _campaign(ctx: Context, data: dict) -> Campaign | None:
    campaign = await ctx.session.get(Campaign, data["campaign_id"])
    root = await units.get(ctx.session, campaign.unit_id) if campaign else None
    if campaign is None or root is None:
        raise OutdatedPress(end_dialog=True)
    if not await ctx.manages(root, f"campaign:{campaign.id}"):
        return None
    return campaign


# What each button of the dialog carries after its action (see dialog_press).
ACTIONS = {"deadline": None, "titles": None, "t": code_part, "done": None}


@registry.button("eme", access="board")
async def on_button(ctx: Context) -> None:
    press = await dialog_press(ctx, FLOW, "emu.session_over", ACTIONS)
    if press is None:
        return
    _, data, act, arg = press
    campaign = await _campaign(ctx, data)
    if campaign is None:
        return
    if act == "deadline":
        await ctx.set_dialog(FLOW, "deadline", data)
        ctx.reply(ctx.t("emu.edit.ask_deadline", year=campaign.year))
    elif act == "titles":
        await _show_titles(ctx, campaign)
    elif act == "t":
        await _toggle_title(ctx, campaign, arg)
    else:
        await ctx.end_dialog()
        ctx.reply(ctx.t("emu.edit.closed"))


@registry.flow(FLOW)
async def on_deadline(ctx: Context) -> None:
    assert ctx.dialog is not None
    if ctx.dialog.step != "deadline":
        ctx.reply(ctx.t("bc.use_buttons"))
        return
    campaign = await _campaign(ctx, ctx.dialog.data)
    if campaign is None:
        return
    deadline = read_deadline(ctx, campaign.year)
    if deadline is None:
        return
    day = deadline.date()
    old = campaign.deadline
    assert campaign.id is not None
    await emulation.move_deadline(session=ctx.session, campaign=campaign, deadline=deadline)
    await reminders.skip_for(
        ctx.session,
        ["emulation_deadline"],
        campaign.id,
        ctx.now,
        "deadline moved",
    )
    await plan_deadline_reminders(ctx.app, ctx.session, campaign, ctx.now)
    ctx.replan = True
    await ctx.end_dialog()
    root = await units.get(ctx.session, campaign.unit_id)
    assert root is not None
    missing = await emulation.members_without_pledge(ctx.session, campaign, root)
    shown = ctx.t.date(day)
    queued = await send_to_members(
        ctx.app,
        ctx.session,
        campaign,
        f"emu-deadline:{campaign.id}:{day.isoformat()}:{int(ctx.now.timestamp())}",
        ctx.t("emu.edit.deadline_notice", year=campaign.year, deadline=shown),
        missing,
        ctx.now,
    )
    ctx.audit(
        "emulation_deadline_moved",
        target=f"campaign:{campaign.id}",
        old=old.isoformat(),
        new=deadline.isoformat(),
    )
    ctx.reply(ctx.t("emu.edit.deadline_done", deadline=shown, count=ctx.t.number(queued)))


def _catalogue(ctx: Context, campaign: Campaign) -> list[dict]:
    """The campaign's own titles, then the configured ones it does not have yet."""
    own = campaign.titles
    codes = {t["code"] for t in own}
    extra = [t.model_dump() for t in ctx.app.settings.emulation.titles if t.code not in codes]
    return own + extra


async def _show_titles(ctx: Context, campaign: Campaign, edit: bool = False) -> None:
    rows = []
    for title in _catalogue(ctx, campaign):
        offered = campaign.title(title["code"]) is not None and not title.get("removed")
        rows.append(
            [
                Button(
                    f"{'✅' if offered else '⬜'} {title['name']}",
                    payload("eme", "t", title["code"]),
                )
            ]
        )
    rows.append([Button(ctx.t("btn.done"), payload("eme", "done"))])
    ctx.reply(
        Message(
            ctx.t("emu.edit.titles", year=campaign.year),
            buttons=rows,
            edit_ref=ctx.event.message_ref if edit else None,
        )
    )


async def _toggle_title(ctx: Context, campaign: Campaign, code: str) -> None:
    assert campaign.id is not None
    titles = campaign.titles
    current = next((t for t in titles if t["code"] == code), None)
    names = {t["code"]: t["name"] for t in _catalogue(ctx, campaign)}
    if code not in names:
        raise OutdatedPress(code)
    live = {t["code"] for t in titles if not t.get("removed")}
    if current is not None and code in live:
        needed_by = [
            t["name"] for t in titles if code in t.get("requires", []) and t["code"] in live
        ]
        if needed_by:
            ctx.reply(ctx.t("emu.edit.required_by", title=names[code], others=", ".join(needed_by)))
            return
        current["removed"] = True
        note = ctx.t(
            "emu.edit.removed",
            title=names[code],
            count=await emulation.count_title(ctx.session, campaign.id, code),
        )
        action = "emulation_title_removed"
    else:
        spec = current or next(
            t.model_dump() for t in ctx.app.settings.emulation.titles if t.code == code
        )
        missing = [names.get(r, r) for r in spec.get("requires", []) if r not in live]
        if missing:
            ctx.reply(ctx.t("emu.edit.needs_first", title=names[code], others=", ".join(missing)))
            return
        spec.pop("removed", None)
        if current is None:
            titles.append(spec)
        note = ctx.t("emu.edit.added", title=names[code])
        action = "emulation_title_added"
    await emulation.set_titles(session=ctx.session, campaign=campaign, titles=titles)
    ctx.audit(action, target=f"campaign:{campaign.id}", title=code)
    await _show_titles(ctx, campaign, edit=True)
    ctx.reply(note)
