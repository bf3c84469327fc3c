"""/hop: a board member (or a tổ trưởng for their tổ) plans a meeting step by step.

kind → title → start → end → place → agenda → unit → audience → reminders → repeat → preview.
Every typed time is echoed back in full ("Thứ Sáu, 20/12/2026 14:00") before it is used.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import textutil, timeparse
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload
from handlers import registry
from handlers.common import audiences, pickers
from handlers.common.audiences import AUDIENCES
from handlers.common.dialogs import dialog_press
from handlers.common.fields import field_error
from handlers.meetings.plan import create, describe
from models import meetings, units
from models.meetings import Meeting
from models.units import Unit

FLOW = "meeting"
MEETING_AUDIENCES = ("all", "bch", "to_truong", "women")
REPEATS = ("", "weekly", "monthly_nth", "monthly_day")
# The typed steps whose errors name their field.
TEXT_FIELDS = {"title": "mt.field.title", "place": "mt.field.place", "agenda": "mt.field.agenda"}
DURATIONS = (60, 120, 240)  # minutes, the buttons of the end step
# The reminder buttons: what each carries, and the offsets it means.
OFFSET_CHOICES = {"1440,60": [1440, 60], "60": [60], "-": []}


def _cancel_row(ctx: Context) -> list[Button]:
    return [Button(ctx.t("btn.cancel"), payload("mk", "cancel"))]


@registry.command(
    "hop",
    access="organiser",
    where="private",
    help_key="help.cmd.hop",
    menu=True,
    refused="mt.not_organiser",
)
async def start(ctx: Context) -> None:
    await ctx.set_dialog(FLOW, "kind", {})
    buttons = [[Button(ctx.t(f"mt.kind.{k}"), payload("mk", "kind", k))] for k in meetings.KINDS]
    ctx.reply(Message(ctx.t("mt.ask.kind"), buttons=[*buttons, _cancel_row(ctx)]))


@registry.flow(FLOW)
async def on_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    step, data, text = ctx.dialog.step, ctx.dialog.data, (ctx.event.text or "").strip()
    if ctx.event.text is None:
        ctx.reply(ctx.t("input.text_expected"))
        return
    try:
        if step == "title":
            data["title"] = textutil.parse_free_text(text, max_len=200, min_len=3)
            await _ask(ctx, "start", data)
        elif step == "start":
            await _start_typed(ctx, data, text)
        elif step == "end":
            start_at = datetime.fromisoformat(data["starts"])
            end = timeparse.parse_duration_or_end(text, start=start_at, tz=ctx.t.tz)
            await _end_chosen(ctx, data, end)
        elif step == "place":
            data["place"] = textutil.parse_free_text(text, max_len=300, min_len=2)
            await _ask(ctx, "agenda", data)
        elif step == "agenda":
            data["agenda"] = textutil.parse_free_text(text, max_len=2000)
            await _ask_unit(ctx, data)
        elif step == "offsets":
            await _offsets_chosen(ctx, data, timeparse.parse_offsets(text))
        elif step == "unit" and text:
            unit = await units.by_code(ctx.session, text)
            if unit is not None:
                await _unit_chosen(ctx, data, unit)
            else:  # not a code: words of a unit's name
                pickers.query_from(data, text)
                await _ask_unit(ctx, data)
        else:
            ctx.reply(ctx.t("bc.use_buttons"))
    except textutil.InvalidInput as bad:
        ctx.reply(field_error(ctx.t, bad, TEXT_FIELDS.get(step)))
        await _ask(ctx, step, data)


async def _start_typed(ctx: Context, data: dict[str, Any], text: str) -> None:
    when = timeparse.parse_local_datetime(text, now=ctx.now, tz=ctx.t.tz)
    data["starts"] = when.isoformat()
    ctx.reply(ctx.t("mt.understood", when=ctx.t.datetime(when)))
    await _ask(ctx, "end", data)


async def _end_chosen(ctx: Context, data: dict[str, Any], end: datetime) -> None:
    if end <= datetime.fromisoformat(data["starts"]):
        raise textutil.InvalidInput("invalid.datetime.end_before_start")
    data["ends"] = end.isoformat()
    await _ask(ctx, "place", data)


async def _ask(ctx: Context, step: str, data: dict[str, Any]) -> None:
    await ctx.set_dialog(FLOW, step, data)
    t = ctx.t
    buttons: list[list[Button]] = []
    if step == "title":
        buttons.append(
            [Button(t("mt.btn.suggested", title=data["title_hint"]), payload("mk", "title"))]
        )
    elif step == "end":
        buttons.append(
            [Button(t("mt.btn.hours", n=m // 60), payload("mk", "dur", m)) for m in DURATIONS]
        )
    elif step == "agenda":
        buttons.append([Button(t("btn.skip"), payload("mk", "noagenda"))])
    elif step == "offsets":
        buttons += [
            [Button(t("mt.btn.offsets_default"), payload("mk", "off", "1440,60"))],
            [Button(t("mt.btn.offsets_hour"), payload("mk", "off", "60"))],
            [Button(t("mt.btn.offsets_none"), payload("mk", "off", "-"))],
        ]
    elif step == "repeat":
        start = datetime.fromisoformat(data["starts"]).astimezone(t.tz)
        nth = (start.day - 1) // 7 + 1
        labels = {
            "": t("mt.repeat.none"),
            "weekly": t("mt.repeat.weekly_button"),
            "monthly_nth": t(
                "mt.repeat.monthly_nth_at", nth=t(f"mt.nth.{nth}"), weekday=t.weekday(start)
            ),
            "monthly_day": t("mt.repeat.monthly_day_at", day=start.day),
        }
        buttons += [[Button(labels[r], payload("mk", "rep", r or "-"))] for r in REPEATS]
    buttons.append(_cancel_row(ctx))
    ctx.reply(Message(t(f"mt.ask.{step}"), buttons=buttons))


async def _ask_unit(
    ctx: Context, data: dict[str, Any], number: int = 0, *, edit: bool = False
) -> None:
    """Every unit the organiser may call a meeting for, a page at a time; typed words search."""
    tree = await pickers.unit_tree(ctx.session, await ctx.organiser_roots())
    if len(tree) == 1:
        await _unit_chosen(ctx, data, tree[0][0])
        return
    await ctx.set_dialog(FLOW, "unit", data)
    shown = pickers.page(
        ctx.t,
        pickers.unit_choices(tree, lambda u: payload("mk", "unit", u.id)),
        number,
        turn=lambda n: payload("mk", "upg", n),
        query=pickers.current_query(data),
        clear=payload("mk", "uall"),
    )
    ctx.reply(
        Message(
            shown.text(ctx.t("mt.ask.unit")),
            buttons=[*shown.rows, _cancel_row(ctx)],
            edit_ref=ctx.event.message_ref if edit else None,
        )
    )


async def _unit_chosen(ctx: Context, data: dict[str, Any], unit: Unit | None) -> None:
    if unit is None or not await ctx.can_organise(unit):
        ctx.refuse(f"unit:{unit.code if unit else '?'}", "organiser of unit")
        return
    data["unit_id"] = unit.id
    data.pop(pickers.QUERY, None)
    await ctx.set_dialog(FLOW, "audience", data)
    buttons = [
        [Button(ctx.t(AUDIENCES[k].label_key), payload("mk", "aud", k))] for k in MEETING_AUDIENCES
    ]
    ctx.reply(
        Message(ctx.t("mt.ask.audience", unit=unit.name), buttons=[*buttons, _cancel_row(ctx)])
    )


async def _offsets_chosen(ctx: Context, data: dict[str, Any], offsets: list[int]) -> None:
    start = datetime.fromisoformat(data["starts"])
    left = start - ctx.now
    too_long = [m for m in offsets if timedelta(minutes=m) >= left]
    if too_long:
        ctx.reply(
            ctx.t(
                "mt.offset_too_long",
                offset=_offset_text(ctx, too_long[0]),
                left=_offset_text(ctx, int(left.total_seconds() // 60)),
            )
        )
        await _ask(ctx, "offsets", data)
        return
    data["offsets"] = offsets
    await _ask(ctx, "repeat", data)


def _offset_text(ctx: Context, minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        ctx.t("mt.days", n=days) if days else "",
        ctx.t("mt.hours", n=hours) if hours else "",
        ctx.t("mt.minutes", n=mins) if mins else "",
    ]
    return " ".join(p for p in parts if p) or ctx.t("mt.minutes", n=0)


async def _preview(ctx: Context, data: dict[str, Any]) -> None:
    unit = await units.get(ctx.session, data["unit_id"])
    assert unit is not None and unit.id is not None
    invited = (await audiences.count(ctx.session, data["audience"], unit)).people
    if not invited:
        ctx.reply(ctx.t("mt.nobody"))
        await _unit_chosen(ctx, data, unit)
        return
    await ctx.set_dialog(FLOW, "confirm", data)
    sample = Meeting(
        unit_id=unit.id,
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts"]),
        ends_at=datetime.fromisoformat(data["ends"]),
        place=data.get("place", ""),
        agenda=data.get("agenda") or "",
        repeat=data.get("repeat", ""),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    offsets = data.get("offsets") or []
    reminders = ", ".join(_offset_text(ctx, m) for m in offsets) or ctx.t("mt.no_reminders")
    text = "\n".join(
        [
            ctx.t("mt.preview"),
            "",
            describe(ctx.t, sample, unit.name),
            ctx.t(
                "mt.preview_audience",
                audience=ctx.t(AUDIENCES[data["audience"]].label_key),
                count=ctx.t.number(invited),
            ),
            ctx.t("mt.preview_reminders", reminders=reminders),
        ]
    )
    ctx.reply(
        Message(
            text, buttons=[[Button(ctx.t("mt.btn.send"), payload("mk", "go"))], _cancel_row(ctx)]
        )
    )


# What each of the dialog's buttons carries after its action (see dialog_press).
ACTIONS = {
    "kind": meetings.KINDS,
    "title": None,
    "dur": [str(m) for m in DURATIONS],
    "noagenda": None,
    "unit": ID,
    "upg": PAGE,
    "uall": None,
    "aud": MEETING_AUDIENCES,
    "off": OFFSET_CHOICES,
    "rep": [r or "-" for r in REPEATS],
    "go": None,
}


@registry.button("mk", access="member")
async def on_button(ctx: Context) -> None:
    press = await dialog_press(ctx, FLOW, "mt.session_over", ACTIONS)
    if press is None:
        return
    step, data, action, arg = press
    try:
        await _press(ctx, step, data, action, arg)
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))
        await _ask(ctx, step, data)


async def _press(ctx: Context, step: str, data: dict[str, Any], action: str, arg: Any) -> None:
    if action == "kind" and step == "kind":
        data["kind"] = arg
        data["title_hint"] = ctx.t(f"mt.kind.{arg}")
        await _ask(ctx, "title", data)
    elif action == "title" and step == "title":
        data["title"] = data["title_hint"]
        await _ask(ctx, "start", data)
    elif action == "dur" and step == "end":
        await _end_chosen(
            ctx, data, datetime.fromisoformat(data["starts"]) + timedelta(minutes=int(arg))
        )
    elif action == "noagenda" and step == "agenda":
        data["agenda"] = ""
        await _ask_unit(ctx, data)
    elif action == "unit" and step == "unit":
        await _unit_chosen(ctx, data, await units.get(ctx.session, arg))
    elif action == "upg" and step == "unit":
        await _ask_unit(ctx, data, arg, edit=True)
    elif action == "uall" and step == "unit":
        data.pop(pickers.QUERY, None)
        await _ask_unit(ctx, data, edit=True)
    elif action == "aud" and step == "audience":
        data["audience"] = arg
        await _ask(ctx, "offsets", data)
    elif action == "off" and step == "offsets":
        await _offsets_chosen(ctx, data, OFFSET_CHOICES[arg])
    elif action == "rep" and step == "repeat":
        data["repeat"] = "" if arg == "-" else arg
        await _preview(ctx, data)
    elif action == "go" and step == "confirm":
        await _confirm(ctx, data)
    else:
        raise OutdatedPress(action)


async def _confirm(ctx: Context, data: dict[str, Any]) -> None:
    if datetime.fromisoformat(data["starts"]) <= ctx.now:
        ctx.reply(ctx.t("invalid.datetime.past"))
        await _ask(ctx, "start", data)
        return
    meeting, queued = await create(
        ctx.app,
        ctx.session,
        meetings.MeetingDraft.model_validate(data),
        organiser=ctx.member.id if ctx.member else None,
        platform=ctx.event.platform,
        chat_id=ctx.event.chat_id,
        now=ctx.now,
    )
    await ctx.end_dialog()
    ctx.replan = True
    ctx.audit(
        "meeting_created", target=f"meeting:{meeting.id}", title=meeting.title, invited=queued
    )
    ctx.reply(
        ctx.t(
            "mt.created", title=meeting.title, count=ctx.t.number(queued), code=meeting.checkin_code
        )
    )
