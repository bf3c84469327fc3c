"""Meetings (họp, sinh hoạt tổ, hội nghị, đại hội), their invitees, answers and attendance."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as DraftField
from sqlalchemy import UniqueConstraint, case, func, insert, literal
from sqlalchemy import select as core_select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.members import Member
from models.types import UTCDateTime
from models.units import Unit, ids_under

SCHEDULED, CANCELLED = "scheduled", "cancelled"
KINDS = ("to", "bch", "hoinghi", "daihoi", "khac")
YES, NO, MAYBE = "yes", "no", "maybe"
DEFAULT_OFFSETS = [24 * 60, 60]


class Meeting(SQLModel, table=True):
    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("series_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    organiser_id: int | None = Field(default=None, foreign_key="members.id")
    organiser_platform: str = Field(default="", max_length=16)
    organiser_chat: str = Field(default="", max_length=64)
    title: str = Field(max_length=200)
    kind: str = Field(default="khac", max_length=12)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=300)
    online_link: str = Field(default="", max_length=500)
    agenda: str = Field(default="")
    audience: str = Field(default="all", max_length=32)
    offsets_json: str = Field(default="[1440, 60]")
    status: str = Field(default=SCHEDULED, max_length=12)
    # Bumped on every reschedule: reminder keys and the .ics SEQUENCE follow it.
    version: int = 0
    checkin_code: str = Field(default="", max_length=8)
    minutes_text: str | None = None
    minutes_file_id: str | None = Field(default=None, max_length=256)
    minutes_file_platform: str | None = Field(default=None, max_length=16)
    minutes_file_name: str | None = Field(default=None, max_length=200)
    # "weekly" | "monthly_day" | "monthly_nth" (e.g. first Monday), empty for one-off.
    repeat: str = Field(default="", max_length=16)
    series_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def offsets(self) -> list[int]:
        return list(json.loads(self.offsets_json or "[]"))


class Invite(SQLModel, table=True):
    __tablename__ = "meeting_invites"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    answer: str | None = Field(default=None, max_length=8)
    reason: str | None = Field(default=None, max_length=300)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool | None = None
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def get(session: AsyncSession, meeting_id: int) -> Meeting | None:
    return await session.get(Meeting, meeting_id)


async def invite(session: AsyncSession, meeting_id: int, member_id: int) -> Invite | None:
    query = select(Invite).where(Invite.meeting_id == meeting_id, Invite.member_id == member_id)
    return (await session.exec(query)).first()


async def invites(session: AsyncSession, meeting_id: int) -> Sequence[Invite]:
    query = select(Invite).where(Invite.meeting_id == meeting_id).order_by(col(Invite.id))
    return (await session.exec(query)).all()


async def invite_all(session: AsyncSession, meeting_id: int, member_ids_query: Any) -> int:
    """Invite every member a query of member ids yields: one INSERT … SELECT, however many
    (a general assembly of the whole union). Returns how many were invited."""
    people = member_ids_query.subquery()
    rows = select(literal(meeting_id), people.c[0])
    await session.exec(insert(Invite).from_select(["meeting_id", "member_id"], rows))
    count = select(func.count()).select_from(Invite).where(Invite.meeting_id == meeting_id)
    return int((await session.exec(count)).one())


async def invitee_ids(
    session: AsyncSession, meeting_id: int, *, unanswered: bool = False
) -> list[int]:
    query = select(Invite.member_id).where(Invite.meeting_id == meeting_id)
    if unanswered:
        query = query.where(col(Invite.answer).is_(None))
    return [int(i) for i in (await session.exec(query.order_by(col(Invite.id)))).all()]


async def upcoming_for(
    session: AsyncSession, member_id: int, since: datetime, limit: int = 10
) -> Sequence[tuple[Meeting, Invite]]:
    query = (
        select(Meeting, Invite)
        .join(Invite, col(Invite.meeting_id) == Meeting.id)
        .where(
            Invite.member_id == member_id,
            col(Meeting.ends_at) >= since,
            Meeting.status == SCHEDULED,
        )
        .order_by(col(Meeting.starts_at))
        .limit(limit)
    )
    return [(m, i) for m, i in (await session.exec(query)).all()]


async def recent_past_for(
    session: AsyncSession, member_id: int, before: datetime, limit: int = 5
) -> Sequence[Meeting]:
    query = (
        select(Meeting)
        .join(Invite, col(Invite.meeting_id) == Meeting.id)
        .where(
            Invite.member_id == member_id,
            col(Meeting.ends_at) < before,
            Meeting.status == SCHEDULED,
        )
        .order_by(col(Meeting.starts_at).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def organised_in(
    session: AsyncSession, roots: Sequence[Unit], since: datetime, limit: int = 15
) -> Sequence[Meeting]:
    """Meetings of these units that have not ended long ago (for organisers)."""
    if not roots:
        return []
    unit_ids = ids_under(roots)
    query = (
        select(Meeting)
        .where(col(Meeting.unit_id).in_(unit_ids), col(Meeting.ends_at) >= since)
        .order_by(col(Meeting.starts_at))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def by_code(session: AsyncSession, code: str) -> Sequence[Meeting]:
    query = select(Meeting).where(
        Meeting.checkin_code == code.strip().upper(), Meeting.status == SCHEDULED
    )
    return (await session.exec(query.order_by(col(Meeting.starts_at), col(Meeting.id)))).all()


@dataclass(frozen=True)
class Attendance:
    name: str
    invited: int
    attended: int

    @property
    def rate(self) -> int:
        """The share of meetings attended, in whole percent."""
        return round(100 * self.attended / self.invited) if self.invited else 0


async def attendance_in_year(
    session: AsyncSession,
    roots: Sequence[Unit],
    year_start: datetime,
    year_end: datetime,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, Attendance, list[Attendance]]:
    """How many members were invited to meetings of these units held in the period, the
    sums over them all, and each of them (all, or one page) with how many they attended, in
    Vietnamese name order. Counted, joined and sorted in SQL."""
    if not roots:
        return 0, Attendance("", 0, 0), []
    held = select(Meeting.id).where(
        col(Meeting.unit_id).in_(ids_under(roots)),
        Meeting.status == SCHEDULED,
        col(Meeting.starts_at) >= year_start,
        col(Meeting.starts_at) < year_end,
    )
    came = func.sum(case((col(Invite.attended).is_(True), 1), else_=0))
    per = (
        select(
            col(Invite.member_id).label("member_id"),
            func.count().label("invited"),
            came.label("came"),
        )
        .where(col(Invite.meeting_id).in_(held))
        .group_by(col(Invite.member_id))
        .subquery()
    )
    # The totals ride on each row (window functions, worked out before the page is cut):
    # one pass over the year's invitations instead of two.
    query = (
        core_select(  # sqlmodel's select() is typed for up to 4 columns
            col(Member.full_name),
            per.c.invited,
            per.c.came,
            func.count().over(),
            func.sum(per.c.invited).over(),
            func.sum(per.c.came).over(),
        )
        .join(per, col(Member.id) == per.c.member_id)
        .order_by(col(Member.sort_key), col(Member.id))
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    found = (await session.exec(query)).all()  # type: ignore[call-overload]
    if found:
        people, invited, attended = found[0][3:]
    else:  # a page past the end: the totals on their own
        totals = select(func.count(), func.sum(per.c.invited), func.sum(per.c.came))
        people, invited, attended = (await session.exec(totals.select_from(per))).one()
    rows = [Attendance(n, int(i), int(c or 0)) for n, i, c, *_ in found]
    return int(people), Attendance("", int(invited or 0), int(attended or 0)), rows


@dataclass
class Answers:
    """How a meeting's invitees answered: counts by answer (None: not yet), and who came."""

    by_answer: dict[str | None, int] = field(default_factory=dict)
    attended: int = 0

    @property
    def invited(self) -> int:
        return sum(self.by_answer.values())


async def answer_counts(session: AsyncSession, meeting_ids: Sequence[int]) -> dict[int, Answers]:
    """The answers of many meetings in one query (the organiser's list of meetings)."""
    if not meeting_ids:
        return {}
    attended = func.sum(case((col(Invite.attended).is_(True), 1), else_=0))
    query = (
        select(Invite.meeting_id, Invite.answer, func.count(), attended)
        .where(col(Invite.meeting_id).in_(meeting_ids))
        .group_by(col(Invite.meeting_id), col(Invite.answer))
    )
    found = {meeting_id: Answers() for meeting_id in meeting_ids}
    for meeting_id, answer, count, came in (await session.exec(query)).all():
        answers = found[int(meeting_id)]
        answers.by_answer[answer] = int(count)
        answers.attended += int(came or 0)
    return found


NOT_ANSWERED = "none"  # the filter for invitees without an answer


async def invitee_page(
    session: AsyncSession,
    meeting_id: int,
    *,
    answer: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[tuple[Invite, Member]]]:
    """How many invitees (with this answer, or NOT_ANSWERED) and one page of them with their
    member row, in Vietnamese name order."""
    where: list[Any] = [Invite.meeting_id == meeting_id]
    if answer == NOT_ANSWERED:
        where.append(col(Invite.answer).is_(None))
    elif answer:
        where.append(Invite.answer == answer)
    total = (await session.exec(select(func.count()).select_from(Invite).where(*where))).one()
    query = (
        select(Invite, Member)
        .join(Member, col(Member.id) == Invite.member_id)
        .where(*where)
        .order_by(col(Member.sort_key), col(Member.id))
        .offset(offset)
        .limit(limit)
    )
    return int(total), [(i, m) for i, m in (await session.exec(query)).all()]


# --- creating a meeting ---------------------------------------------------------------------------
class MeetingDraft(BaseModel):
    """A meeting as the /hop dialog gathers it (its dialog data, validated), or as the next
    occurrence of a recurring one: what `create` turns into a row."""

    model_config = ConfigDict(extra="ignore")

    unit_id: int
    title: str
    kind: str = "khac"
    starts: datetime
    ends: datetime
    place: str = ""  # a web address here is the online link
    agenda: str | None = ""
    audience: str
    offsets: list[int] = DraftField(default_factory=lambda: list(DEFAULT_OFFSETS))
    repeat: str = ""


async def create(
    *,
    session: AsyncSession,
    draft: MeetingDraft,
    organiser_id: int | None,
    platform: str,
    chat_id: str,
    checkin_code: str,
    now: datetime,
    series_id: int | None = None,
) -> Meeting:
    """The meeting row (a recurring meeting's first occurrence starts its series)."""
    place, link = draft.place, ""
    if place.startswith(("http://", "https://")):
        place, link = "", place
    meeting = Meeting(
        unit_id=draft.unit_id,
        organiser_id=organiser_id,
        organiser_platform=platform,
        organiser_chat=chat_id,
        title=draft.title,
        kind=draft.kind,
        starts_at=draft.starts,
        ends_at=draft.ends,
        place=place,
        online_link=link,
        agenda=draft.agenda or "",
        audience=draft.audience,
        offsets_json=json.dumps(draft.offsets),
        repeat=draft.repeat,
        series_id=series_id,
        checkin_code=checkin_code,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    if meeting.series_id is None and meeting.repeat:
        meeting.series_id = meeting.id
    return meeting
