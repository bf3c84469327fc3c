"""Emulation (thi đua): the board opens a campaign (/thidua_mo), members register the titles
they commit to (/thidua) before the deadline, and those who have not are reminded.

Titles, their eligibility rules and the targets come from the configuration (a snapshot is
kept in each campaign), never from code.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import Number, OutdatedPress, PartSpec, code_part, payload
from bot.webui.entry import page_button
from handlers import registry
from handlers.common import audiences
from handlers.common.dialogs import dialog_press
from handlers.emulation.settings import DEFAULT_TITLES
from models import emulation, reminders, units
from models.emulation import Campaign
from models.members import Member
from models.outbox import DeliveryJob, OutboxMessage
from models.reminders import Reminder
from models.units import Unit
from scheduler import action

OPEN_FLOW, PLEDGE_FLOW = "emu_open", "emu_pledge"
FORM_PAGE = "/web/thidua"  # registering pledges as one form


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def review_day(year: int) -> date:
    """The day the year-end review judges a campaign's year on: conditions such as "10 months
    since joining" are counted to it, not to the day someone registers."""
    return date(year, 12, 31)


def percent(t: Any, value: float, *, exact: bool = False) -> str:
    """A percentage as the reader writes it: "15 %" / "12,5 %" in Vietnamese (a no-break
    space, so the sign never wraps alone), "15%" in English. A measured share is rounded to a
    whole number; a configured one (`exact`) keeps its decimal."""
    number = round(float(value), 1) if exact else float(math.floor(float(value) + 0.5))
    text = f"{number:g}"
    if t.language == "vi":
        return text.replace(".", ",") + "\u00a0%"
    return f"{text}%"


# Short names of the default titles, for campaigns opened before titles had one.
_SHORT = {t.code: t.short for t in DEFAULT_TITLES if t.short}


def short_name(title: dict[str, Any]) -> str:
    """How tables and buttons name a title (LĐTT, GVN-ĐVN), never its bare code."""
    return title.get("short") or _SHORT.get(title["code"]) or title["name"]


def ineligible_reason(title: dict[str, Any], member: Member, on: date) -> tuple[str, dict]:
    """("", {}) when `member` may register for `title`, else a catalog key and params. Time
    conditions are counted to `on`: the campaign's review day (`review_day`)."""
    if title.get("kind") == "collective":
        return "emu.why.collective", {}
    if title.get("gender") == "nu" and member.gender != "nu":
        return "emu.why.women_only", {}
    if title.get("gender") == "nam" and member.gender != "nam":
        return "emu.why.men_only", {}
    months = int(title.get("min_months") or 0)
    if months:
        if member.joined_union_on is None:
            return "emu.why.no_join_date", {"months": months}
        if months_between(member.joined_union_on, on) < months:
            return "emu.why.too_new", {"months": months, "date": on.strftime("%d/%m/%Y")}
    return "", {}


def cap_info(t: Any, campaign: Campaign, title: dict[str, Any]) -> str:
    """The share cap of a title (CSTĐCS: at most 15 % of LĐTT), as information: it is applied
    when the board awards the title at the review, not when members register."""
    cap = title.get("max_share")
    if not cap:
        return ""
    other = campaign.title(cap["of"])
    return t(
        "emu.cap_info",
        percent=percent(t, cap["percent"], exact=True),
        other=other["name"] if other else cap["of"],
    )


# --- opening a campaign (board) -----------------------------------------------------------------
@registry.command(
    "thidua_mo", access="board", where="private", help_key="help.cmd.thidua_mo", menu=True
)
async def open_campaign(ctx: Context) -> None:
    roots = await ctx.board_roots()
    if not roots:
        ctx.reply(ctx.t("members.no_units"))
        return
    year = ctx.now.astimezone(ctx.t.tz).year
    await ctx.set_dialog(OPEN_FLOW, "year", {"unit_id": roots[0].id})
    ctx.reply(
        Message(
            ctx.t("emu.ask.year", unit=roots[0].name),
            buttons=[
                [Button(str(y), payload("emo", "year", y)) for y in (year, year + 1)],
                [Button(ctx.t("btn.cancel"), payload("emo", "cancel"))],
            ],
        )
    )


def read_deadline(ctx: Context, year: int) -> datetime | None:
    """The deadline typed by the board (end of that day), or None after explaining what is
    wrong: not a date, already past, or outside the campaign's year."""
    try:
        day = textutil.parse_date(ctx.event.text or "", today=ctx.now.astimezone(ctx.t.tz).date())
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))
        return None
    deadline = datetime.combine(day, time(23, 59), tzinfo=ctx.t.tz)
    if deadline <= ctx.now:
        ctx.reply(ctx.t("invalid.datetime.past"))
        return None
    if day.year > year:
        ctx.reply(ctx.t("emu.deadline_after_year", year=year))
        return None
    return deadline


@registry.flow(OPEN_FLOW)
async def on_open_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    data = ctx.dialog.data
    if ctx.dialog.step != "deadline":
        ctx.reply(ctx.t("bc.use_buttons"))
        return
    deadline = read_deadline(ctx, data["year"])
    if deadline is None:
        return
    data["deadline"] = deadline.isoformat()
    data["titles"] = [t.code for t in ctx.app.settings.emulation.titles]
    await _show_titles(ctx, data)


async def _show_titles(ctx: Context, data: dict[str, Any], edit: bool = False) -> None:
    await ctx.set_dialog(OPEN_FLOW, "titles", data)
    rows = [
        [
            Button(
                f"{'✅' if t.code in data['titles'] else '⬜'} {t.name}",
                payload("emo", "t", t.code),
            )
        ]
        for t in ctx.app.settings.emulation.titles
    ]
    rows.append([Button(ctx.t("emu.btn.next"), payload("emo", "preview"))])
    ctx.reply(
        Message(
            ctx.t("emu.ask.titles"), buttons=rows, edit_ref=ctx.event.message_ref if edit else None
        )
    )


# What each button of the opening dialog carries after its action (see dialog_press).
OPEN_ACTIONS: dict[str, PartSpec] = {
    "year": Number(2000, 2100),
    "t": code_part,
    "preview": None,
    "go": None,
}


@registry.button("emo", access="board")
async def on_open_button(ctx: Context) -> None:
    press = await dialog_press(ctx, OPEN_FLOW, "emu.session_over", OPEN_ACTIONS)
    if press is None:
        return
    step, data, act, arg = press
    this_year = ctx.now.astimezone(ctx.t.tz).year
    if act == "year" and arg not in (this_year, this_year + 1):  # the years offered
        raise OutdatedPress(arg)
    if act == "t" and arg not in {t.code for t in ctx.app.settings.emulation.titles}:
        raise OutdatedPress(arg)
    if act == "year" and step == "year":
        unit = await units.get(ctx.session, data["unit_id"])
        assert unit is not None and unit.id is not None
        if await emulation.for_unit_year(ctx.session, unit.id, arg) is not None:
            await ctx.end_dialog()
            ctx.reply(ctx.t("emu.exists", year=arg, unit=unit.name))
            return
        data["year"] = arg
        await ctx.set_dialog(OPEN_FLOW, "deadline", data)
        ctx.reply(ctx.t("emu.ask.deadline", year=arg))
    elif act == "t" and step == "titles":
        chosen = set(data["titles"])
        chosen ^= {arg}
        data["titles"] = [t.code for t in ctx.app.settings.emulation.titles if t.code in chosen]
        await _show_titles(ctx, data, edit=True)
    elif act == "preview" and step == "titles":
        await _open_preview(ctx, data)
    elif act == "go" and step == "confirm":
        await _open_confirm(ctx, data)
    else:
        raise OutdatedPress(act)


def _offered(ctx: Context, codes: list[str]) -> tuple[list[dict], list[dict]]:
    conf = ctx.app.settings.emulation
    titles = [t.model_dump() for t in conf.titles if t.code in codes]
    chosen = {t["code"] for t in titles}
    # a target without a title (the share of awards to non-leaders) counts every title
    targets = [t.model_dump() for t in conf.targets if not t.title or t.title in chosen]
    return titles, targets


def target_text(t: Any, target: dict, names: dict[str, str]) -> str:
    measure, code, value = target["measure"], target.get("title") or "", float(target["value"])
    if measure == "min_count":
        shown = t.number(int(value)) if value.is_integer() else f"{value:g}"
    else:
        shown = percent(t, value, exact=True)
    key = f"emu.target.{measure}" + ("_title" if measure == "non_leader_share" and code else "")
    return t(
        key,
        title=names.get(code, code),
        value=shown,
        among=t(f"emu.among.{target.get('among', 'all')}"),
    )


async def _open_preview(ctx: Context, data: dict[str, Any]) -> None:
    titles, targets = _offered(ctx, data["titles"])
    if not [t for t in titles if t["kind"] == "individual"]:
        ctx.reply(ctx.t("emu.no_titles"))
        return
    missing = [
        f"{t['name']} → {r}" for t in titles for r in t["requires"] if r not in data["titles"]
    ]
    if missing:
        ctx.reply(ctx.t("emu.requires_missing", pairs="; ".join(missing)))
        return
    await ctx.set_dialog(OPEN_FLOW, "confirm", data)
    names = {t["code"]: t["name"] for t in titles}
    deadline = datetime.fromisoformat(data["deadline"])
    lines = [
        ctx.t(
            "emu.preview",
            year=data["year"],
            deadline=ctx.t.date(deadline.astimezone(ctx.t.tz).date()),
        ),
        "",
    ]
    lines += [
        f"• {t['name']}" + (f" — {t['description']}" if t["description"] else "") for t in titles
    ]
    if targets:
        lines += ["", ctx.t("emu.targets_title")]
        lines += [f"• {target_text(ctx.t, g, names)}" for g in targets]
    ctx.reply(
        Message(
            "\n".join(lines),
            buttons=[
                [Button(ctx.t("emu.btn.open"), payload("emo", "go"))],
                [Button(ctx.t("btn.cancel"), payload("emo", "cancel"))],
            ],
        )
    )


async def _open_confirm(ctx: Context, data: dict[str, Any]) -> None:
    unit = await units.get(ctx.session, data["unit_id"])
    assert unit is not None and unit.id is not None
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    if await emulation.for_unit_year(ctx.session, unit.id, data["year"]) is not None:
        await ctx.end_dialog()
        ctx.reply(ctx.t("emu.exists", year=data["year"], unit=unit.name))
        return
    titles, targets = _offered(ctx, data["titles"])
    campaign, queued = await launch_campaign(
        ctx.app,
        ctx.session,
        unit,
        year=data["year"],
        deadline=datetime.fromisoformat(data["deadline"]),
        titles=titles,
        targets=targets,
        created_by=ctx.member.id if ctx.member else None,
        now=ctx.now,
        status=(ctx.event.platform, ctx.event.chat_id),
    )
    await ctx.end_dialog()
    ctx.replan = True
    ctx.audit("emulation_opened", target=f"campaign:{campaign.id}", year=campaign.year)
    ctx.reply(ctx.t("emu.opened", year=campaign.year, count=ctx.t.number(queued)))


async def launch_campaign(
    app: Any,
    session: AsyncSession,
    unit: Unit,
    *,
    year: int,
    deadline: datetime,
    titles: list[dict],
    targets: list[dict],
    created_by: int | None,
    now: datetime,
    status: tuple[str, str] | None = None,
) -> tuple[Campaign, int]:
    """Create the campaign, tell every member (delivery engine) and plan the reminders.
    Used by /thidua_mo and by `congdoan thidua mo --file` (a campaign file)."""
    assert unit.id is not None
    campaign = await emulation.create_campaign(
        session=session,
        unit_id=unit.id,
        year=year,
        deadline=deadline,
        titles=titles,
        targets=targets,
        created_by=created_by,
        now=now,
    )
    t = app.translator()
    member_ids = await emulation.members_without_pledge(session, campaign, unit)
    text = t(
        "emu.launched",
        year=year,
        unit=unit.name,
        deadline=t.date(deadline.astimezone(t.tz).date()),
    )
    queued = await send_to_members(
        app, session, campaign, f"emu-open:{campaign.id}", text, member_ids, now, status=status
    )
    await plan_deadline_reminders(app, session, campaign, now)
    return campaign, queued


async def plan_deadline_reminders(
    app: Any, session: AsyncSession, campaign: Campaign, now: datetime
) -> None:
    """Reminders N days before the deadline (config `emulation.reminder_days`), at an office
    hour of that day (`emulation.reminder_time`, 08:00), not at the deadline's 23:59; the
    deadline is part of the key, so moving it plans a fresh set. The caller re-arms the
    scheduler."""
    assert campaign.id is not None
    tz, conf = app.settings.tz, app.settings.emulation
    last_day = campaign.deadline.astimezone(tz).date()
    day = last_day.isoformat()
    for days in conf.reminder_days:
        due = datetime.combine(last_day - timedelta(days=days), conf.reminder_time, tzinfo=tz)
        if now < due < campaign.deadline:
            await reminders.add(
                session,
                kind="emulation_deadline",
                ref_id=campaign.id,
                arg=str(days),
                # the planning time in the key: moving the deadline back and forth replans
                key=f"ed:{campaign.id}:{days}:{day}:{int(now.timestamp())}",
                due_at=due,
                now=now,
            )


async def send_to_members(
    app: Any,
    session: AsyncSession,
    campaign: Campaign,
    key: str,
    text: str,
    member_ids: list[int],
    now: datetime,
    status: tuple[str, str] | None = None,
) -> int:
    t = app.translator()
    job = DeliveryJob(
        kind="emulation",
        key=key,
        ref_id=campaign.id,
        unit_id=campaign.unit_id,
        title=t("emu.job_title", year=campaign.year),
        language=t.language,
        start_at=now,
        created_at=now,
    )
    if status is not None:
        job.status_platform, job.status_chat_id = status
    queued = await audiences.queue(
        session, job, OutboxMessage(text=text), audiences.of_members(member_ids), now=now
    )
    return queued or 0


# A reminder that missed its hour (the bot was down) is not sent to people after this local
# time, nor before the configured reminder time: it waits for the next morning.
EVENING = time(20, 0)


def next_office_hour(app: Any, now: datetime) -> datetime | None:
    """None when `now` is an hour to write to members (from `emulation.reminder_time` to
    20:00, local), else the next such moment."""
    tz, start = app.settings.tz, app.settings.emulation.reminder_time
    local = now.astimezone(tz)
    end = EVENING if start < EVENING else time(23, 59, 59)  # a reminder time set after 20:00
    if start <= local.time() < end:
        return None
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=tz)


@action("emulation_deadline")
async def remind_unregistered(
    app: Any, session: AsyncSession, row: Reminder, late: bool
) -> str | None:
    campaign = await session.get(Campaign, row.ref_id)
    unit = await units.get(session, campaign.unit_id) if campaign else None
    if campaign is None or unit is None:
        return "campaign gone"
    assert campaign.id is not None
    now = app.clock.now()
    if now >= campaign.deadline:
        return "deadline passed"
    if late:  # the bot was down at the planned hour: still an office hour, or wait for one
        later = next_office_hour(app, now)
        if later is not None:
            if later >= campaign.deadline:
                return "missed, and no office hour is left before the deadline"
            await reminders.add(
                session,
                kind="emulation_deadline",
                ref_id=campaign.id,
                arg=row.arg,
                key=f"{row.key}:p{int(later.timestamp())}"[-120:],
                due_at=later,
                now=now,
            )
            return "missed; moved to the next office hour"
    t = app.translator()
    missing = await emulation.members_without_pledge(session, campaign, unit)
    text = t(
        "emu.reminder",
        year=campaign.year,
        deadline=t.date(campaign.deadline.astimezone(t.tz).date()),
    )
    await send_to_members(app, session, campaign, f"emu-remind:{row.key}", text, missing, now)
    return None


# --- registering (members) -------------------------------------------------------------------
@registry.command("thidua", access="member", where="private", help_key="help.cmd.thidua", menu=True)
async def pledge(ctx: Context) -> None:
    member = ctx.member
    if member is None:
        ctx.reply(ctx.t("profile.none"))
        return
    unit = await units.get(ctx.session, member.unit_id)
    assert unit is not None
    campaign = await emulation.open_for(ctx.session, unit, ctx.now)
    if campaign is None:
        latest = await emulation.latest_for(ctx.session, unit)
        if latest is not None:
            await _show_mine(ctx, latest)
        else:
            ctx.reply(ctx.t("emu.none_open"))
        return
    assert campaign.id is not None and member.id is not None
    mine = [p.title_code for p in await emulation.pledges_of(ctx.session, campaign.id, member.id)]
    form = await page_button(ctx, ctx.t("emu.btn.form"), FORM_PAGE)
    await _show_choices(ctx, campaign, {"campaign_id": campaign.id, "chosen": mine}, form=form)


async def _show_choices(
    ctx: Context,
    campaign: Campaign,
    data: dict[str, Any],
    edit: bool = False,
    form: Button | None = None,
) -> None:
    assert ctx.member is not None
    await ctx.set_dialog(PLEDGE_FLOW, "choose", data)
    on = review_day(campaign.year)
    lines = [
        ctx.t(
            "emu.choose",
            year=campaign.year,
            deadline=ctx.t.date(campaign.deadline.astimezone(ctx.t.tz).date()),
        ),
        "",
    ]
    rows = []
    for title in campaign.titles:
        key, params = ineligible_reason(title, ctx.member, on)
        if title["kind"] == "collective" or title.get("removed"):
            continue
        if key:
            lines.append(f"🚫 {title['name']} — {ctx.t(key, **params)}")
            continue
        mark = "✅" if title["code"] in data["chosen"] else "⬜"
        about = [x for x in (title.get("description"), cap_info(ctx.t, campaign, title)) if x]
        lines.append(f"{mark} {title['name']}" + (f" — {'; '.join(about)}" if about else ""))
        rows.append([Button(f"{mark} {title['name']}", payload("emp", "t", title["code"]))])
    rows.append([Button(ctx.t("emu.btn.next"), payload("emp", "next"))])
    rows.append([Button(ctx.t("btn.cancel"), payload("emp", "cancel"))])
    if form is not None:  # the same choice as one page (handlers/emulation/pages.py)
        rows.append([form])
    ctx.reply(
        Message("\n".join(lines), buttons=rows, edit_ref=ctx.event.message_ref if edit else None)
    )


# What each button of the registration carries after its action (see dialog_press).
PLEDGE_ACTIONS = {"t": code_part, "next": None, "nocommit": None}


@registry.button("emp", access="member")
async def on_pledge_button(ctx: Context) -> None:
    press = await dialog_press(ctx, PLEDGE_FLOW, "emu.session_over", PLEDGE_ACTIONS)
    if press is None:
        return
    step, data, act, arg = press
    campaign = await ctx.session.get(Campaign, data["campaign_id"])
    if campaign is None or ctx.now >= campaign.deadline:
        await ctx.end_dialog()
        ctx.reply(ctx.t("emu.deadline_passed"))
        return
    title = campaign.title(arg) if act == "t" else None
    if act == "t" and (title is None or title.get("removed") or title["kind"] == "collective"):
        raise OutdatedPress(arg)  # not a title offered to members
    if act == "t" and step == "choose":
        chosen = set(data["chosen"]) ^ {arg}
        data["chosen"] = [t["code"] for t in campaign.titles if t["code"] in chosen]
        await _show_choices(ctx, campaign, data, edit=True)
    elif act == "next" and step == "choose":
        problem = await _check_choice(ctx, campaign, data["chosen"])
        if problem:  # the selection stays: say what is wrong, then the choices again
            ctx.reply(problem)
            await _show_choices(ctx, campaign, data)
            return
        await ctx.set_dialog(PLEDGE_FLOW, "commitment", data)
        ctx.reply(
            Message(
                ctx.t("emu.ask.commitment"),
                buttons=[[Button(ctx.t("btn.skip"), payload("emp", "nocommit"))]],
            )
        )
    elif act == "nocommit" and step == "commitment":
        await _save_pledges(ctx, campaign, data, "")
    else:
        raise OutdatedPress(act)


async def _check_choice(ctx: Context, campaign: Campaign, chosen: list[str]) -> str | None:
    assert ctx.member is not None and campaign.id is not None
    if not chosen:
        return ctx.t("emu.pick_one")
    on = review_day(campaign.year)
    for code in chosen:
        title = campaign.title(code)
        if title is None:
            return ctx.t("button.outdated")
        if title.get("removed"):
            continue  # taken out after this member pledged it: kept as it was, not re-checked
        key, params = ineligible_reason(title, ctx.member, on)
        if key:
            return ctx.t("emu.not_eligible", title=title["name"], reason=ctx.t(key, **params))
        for needed in title.get("requires") or []:
            if needed not in chosen:
                other = campaign.title(needed)
                return ctx.t(
                    "emu.needs", title=title["name"], other=other["name"] if other else needed
                )
        # A share cap (CSTĐCS: 15 % of LĐTT) is not checked here: registering records an
        # intention, the cap applies when the board awards the title (/thidua_xet).
    return None


@registry.flow(PLEDGE_FLOW)
async def on_commitment(ctx: Context) -> None:
    assert ctx.dialog is not None
    if ctx.dialog.step != "commitment":
        ctx.reply(ctx.t("bc.use_buttons"))
        return
    try:
        text = read_commitment(ctx.event.text or "")
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))
        return
    campaign = await ctx.session.get(Campaign, ctx.dialog.data["campaign_id"])
    if campaign is None or ctx.now >= campaign.deadline:
        await ctx.end_dialog()
        ctx.reply(ctx.t("emu.deadline_passed"))
        return
    await _save_pledges(ctx, campaign, ctx.dialog.data, text)


async def _save_pledges(
    ctx: Context, campaign: Campaign, data: dict[str, Any], commitment: str
) -> None:
    problem = await file_pledges(ctx, campaign, data["chosen"], commitment)
    if problem:
        ctx.reply(problem)
        await _show_choices(ctx, campaign, data)
        return
    ctx.reply(receipt(ctx.t, campaign, data["chosen"], commitment))


async def file_pledges(
    ctx: Context, campaign: Campaign, chosen: list[str], commitment: str
) -> str | None:
    """Save the member's pledges (the titles in `chosen`, in the campaign's order) after the
    chat's checks, audited; or the reason they cannot be saved, changing nothing."""
    assert ctx.member is not None and campaign.id is not None and ctx.member.id is not None
    # Check again: the campaign (or the member's profile) may have changed meanwhile.
    problem = await _check_choice(ctx, campaign, chosen)
    if problem:
        return problem
    await emulation.save_pledges(
        session=ctx.session,
        campaign_id=campaign.id,
        member_id=ctx.member.id,
        unit_id=ctx.member.unit_id,
        chosen=chosen,
        commitment=commitment,
        now=ctx.now,
    )
    await ctx.end_dialog()
    ctx.audit("pledge_saved", target=f"campaign:{campaign.id}", titles=chosen)
    return None


def receipt(t: Any, campaign: Campaign, chosen: list[str], commitment: str) -> str:
    # every chosen code is an offered title (file_pledges checked)
    names = [campaign.title(c)["name"] for c in chosen]  # type: ignore[index]
    return t(
        "emu.receipt",
        year=campaign.year,
        titles="\n".join(f"• {n}" for n in names),
        deadline=t.date(campaign.deadline.astimezone(t.tz).date()),
        commitment=commitment or t("common.empty"),
    )


def read_commitment(text: str) -> str:
    """A personal commitment as typed (raises textutil.InvalidInput)."""
    return textutil.parse_free_text(text, max_len=500, min_len=3)


async def _show_mine(ctx: Context, campaign: Campaign) -> None:
    assert ctx.member is not None and campaign.id is not None and ctx.member.id is not None
    mine = await emulation.pledges_of(ctx.session, campaign.id, ctx.member.id)
    names = [
        title["name"] if (title := campaign.title(p.title_code)) else p.title_code for p in mine
    ]
    if not names:
        ctx.reply(ctx.t("emu.closed_none", year=campaign.year))
        return
    ctx.reply(
        ctx.t("emu.closed_mine", year=campaign.year, titles="\n".join(f"• {n}" for n in names))
    )
