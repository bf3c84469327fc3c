"""Members and meetings: answer an invitation, see one's meetings (/lichhop), check in with the
code shown at the meeting (/diemdanh), fetch the minutes; and the scheduler's reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import textutil
from bot.chat import Button, FileRef, Message
from bot.context import Context
from bot.registry import ID, OutdatedPress, payload, press_parts
from handlers import registry
from handlers.meetings.plan import (
    ATTENDANCE_OPENS,
    create,
    describe,
    duration_text,
    next_start,
    rsvp_buttons,
    send_to_invitees,
    span_text,
    when_text,
)
from models import meetings, units
from models.meetings import MAYBE, NO, SCHEDULED, YES
from models.reminders import Reminder
from scheduler import action

if TYPE_CHECKING:
    from bot.app import App

ANSWERS = {"y": YES, "n": NO, "m": MAYBE}


@registry.button("rsvp", access="member")
async def on_rsvp(ctx: Context) -> None:
    meeting_id, answer_code = press_parts(ctx.press_args, ID, ANSWERS)
    meeting = await meetings.get(ctx.session, meeting_id)
    invite = (
        await meetings.invite(ctx.session, meeting_id, ctx.member.id)
        if (ctx.member and ctx.member.id is not None and meeting)
        else None
    )
    if meeting is None or invite is None:
        ctx.reply(ctx.t("mt.not_invited"))
        return
    if meeting.status != SCHEDULED:
        ctx.reply(ctx.t("mt.is_cancelled", title=meeting.title))
        return
    if ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.already_started", title=meeting.title))
        return
    answer = ANSWERS[answer_code]
    if answer == NO:
        await ctx.set_dialog("rsvp_reason", "reason", {"meeting_id": meeting.id})
        ctx.reply(
            Message(
                ctx.t("mt.ask_reason"),
                buttons=[[Button(ctx.t("btn.skip"), payload("rsvpr", meeting.id))]],
            )
        )
        return
    await _save(ctx, meeting, invite, answer, None)


async def _save(
    ctx: Context,
    meeting: meetings.Meeting,
    invite: meetings.Invite,
    answer: str,
    reason: str | None,
) -> None:
    invite.answer, invite.reason, invite.answered_at = answer, reason, ctx.now
    ctx.reply(
        ctx.t(
            "mt.answer_saved",
            answer=ctx.t(f"mt.answer.{answer}"),
            title=meeting.title,
            when=when_text(ctx.t, meeting),
        )
    )


@registry.flow("rsvp_reason")
async def on_reason(ctx: Context) -> None:
    assert ctx.dialog is not None
    try:
        reason = textutil.parse_free_text(ctx.event.text or "", max_len=300, min_len=2)
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))
        return
    await _finish_no(ctx, int(ctx.dialog.data["meeting_id"]), reason)


@registry.button("rsvpr", access="member")
async def on_no_reason(ctx: Context) -> None:
    (meeting_id,) = press_parts(ctx.press_args, ID)
    await _finish_no(ctx, meeting_id, None)


async def _finish_no(ctx: Context, meeting_id: int, reason: str | None) -> None:
    await ctx.end_dialog()
    meeting = await meetings.get(ctx.session, meeting_id)
    invite = (
        await meetings.invite(ctx.session, meeting_id, ctx.member.id)
        if (ctx.member and ctx.member.id is not None and meeting)
        else None
    )
    if meeting is None or invite is None or meeting.status != SCHEDULED:
        raise OutdatedPress()
    if ctx.now >= meeting.starts_at:
        ctx.reply(ctx.t("mt.already_started", title=meeting.title))
        return
    await _save(ctx, meeting, invite, NO, reason)


@registry.command(
    "lichhop", access="member", where="private", help_key="help.cmd.lichhop", menu=True
)
async def my_meetings(ctx: Context) -> None:
    if ctx.member is None:
        ctx.reply(ctx.t("profile.none"))
        return
    assert ctx.member.id is not None
    upcoming = await meetings.upcoming_for(ctx.session, ctx.member.id, ctx.now)
    past = await meetings.recent_past_for(ctx.session, ctx.member.id, ctx.now)
    if not upcoming and not past:
        ctx.reply(ctx.t("mt.none_for_you"))
        return
    for meeting, invite in upcoming:
        unit = await units.get(ctx.session, meeting.unit_id)
        answer = ctx.t(f"mt.answer.{invite.answer}") if invite.answer else ctx.t("mt.answer.none")
        text = "\n".join(
            [
                describe(ctx.t, meeting, unit.name if unit else ""),
                ctx.t("mt.your_answer", answer=answer),
            ]
        )
        started = ctx.now >= meeting.starts_at
        assert meeting.id is not None
        buttons = [] if started else rsvp_buttons(ctx.t, meeting.id)
        ctx.reply(Message(text, buttons=buttons))
    with_minutes = [m for m in past if m.minutes_text or m.minutes_file_id]
    if with_minutes:
        ctx.reply(
            Message(
                ctx.t("mt.past_with_minutes"),
                buttons=[
                    [
                        Button(
                            f"📄 {m.title} ({ctx.t.date(m.starts_at.astimezone(ctx.t.tz).date())})",
                            payload("mins", m.id),
                        )
                    ]
                    for m in with_minutes
                ],
            )
        )


@registry.button("mins", access="member")
async def fetch_minutes(ctx: Context) -> None:
    (meeting_id,) = press_parts(ctx.press_args, ID)
    meeting = await meetings.get(ctx.session, meeting_id)
    if meeting is None:
        ctx.reply(ctx.t("mt.not_invited"))
        return
    assert meeting.id is not None
    invited = (
        ctx.member is not None
        and ctx.member.id is not None
        and await meetings.invite(ctx.session, meeting.id, ctx.member.id) is not None
    )
    if not invited:
        # Board rights reach only the board's own subtree: another union's board, like anyone
        # not invited, is refused, and the attempt is logged.
        unit = await units.get(ctx.session, meeting.unit_id)
        if unit is None or not await ctx.can_manage(unit):
            ctx.audit("access_denied", target=f"meeting:{meeting.id}", needed="invited or board")
            ctx.reply(ctx.t("mt.not_invited"))
            return
    if meeting.minutes_file_id and meeting.minutes_file_platform == ctx.event.platform:
        ctx.reply(
            Message(
                ctx.t("mt.minutes_of", title=meeting.title),
                attachment=FileRef(
                    ctx.event.platform,
                    "document",
                    meeting.minutes_file_id,
                    meeting.minutes_file_name or "",
                ),
            )
        )
    elif meeting.minutes_text:
        ctx.reply(ctx.t("mt.minutes_of", title=meeting.title) + "\n" + meeting.minutes_text)
    else:
        ctx.reply(ctx.t("mt.no_minutes"))


@registry.command("diemdanh", access="member", where="private", help_key="help.cmd.diemdanh")
async def check_in(ctx: Context) -> None:
    code = ctx.event.args.strip().upper()
    if not code:
        ctx.reply(ctx.t("mt.checkin_usage"))
        return
    assert ctx.member is not None or ctx.is_config_admin
    for meeting in await meetings.by_code(ctx.session, code):
        window_open = meeting.starts_at - ATTENDANCE_OPENS
        window_close = meeting.ends_at + timedelta(hours=2)
        assert meeting.id is not None
        invite = (
            await meetings.invite(ctx.session, meeting.id, ctx.member.id)
            if (ctx.member and ctx.member.id is not None)
            else None
        )
        if invite is None:
            continue
        if not window_open <= ctx.now <= window_close:
            key = "mt.checkin_early" if ctx.now < window_open else "mt.checkin_late"
            window = span_text(ctx.t, window_open, window_close)
            ctx.reply(ctx.t(key, title=meeting.title, window=window))
            return
        invite.attended, invite.checked_in_at = True, ctx.now
        ctx.reply(ctx.t("mt.checked_in", title=meeting.title))
        return
    ctx.reply(ctx.t("mt.checkin_unknown"))


# --- the scheduler's actions ---------------------------------------------------------------
@action("meeting_reminder")
async def remind(app: App, session: AsyncSession, row: Reminder, late: bool) -> str | None:
    meeting = await meetings.get(session, row.ref_id)
    if meeting is None or meeting.status != SCHEDULED:
        return "meeting cancelled"
    assert meeting.id is not None
    now = app.clock.now()
    if now >= meeting.starts_at:
        return "missed while the bot was down: the meeting has already started"
    t = app.translator()
    unit = await units.get(session, meeting.unit_id)
    left = int((meeting.starts_at - now).total_seconds() // 60)
    text = "\n".join(
        [
            t("mt.reminder", left=duration_text(t, left)),
            describe(t, meeting, unit.name if unit else ""),
        ]
        + ([t("mt.reminder_late")] if late else [])
    )
    attendees = [i.member_id for i in await meetings.invites(session, meeting.id) if i.answer != NO]
    await send_to_invitees(
        app,
        session,
        meeting,
        key=f"remind:{row.key}",
        kind="reminder",
        text=text,
        member_ids=attendees,
        now=now,
        with_rsvp=True,
    )
    return None


@action("meeting_next")
async def next_occurrence(app: App, session: AsyncSession, row: Reminder, late: bool) -> str | None:
    """A recurring meeting has started: plan the next one (invitations, reminders)."""
    meeting = await meetings.get(session, row.ref_id)
    if meeting is None or meeting.status != SCHEDULED or not meeting.repeat:
        return "series stopped"
    start = next_start(meeting, app.settings.tz)
    duration = meeting.ends_at - meeting.starts_at
    draft = meetings.MeetingDraft(
        unit_id=meeting.unit_id,
        title=meeting.title,
        kind=meeting.kind,
        starts=start,
        ends=start + duration,
        place=meeting.online_link or meeting.place,
        agenda=meeting.agenda,
        audience=meeting.audience,
        offsets=meeting.offsets,
        repeat=meeting.repeat,
    )
    await create(
        app,
        session,
        draft,
        organiser=meeting.organiser_id,
        platform=meeting.organiser_platform,
        chat_id=meeting.organiser_chat,
        now=app.clock.now(),
        series_id=meeting.series_id,
    )
    return None
