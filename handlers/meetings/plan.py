"""Creating meetings and everything they plan: invitees, the invitation with its .ics,
reminders, the next occurrence of a recurring meeting, and the messages about changes.

Shared by the /hop dialog, the organiser's actions and the scheduler's actions.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Button
from bot.i18n import Translator
from bot.registry import payload
from handlers.common import audiences
from handlers.common.audiences import AUDIENCES
from handlers.meetings.ics import ics_filename, meeting_ics
from models import meetings, reminders, units
from models.meetings import Meeting
from models.outbox import DeliveryJob, OutboxMessage, buttons_to_json

if TYPE_CHECKING:
    from bot.app import App

CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY3479"  # no look-alikes (0/O, 1/I/L, 5/S, 8/B)
CAPTION_LIMIT = 1000
# Attendance is taken from this long before the start (the organiser's list, /diemdanh).
ATTENDANCE_OPENS = timedelta(minutes=30)


def attendance_open(meeting: Meeting, now: datetime) -> bool:
    return now >= meeting.starts_at - ATTENDANCE_OPENS


def rsvp_buttons(t: Translator, meeting_id: int) -> list[list[Button]]:
    return [
        [
            Button(t("mt.btn.yes"), payload("rsvp", meeting_id, "y")),
            Button(t("mt.btn.no"), payload("rsvp", meeting_id, "n")),
        ],
        [Button(t("mt.btn.maybe"), payload("rsvp", meeting_id, "m"))],
    ]


def when_text(t: Translator, meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(t.tz)
    end = meeting.ends_at.astimezone(t.tz)
    tail = f"{end:%H:%M}" if end.date() == start.date() else t.datetime(meeting.ends_at)
    return f"{t.datetime(meeting.starts_at)}–{tail}"


def span_text(t: Translator, start: datetime, end: datetime) -> str:
    """ "13:30 đến 18:00, Thứ Tư, 25/11/2026" (the day once when both fall on it)."""
    first, last = start.astimezone(t.tz), end.astimezone(t.tz)
    if first.date() == last.date():
        day = f"{t.weekday(start)}, {first:%d/%m/%Y}"
        return t("mt.span_same_day", start=f"{first:%H:%M}", end=f"{last:%H:%M}", day=day)
    return t("mt.span", start=t.datetime(start), end=t.datetime(end))


def duration_text(t: Translator, minutes: int) -> str:
    """ "1 ngày", "2 giờ 30 phút": a length of time as people say it."""
    days, rest = divmod(max(minutes, 0), 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        t("mt.days", n=days) if days else "",
        t("mt.hours", n=hours) if hours else "",
        t("mt.minutes", n=mins) if mins else "",
    ]
    return " ".join(p for p in parts if p) or t("mt.minutes", n=0)


def where_text(meeting: Meeting) -> str:
    return " · ".join(p for p in (meeting.place, meeting.online_link) if p)


def describe(t: Translator, meeting: Meeting, unit_name: str) -> str:
    lines = [
        f"📌 {meeting.title}",
        *([f"🏢 {unit_name}"] if unit_name else []),
        f"🕑 {when_text(t, meeting)}",
        f"📍 {where_text(meeting)}",
    ]
    if meeting.agenda:
        agenda = meeting.agenda if len(meeting.agenda) <= 400 else meeting.agenda[:400] + "…"
        lines.append(t("mt.agenda", agenda=agenda))
    if meeting.repeat:
        lines.append(t("mt.repeats", rule=t(f"mt.repeat.{meeting.repeat}")))
    return "\n".join(lines)


def calendar_file(
    meeting: Meeting, now: datetime, tz: Any, *, cancelled: bool = False
) -> tuple[str, bytes]:
    data = meeting_ics(
        uid=f"meeting-{meeting.id}@congdoan-bot",
        sequence=meeting.version,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=where_text(meeting),
        description=meeting.agenda,
        url=meeting.online_link,
        cancelled=cancelled,
        reminders_minutes=meeting.offsets,
        now=now,
    )
    return ics_filename(meeting.title, meeting.starts_at, tz=tz), data


async def send_to_invitees(
    app: App,
    session: AsyncSession,
    meeting: Meeting,
    *,
    key: str,
    kind: str,
    text: str,
    member_ids: list[int] | None = None,
    audience: dict[str, Any] | None = None,
    now: datetime,
    with_rsvp: bool = False,
    attach_ics: bool = False,
    cancelled: bool = False,
) -> int:
    """One delivery job to (some of) the invitees; nothing happens twice for the same key."""
    t = app.translator()
    assert meeting.id is not None
    job = DeliveryJob(
        kind=kind,
        key=key,
        ref_id=meeting.id,
        unit_id=meeting.unit_id,
        title=t("mt.job_title", title=meeting.title[:120]),
        created_by=meeting.organiser_id,
        language=t.language,
        start_at=now,
        created_at=now,
    )
    if kind in ("invitation", "nudge", "reschedule", "cancel") and meeting.organiser_chat:
        job.status_platform, job.status_chat_id = (
            meeting.organiser_platform,
            meeting.organiser_chat,
        )
    content = OutboxMessage(text=text[:CAPTION_LIMIT] if attach_ics else text)
    if with_rsvp:
        content.buttons_json = buttons_to_json(rsvp_buttons(t, meeting.id))
    if attach_ics:
        content.file_name, content.file_data = calendar_file(
            meeting, now, t.tz, cancelled=cancelled
        )
        content.file_kind = "document"
    spec = audience if audience is not None else audiences.of_members(member_ids or [])
    queued = await audiences.queue(session, job, content, spec, now=now)
    return queued or 0


async def plan_reminders(session: AsyncSession, meeting: Meeting, now: datetime) -> int:
    assert meeting.id is not None
    added = 0
    for offset in meeting.offsets:
        due = meeting.starts_at - timedelta(minutes=offset)
        if due > now:
            added += await reminders.add(
                session,
                kind="meeting_reminder",
                ref_id=meeting.id,
                arg=str(offset),
                key=f"mr:{meeting.id}:v{meeting.version}:{offset}",
                due_at=due,
                now=now,
            )
    if meeting.repeat:
        await reminders.add(
            session,
            kind="meeting_next",
            ref_id=meeting.id,
            key=f"mn:{meeting.id}",
            due_at=meeting.starts_at,
            now=now,
        )
    return added


async def create(
    app: App,
    session: AsyncSession,
    draft: meetings.MeetingDraft,
    *,
    organiser: int | None,
    platform: str,
    chat_id: str,
    now: datetime,
    series_id: int | None = None,
) -> tuple[Meeting, int]:
    """A meeting with its invitees, invitation job and reminders. Returns (meeting, queued)."""
    unit = await units.get(session, draft.unit_id)
    assert unit is not None and unit.id is not None
    meeting = await meetings.create(
        session=session,
        draft=draft,
        organiser_id=organiser,
        platform=platform,
        chat_id=chat_id,
        checkin_code="".join(secrets.choice(CODE_ALPHABET) for _ in range(6)),
        now=now,
        series_id=series_id,
    )
    chosen = AUDIENCES[draft.audience]
    if chosen.members is not None:
        assert meeting.id is not None
        await meetings.invite_all(session, meeting.id, chosen.members(unit))
    t = app.translator()
    text = "\n".join(
        [
            t("mt.invitation", unit=unit.name),
            "",
            describe(t, meeting, unit.name),
            "",
            t("mt.invitation_ask"),
        ]
    )
    queued = await send_to_invitees(
        app,
        session,
        meeting,
        key=f"invite:{meeting.id}",
        kind="invitation",
        text=text,
        audience=audiences.of_unit(draft.audience, unit),
        now=now,
        with_rsvp=True,
        attach_ics=True,
    )
    await plan_reminders(session, meeting, now)
    return meeting, queued


def next_start(meeting: Meeting, tz: Any) -> datetime:
    """The next occurrence of a recurring meeting, same local time of day."""
    local = meeting.starts_at.astimezone(tz)
    if meeting.repeat == "weekly":
        nxt = local + timedelta(days=7)
    else:
        year, month = (local.year + local.month // 12, local.month % 12 + 1)
        if meeting.repeat == "monthly_day":
            day = min(local.day, calendar.monthrange(year, month)[1])
        else:  # monthly_nth: the same weekday, same rank in the month (5th → last)
            rank = (local.day - 1) // 7
            days = [
                d
                for d in range(1, calendar.monthrange(year, month)[1] + 1)
                if calendar.weekday(year, month, d) == local.weekday()
            ]
            day = days[min(rank, len(days) - 1)]
        nxt = local.replace(year=year, month=month, day=day)
    return nxt.astimezone(UTC)
