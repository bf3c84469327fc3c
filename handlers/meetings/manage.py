"""The organiser's side of a meeting: who answered what, nudging, rescheduling, cancelling,
attendance, minutes (biên bản), and the yearly attendance report (/baocaohop)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import Workbook
from openpyxl.styles import Font

from bot import textutil, timeparse
from bot.chat import Button, Document, Message
from bot.context import Context
from bot.i18n import Translator
from bot.registry import ID, PAGE, OutdatedPress, payload, press_parts
from bot.spreadsheet import keep_text
from handlers import registry
from handlers.common import pickers
from handlers.meetings.plan import (
    attendance_open,
    describe,
    plan_reminders,
    send_to_invitees,
    when_text,
)
from handlers.meetings.schedule import _offset_text
from handlers.members.listing import XLSX
from models import meetings, members, reminders, units
from models.meetings import CANCELLED, MAYBE, NO, SCHEDULED, YES, Meeting
from models.types import fit_file_name

MEETING_TIMERS = ("meeting_reminder", "meeting_next")
MAX_LISTED = 200  # meetings in /quanlyhop, a page at a time
ATTENDANCE_LIST = "mm_attendance"  # a meeting's invitees, searched by typed words


def mark_attendance(ctx: Context, meeting: Meeting, invite: meetings.Invite, present: bool) -> None:
    """The organiser marks one invitee present or not (audited)."""
    invite.attended = present
    ctx.audit(
        "attendance_marked",
        target=f"meeting:{meeting.id}",
        member=invite.member_id,
        present=present,
    )


@registry.command(
    "quanlyhop",
    access="organiser",
    where="private",
    help_key="help.cmd.quanlyhop",
    refused="mt.not_organiser",
)
async def list_meetings(ctx: Context) -> None:
    await _meeting_list(ctx)


@registry.button("mml", access="organiser", refused="mt.not_organiser")
async def on_list_page(ctx: Context) -> None:
    (number,) = press_parts(ctx.press_args, PAGE)
    await _meeting_list(ctx, number, edit=True)


async def _meeting_list(ctx: Context, number: int = 0, *, edit: bool = False) -> None:
    """The meetings this person organises (recent and coming), a page at a time."""
    roots = await ctx.organiser_roots()
    since = ctx.now - timedelta(days=30)
    found = await meetings.organised_in(ctx.session, roots, since, limit=MAX_LISTED)
    if not found:
        ctx.reply(ctx.t("mt.none_organised"))
        return
    choices = [
        pickers.Choice(
            f"{'✖ ' if m.status == CANCELLED else ''}{m.title} — {ctx.t.datetime(m.starts_at)}",
            payload("mm", "v", m.id),
        )
        for m in found
    ]
    shown = pickers.page(ctx.t, choices, number, turn=lambda n: payload("mml", n), hint=None)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(ctx.t("mt.pick_meeting")), buttons=shown.rows, edit_ref=ref))


async def _meeting_for_organiser(ctx: Context, meeting_id: int) -> Meeting | None:
    meeting = await meetings.get(ctx.session, meeting_id)
    unit = await units.get(ctx.session, meeting.unit_id) if meeting else None
    if meeting is None or unit is None:
        raise OutdatedPress()
    if not await ctx.can_organise(unit):
        ctx.refuse(f"meeting:{meeting.id}", "organiser")
        return None
    return meeting


@registry.button("mm", access="member")
async def on_button(ctx: Context) -> None:
    args = ctx.press_args
    handlers = {
        "v": _status,
        "nudge": _nudge,
        "resched": _ask_new_time,
        "cancel": _ask_cancel,
        "cancelok": _cancel,
        "att": _attendance,
        "mins": _ask_minutes,
        "reschok": _reschedule,
        "reschno": _keep_time,
        "atta": _attendance,  # everyone again, after a search
    }
    # "mm:<action>:<meeting>", a page of the attendance sheet "mm:att:<meeting>:<page>", a
    # tick on it "mm:mark:<meeting>:<member>[:<page>]"
    if args[:1] == ["mark"] and len(args) == 3:  # sent before ticks kept the page
        _, meeting_id, member_id = press_parts(args, ("mark",), ID, ID)
        number = 0
    elif args[:1] == ["mark"]:
        _, meeting_id, member_id, number = press_parts(args, ("mark",), ID, ID, PAGE)
    elif args[:1] == ["att"] and len(args) == 3:
        _, meeting_id, number = press_parts(args, ("att",), ID, PAGE)
    else:
        _, meeting_id = press_parts(args, handlers, ID)
    meeting = await _meeting_for_organiser(ctx, meeting_id)
    if meeting is None:
        return
    if args[0] == "mark":
        await _toggle_attendance(ctx, meeting, member_id, number)
    elif args[0] == "att" and len(args) == 3:  # another page
        query = pickers.listened_query(ctx, ATTENDANCE_LIST, [meeting.id])
        await _attendance(ctx, meeting, number, query, edit=True)
    elif args[0] == "atta":  # everyone again, after a search
        await _attendance(ctx, meeting, edit=True)
    else:
        await handlers[args[0]](ctx, meeting)


async def _status(ctx: Context, meeting: Meeting) -> None:
    assert meeting.id is not None
    unit = await units.get(ctx.session, meeting.unit_id)
    invites = await meetings.invites(ctx.session, meeting.id)
    names = await members.names(ctx.session, [i.member_id for i in invites])
    invites = sorted(invites, key=lambda i: textutil.vi_sort_key(names.get(i.member_id, "")))
    groups: dict[str | None, list[str]] = {YES: [], NO: [], MAYBE: [], None: []}
    for invite in invites:
        label = names.get(invite.member_id, "?")
        if invite.answer == NO and invite.reason:
            label += f" ({invite.reason})"
        if invite.attended:
            label += " ✅"
        groups.setdefault(invite.answer, []).append(label)
    lines = [describe(ctx.t, meeting, unit.name if unit else "")]
    if meeting.status == CANCELLED:
        lines.append(ctx.t("mt.status_cancelled"))
    lines.append(ctx.t("mt.checkin_code", code=meeting.checkin_code))
    for answer in (YES, MAYBE, NO, None):
        people = groups.get(answer, [])
        key = f"mt.answer.{answer}" if answer else "mt.answer.none"
        shown = ", ".join(people[:40]) + (" …" if len(people) > 40 else "")
        lines.append(f"{ctx.t(key)} ({len(people)}): {shown or '—'}")
    buttons: list[list[Button]] = []
    if meeting.status == SCHEDULED and ctx.now < meeting.starts_at:
        buttons += [
            [Button(ctx.t("mt.btn.nudge"), payload("mm", "nudge", meeting.id))],
            [
                Button(ctx.t("mt.btn.resched"), payload("mm", "resched", meeting.id)),
                Button(ctx.t("mt.btn.cancel_meeting"), payload("mm", "cancel", meeting.id)),
            ],
        ]
    if meeting.status == SCHEDULED and attendance_open(meeting, ctx.now):
        buttons += [
            [
                Button(ctx.t("mt.btn.attendance"), payload("mm", "att", meeting.id)),
                Button(ctx.t("mt.btn.minutes"), payload("mm", "mins", meeting.id)),
            ]
        ]
    ctx.reply(Message("\n".join(lines), buttons=buttons))


async def _nudge(ctx: Context, meeting: Meeting) -> None:
    assert meeting.id is not None
    if meeting.status != SCHEDULED or ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.cannot_change_past"))
        return
    silent = await meetings.invitee_ids(ctx.session, meeting.id, unanswered=True)
    if not silent:
        ctx.reply(ctx.t("mt.all_answered"))
        return
    stamp = ctx.now.strftime("%Y%m%d%H%M")  # one nudge per minute at most
    unit = await units.get(ctx.session, meeting.unit_id)
    text = "\n".join([ctx.t("mt.nudge_text"), describe(ctx.t, meeting, unit.name if unit else "")])
    queued = await send_to_invitees(
        ctx.app,
        ctx.session,
        meeting,
        key=f"nudge:{meeting.id}:{stamp}",
        kind="nudge",
        text=text,
        member_ids=silent,
        now=ctx.now,
        with_rsvp=True,
    )
    ctx.audit("meeting_nudged", target=f"meeting:{meeting.id}", count=queued)
    ctx.reply(ctx.t("mt.nudged", count=ctx.t.number(queued)))


async def _ask_new_time(ctx: Context, meeting: Meeting) -> None:
    if meeting.status != SCHEDULED or ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.cannot_change_past"))
        return
    await ctx.set_dialog("mresched", "when", {"meeting_id": meeting.id})
    ctx.reply(ctx.t("mt.ask.new_time", title=meeting.title))


@registry.flow("mresched")
async def on_new_time(ctx: Context) -> None:
    """The new time typed: the organiser sees what will change before anyone is told."""
    assert ctx.dialog is not None
    meeting = await _meeting_for_organiser(ctx, int(ctx.dialog.data["meeting_id"]))
    if meeting is None:
        await ctx.end_dialog()
        return
    try:
        start = timeparse.parse_local_datetime(ctx.event.text or "", now=ctx.now, tz=ctx.t.tz)
    except textutil.InvalidInput as bad:
        ctx.reply(
            ctx.t(bad.key, **bad.params) + "\n" + ctx.t("mt.ask.new_time", title=meeting.title)
        )
        return
    if meeting.status != SCHEDULED or ctx.now >= meeting.starts_at:
        await ctx.end_dialog()
        ctx.reply(ctx.t("mt.cannot_change_past"))
        return
    assert meeting.id is not None
    moved = _moved(meeting, start)
    await ctx.set_dialog(
        "mresched", "confirm", {"meeting_id": meeting.id, "starts": start.isoformat()}
    )
    invited = await meetings.invitee_ids(ctx.session, meeting.id)
    lines = [
        ctx.t(
            "mt.resched_confirm",
            title=meeting.title,
            when=when_text(ctx.t, moved),
            count=ctx.t.number(len(invited)),
        ),
        _reminders_note(ctx, meeting, start, planned=False),
    ]
    buttons = [
        [Button(ctx.t("mt.btn.resched_go"), payload("mm", "reschok", meeting.id))],
        [Button(ctx.t("mt.btn.resched_keep"), payload("mm", "reschno", meeting.id))],
    ]
    ctx.reply(Message("\n".join(line for line in lines if line), buttons=buttons))


def _moved(meeting: Meeting, start: datetime) -> Meeting:
    """The meeting as it would be at the new time (for the confirmation)."""
    duration = meeting.ends_at - meeting.starts_at
    return Meeting(
        unit_id=meeting.unit_id,
        title=meeting.title,
        starts_at=start,
        ends_at=start + duration,
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
    )


def _reminders_note(ctx: Context, meeting: Meeting, start: datetime, *, planned: bool) -> str:
    """What becomes of the reminders at the new time: which are sent, which cannot be."""
    if not meeting.offsets:
        return ""
    kept = [m for m in meeting.offsets if start - timedelta(minutes=m) > ctx.now]
    dropped = [m for m in meeting.offsets if m not in kept]

    def listed(offsets: list[int]) -> str:
        return ", ".join(_offset_text(ctx, m) for m in sorted(offsets, reverse=True))

    if not kept:
        return ctx.t("mt.resched_no_reminders", dropped=listed(dropped))
    note = ctx.t("mt.resched_reminders" if planned else "mt.resched_will_remind", kept=listed(kept))
    if dropped:
        note += " " + ctx.t("mt.resched_some_dropped", dropped=listed(dropped))
    return note


async def _pending_new_time(ctx: Context, meeting: Meeting) -> datetime | None:
    """The new time this organiser typed for this meeting and has yet to confirm."""
    dialog = ctx.dialog
    if (
        dialog is None
        or dialog.flow != "mresched"
        or dialog.step != "confirm"
        or dialog.data.get("meeting_id") != meeting.id
    ):
        raise OutdatedPress()
    return datetime.fromisoformat(dialog.data["starts"])


async def _keep_time(ctx: Context, meeting: Meeting) -> None:
    if await _pending_new_time(ctx, meeting) is None:
        return
    await ctx.end_dialog()
    ctx.reply(ctx.t("mt.resched_kept", title=meeting.title, when=when_text(ctx.t, meeting)))


async def _reschedule(ctx: Context, meeting: Meeting) -> None:
    start = await _pending_new_time(ctx, meeting)
    if start is None:
        return
    await ctx.end_dialog()
    if meeting.status != SCHEDULED or ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.cannot_change_past"))
        return
    if start <= ctx.now:
        ctx.reply(ctx.t("invalid.datetime.past"))
        return
    assert meeting.id is not None
    duration = meeting.ends_at - meeting.starts_at
    meeting.starts_at, meeting.ends_at = start, start + duration
    meeting.version += 1
    meeting.updated_at = ctx.now
    await reminders.skip_for(ctx.session, MEETING_TIMERS, meeting.id, ctx.now, "rescheduled")
    await plan_reminders(ctx.session, meeting, ctx.now)
    ctx.replan = True
    unit = await units.get(ctx.session, meeting.unit_id)
    text = "\n".join(
        [
            ctx.t("mt.rescheduled_text", when=when_text(ctx.t, meeting)),
            describe(ctx.t, meeting, unit.name if unit else ""),
            ctx.t("mt.rescheduled_ask"),
        ]
    )
    invited = await meetings.invitee_ids(ctx.session, meeting.id)
    queued = await send_to_invitees(
        ctx.app,
        ctx.session,
        meeting,
        key=f"resched:{meeting.id}:v{meeting.version}",
        kind="reschedule",
        text=text,
        member_ids=invited,
        now=ctx.now,
        with_rsvp=True,
        attach_ics=True,
    )
    ctx.audit("meeting_rescheduled", target=f"meeting:{meeting.id}", starts=start.isoformat())
    lines = [
        ctx.t("mt.rescheduled", when=when_text(ctx.t, meeting), count=ctx.t.number(queued)),
        _reminders_note(ctx, meeting, start, planned=True),
    ]
    ctx.reply("\n".join(line for line in lines if line))


async def _ask_cancel(ctx: Context, meeting: Meeting) -> None:
    if meeting.status == CANCELLED:
        ctx.reply(ctx.t("mt.already_cancelled"))
        return
    ctx.reply(
        Message(
            ctx.t("mt.confirm_cancel", title=meeting.title),
            buttons=[[Button(ctx.t("mt.btn.cancel_yes"), payload("mm", "cancelok", meeting.id))]],
        )
    )


async def _cancel(ctx: Context, meeting: Meeting) -> None:
    assert meeting.id is not None
    if meeting.status == CANCELLED:
        ctx.reply(ctx.t("mt.already_cancelled"))
        return
    if ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.cannot_change_past"))
        return
    meeting.status, meeting.updated_at = CANCELLED, ctx.now
    meeting.version += 1
    await reminders.skip_for(ctx.session, MEETING_TIMERS, meeting.id, ctx.now, "cancelled")
    ctx.replan = True
    text = ctx.t("mt.cancelled_text", title=meeting.title, when=when_text(ctx.t, meeting))
    invited = await meetings.invitee_ids(ctx.session, meeting.id)
    queued = await send_to_invitees(
        ctx.app,
        ctx.session,
        meeting,
        key=f"cancel:{meeting.id}",
        kind="cancel",
        text=text,
        member_ids=invited,
        now=ctx.now,
        attach_ics=True,
        cancelled=True,
    )
    ctx.audit("meeting_cancelled", target=f"meeting:{meeting.id}")
    ctx.reply(ctx.t("mt.cancelled", title=meeting.title, count=ctx.t.number(queued)))


async def _attendance(
    ctx: Context, meeting: Meeting, number: int = 0, query: str = "", *, edit: bool = False
) -> None:
    """Who came, a page of invitees at a time; typed words of a name find someone."""
    assert meeting.id is not None
    if not attendance_open(meeting, ctx.now):
        ctx.reply(ctx.t("mt.attendance_too_early"))
        return
    invites = await meetings.invites(ctx.session, meeting.id)
    names = await members.names(ctx.session, [i.member_id for i in invites])
    invites = sorted(invites, key=lambda i: textutil.vi_sort_key(names.get(i.member_id, "")))
    present = sum(1 for i in invites if i.attended)
    choices = [
        pickers.Choice(
            f"{'✅' if i.attended else '⬜'} {names.get(i.member_id, '?')}",
            payload("mm", "mark", meeting.id, i.member_id, number),
            key=names.get(i.member_id, ""),
        )
        for i in invites
    ]
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("mm", "att", meeting.id, n),
        query=query,
        clear=payload("mm", "atta", meeting.id),
        hint="pick.hint.member",
    )
    if pickers.is_long(choices):
        await pickers.listen(ctx, ATTENDANCE_LIST, [meeting.id], query)
    text = ctx.t(
        "mt.attendance",
        title=meeting.title,
        present=present,
        total=len(invites),
        code=meeting.checkin_code,
    )
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(text), buttons=shown.rows, edit_ref=ref))


@pickers.searchable(ATTENDANCE_LIST)
async def _search_invitees(ctx: Context, args: list[str], query: str) -> None:
    meeting_id = textutil.number_or_none(args[0]) if len(args) == 1 else None
    if meeting_id is None:
        raise OutdatedPress(args, end_dialog=True)
    meeting = await _meeting_for_organiser(ctx, meeting_id)
    if meeting is None:
        await pickers.stop_listening(ctx)
        return
    await _attendance(ctx, meeting, 0, query)


async def _toggle_attendance(
    ctx: Context, meeting: Meeting, member_id: int, number: int = 0
) -> None:
    assert meeting.id is not None
    invite = await meetings.invite(ctx.session, meeting.id, member_id)
    if invite is None or not attendance_open(meeting, ctx.now):
        raise OutdatedPress()
    mark_attendance(ctx, meeting, invite, not invite.attended)
    query = pickers.listened_query(ctx, ATTENDANCE_LIST, [meeting.id])
    await _attendance(ctx, meeting, number, query, edit=True)


async def _ask_minutes(ctx: Context, meeting: Meeting) -> None:
    await ctx.set_dialog("mminutes", "file", {"meeting_id": meeting.id})
    ctx.reply(ctx.t("mt.ask.minutes", title=meeting.title))


@registry.flow("mminutes")
async def on_minutes(ctx: Context) -> None:
    assert ctx.dialog is not None
    meeting = await _meeting_for_organiser(ctx, int(ctx.dialog.data["meeting_id"]))
    if meeting is None:
        await ctx.end_dialog()
        return
    event = ctx.event
    if event.file is not None:
        meeting.minutes_file_id, meeting.minutes_file_platform = (
            event.file.file_id,
            event.file.platform,
        )
        meeting.minutes_file_name = fit_file_name(event.file.file_name or "bien-ban", 200)
        meeting.minutes_text = event.text
    elif event.text and event.text.strip():
        meeting.minutes_text = textutil.parse_free_text(event.text, max_len=3500)
    else:
        ctx.reply(ctx.t("mt.ask.minutes", title=meeting.title))
        return
    await ctx.end_dialog()
    ctx.audit("minutes_attached", target=f"meeting:{meeting.id}")
    ctx.reply(ctx.t("mt.minutes_saved", title=meeting.title))


@registry.command("baocaohop", access="board", where="private", help_key="help.cmd.baocaohop")
async def attendance_report(ctx: Context) -> None:
    local_now = ctx.now.astimezone(ctx.t.tz)
    typed = ctx.event.args.strip()
    year = (
        textutil.number_or_none(typed, low=2000, high=local_now.year + 1)
        if typed
        else local_now.year
    )
    if year is None:  # not a year, or one without meetings to report
        ctx.reply(ctx.t("mt.report_usage"))
        return
    _count, _sums, rows = await attendance_rows(ctx, year)
    content = attendance_workbook(ctx.t, year, rows)
    ctx.audit("attendance_exported", target=str(year), members=len(rows))
    ctx.reply(
        Message(
            ctx.t("mt.report_caption", year=year, count=len(rows)),
            document=Document(report_file_name(year), content, XLSX),
        )
    )


async def attendance_rows(
    ctx: Context, year: int, *, offset: int = 0, limit: int | None = None
) -> tuple[int, meetings.Attendance, list[meetings.Attendance]]:
    """The /baocaohop report: each member of the board's units invited to meetings held in
    the (local) year, with how many they came to, in Vietnamese name order (all, or a page);
    how many members it counts, and the sums."""
    start = datetime(year, 1, 1, tzinfo=ctx.t.tz).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=ctx.t.tz).astimezone(UTC)
    roots = await ctx.board_roots()
    return await meetings.attendance_in_year(
        ctx.session, roots, start, end, offset=offset, limit=limit
    )


def report_file_name(year: int) -> str:
    return f"chuyen-can-{year}.xlsx"


def attendance_workbook(t: Translator, year: int, rows: list[meetings.Attendance]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = str(year)
    ws.append([t("mt.report_title", year=year)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(
        [
            t("xlsx.col.no"),
            t("xlsx.col.full_name"),
            t("mt.col.invited"),
            t("mt.col.attended"),
            t("mt.col.rate"),
        ]
    )
    for number, row in enumerate(rows, start=1):
        ws.append([number, row.name, row.invited, row.attended, row.rate])
    keep_text(*wb.worksheets)  # names and notes typed by people stay text
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
