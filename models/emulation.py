"""Emulation campaigns (phong trào thi đua) and the pledges (đăng ký thi đua) made in them.

A campaign keeps a snapshot of the titles and targets it was opened with, so a later change of
configuration does not rewrite a year that is already running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import ForeignKey, Index, UniqueConstraint, case, func
from sqlalchemy import select as core_select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.members import ACTIVE, LEFT, Member
from models.types import UTCDateTime
from models.units import Unit


class Campaign(SQLModel, table=True):
    __tablename__ = "emulation_campaigns"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id", index=True)  # the CĐCS running it
    year: int
    deadline: datetime = Field(sa_type=UTCDateTime)
    titles_json: str  # snapshot of the offered titles (config TitleSpec dicts)
    targets_json: str
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def titles(self) -> list[dict[str, Any]]:
        return list(json.loads(self.titles_json))

    @property
    def targets(self) -> list[dict[str, Any]]:
        return list(json.loads(self.targets_json))

    def title(self, code: str) -> dict[str, Any] | None:
        return next((t for t in self.titles if t["code"] == code), None)


class Pledge(SQLModel, table=True):
    __tablename__ = "emulation_pledges"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", "title_code"),
        Index("ix_pledges_campaign_unit", "campaign_id", "unit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="emulation_campaigns.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    title_code: str = Field(max_length=16)
    # The member's unit when they registered: reports per unit need no join, and a member who
    # moves mid-year stays counted where they pledged.
    # (named by migration 0005, before the naming convention)
    unit_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("units.id", name="fk_pledges_unit")]
    )
    commitment: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Year-end review: the member's own assessment and the board's decision.
    self_result: str | None = Field(default=None, max_length=12)
    self_note: str | None = Field(default=None, max_length=300)
    result: str | None = Field(default=None, max_length=12)


class UnitPledge(SQLModel, table=True):
    """A collective title (e.g. "Tổ công đoàn vững mạnh") a unit's board registers for it."""

    __tablename__ = "emulation_unit_pledges"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id", "title_code"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="emulation_campaigns.id", index=True)
    unit_id: int = Field(foreign_key="units.id")
    title_code: str = Field(max_length=16)
    pledged_by: int | None = Field(default=None, foreign_key="members.id")
    commitment: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    result: str | None = Field(default=None, max_length=12)


async def unit_pledges(
    session: AsyncSession, campaign_id: int, unit_ids: list[int] | None = None
) -> Sequence[UnitPledge]:
    query = select(UnitPledge).where(UnitPledge.campaign_id == campaign_id)
    if unit_ids is not None:
        query = query.where(col(UnitPledge.unit_id).in_(unit_ids))
    return (await session.exec(query.order_by(col(UnitPledge.id)))).all()


async def follow_member(session: AsyncSession, member_id: int, unit_id: int) -> int:
    """A member moved to another unit: their undecided pledges move along, so the unit that
    will review them at year-end counts them. Returns how many moved."""
    rows = (
        await session.exec(
            select(Pledge).where(Pledge.member_id == member_id, col(Pledge.result).is_(None))
        )
    ).all()
    for row in rows:
        row.unit_id = unit_id
        session.add(row)
    return len(rows)


async def for_unit_year(session: AsyncSession, unit_id: int, year: int) -> Campaign | None:
    query = select(Campaign).where(Campaign.unit_id == unit_id, Campaign.year == year)
    return (await session.exec(query)).first()


async def open_for(session: AsyncSession, unit: Unit, now: datetime) -> Campaign | None:
    """The campaign a member of `unit` can register in now (their CĐCS's, deadline ahead)."""
    ancestor_ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    query = (
        select(Campaign)
        .where(col(Campaign.unit_id).in_(ancestor_ids), col(Campaign.deadline) >= now)
        .order_by(col(Campaign.year).desc())
    )
    return (await session.exec(query)).first()


async def latest_for(session: AsyncSession, unit: Unit) -> Campaign | None:
    ancestor_ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    query = (
        select(Campaign)
        .where(col(Campaign.unit_id).in_(ancestor_ids))
        .order_by(col(Campaign.year).desc())
    )
    return (await session.exec(query)).first()


async def pledges_of(session: AsyncSession, campaign_id: int, member_id: int) -> Sequence[Pledge]:
    query = (
        select(Pledge)
        .where(Pledge.campaign_id == campaign_id, Pledge.member_id == member_id)
        .order_by(col(Pledge.id))
    )
    return (await session.exec(query)).all()


def pledged_ids_query(campaign_id: int) -> Any:
    """The ids of the members who pledged a title in the campaign, as a query."""
    return select(Pledge.member_id).where(Pledge.campaign_id == campaign_id)


async def pledges_for(
    session: AsyncSession, campaign_id: int, member_ids: Sequence[int]
) -> dict[int, list[Pledge]]:
    """The pledges of these members in the campaign, by member, in the order they chose them:
    one query for a page of the review."""
    if not member_ids:
        return {}
    query = (
        select(Pledge)
        .where(Pledge.campaign_id == campaign_id, col(Pledge.member_id).in_(list(member_ids)))
        .order_by(col(Pledge.id))
    )
    found: dict[int, list[Pledge]] = {}
    for pledge in (await session.exec(query)).all():
        found.setdefault(pledge.member_id, []).append(pledge)
    return found


async def count_title(
    session: AsyncSession, campaign_id: int, code: str, exclude_member: int | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(Pledge)
        .where(Pledge.campaign_id == campaign_id, Pledge.title_code == code)
    )
    if exclude_member is not None:
        query = query.where(Pledge.member_id != exclude_member)
    return int((await session.exec(query)).one())


async def count_reached(
    session: AsyncSession, campaign_id: int, code: str, exclude_pledge: int | None = None
) -> int:
    """How many current members the board found to have reached `code` at the review."""
    query = (
        select(func.count())
        .select_from(Pledge)
        .join(Member, col(Member.id) == Pledge.member_id)
        .where(
            Pledge.campaign_id == campaign_id,
            Pledge.title_code == code,
            Pledge.result == "dat",
            Member.status == ACTIVE,
        )
    )
    if exclude_pledge is not None:
        query = query.where(Pledge.id != exclude_pledge)
    return int((await session.exec(query)).one())


async def awards_by_job(
    session: AsyncSession, campaign: Campaign, root: Unit
) -> list[tuple[str | None, str, int]]:
    """(job title, title code, how many reached it at the review) for the current members
    under `root`: the share of awards to members who are not leaders is counted from this."""
    in_tree = select(Unit.id).where(col(Unit.path).startswith(root.path))
    query = (
        select(Member.job_title, Pledge.title_code, func.count())
        .join(Member, col(Member.id) == Pledge.member_id)
        .where(
            Pledge.campaign_id == campaign.id,
            Pledge.result == "dat",
            col(Pledge.unit_id).in_(in_tree),
            col(Member.unit_id).in_(in_tree),
            Member.status == ACTIVE,
        )
        .group_by(Member.job_title, Pledge.title_code)
    )
    return [(job, code, int(n)) for job, code, n in (await session.exec(query)).all()]


async def members_without_pledge(
    session: AsyncSession, campaign: Campaign, root: Unit
) -> list[int]:
    pledged = select(Pledge.member_id).where(Pledge.campaign_id == campaign.id)
    query = select(Member.id).where(
        col(Member.unit_id).in_(select(Unit.id).where(col(Unit.path).startswith(root.path))),
        Member.status == ACTIVE,
        col(Member.id).not_in(pledged),
    )
    ids = (await session.exec(query.order_by(col(Member.id)))).all()
    return [int(cast(int, i)) for i in ids]  # primary keys: never NULL


async def unit_stats(
    session: AsyncSession, campaign: Campaign, root: Unit
) -> dict[int, dict[str, Any]]:
    """Per unit under `root` (own members only): members, women, and pledges per title."""
    in_tree = select(Unit.id).where(col(Unit.path).startswith(root.path))
    stats: dict[int, dict[str, Any]] = {}
    query = (
        select(
            Member.unit_id, func.count(), func.sum(case((col(Member.gender) == "nu", 1), else_=0))
        )
        .where(col(Member.unit_id).in_(in_tree), Member.status == ACTIVE)
        .group_by(col(Member.unit_id))
    )
    for unit_id, total, women in (await session.exec(query)).all():
        stats[int(unit_id)] = {
            "members": int(total),
            "women": int(women or 0),
            "titles": {},
            "women_titles": {},
            "reached": {},
        }
    query2 = (
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
            Member.unit_id,
            Pledge.title_code,
            func.count(),
            func.sum(case((col(Member.gender) == "nu", 1), else_=0)),
            func.sum(case((col(Pledge.result) == "dat", 1), else_=0)),
            func.sum(case((col(Pledge.result).is_not(None), 1), else_=0)),
        )
        .join(Member, col(Member.id) == Pledge.member_id)
        .where(
            Pledge.campaign_id == campaign.id,
            # the pledge's own unit column is indexed: one tổ reads only its own pledges
            col(Pledge.unit_id).in_(in_tree),
            col(Member.unit_id).in_(in_tree),
            Member.status == ACTIVE,
        )
        .group_by(Member.unit_id, Pledge.title_code)
    )
    for unit_id, code, count, women, reached, decided in (await session.exec(query2)).all():
        entry = stats.setdefault(
            int(unit_id),
            {"members": 0, "women": 0, "titles": {}, "women_titles": {}, "reached": {}},
        )
        entry["titles"][code] = int(count)
        entry["women_titles"][code] = int(women or 0)
        entry["reached"][code] = int(reached or 0)
        entry.setdefault("decided", {})[code] = int(decided or 0)
    return stats


async def member_rows(
    session: AsyncSession, campaign: Campaign, root: Unit
) -> list[tuple[int, str, int, list[str]]]:
    """(member id, name, unit id, registered titles) of every active member under `root`.

    Plain columns, not ORM objects: a large CĐCS has a hundred thousand of them."""
    in_tree = select(Unit.id).where(col(Unit.path).startswith(root.path))
    people = (
        await session.exec(
            select(Member.id, Member.full_name, Member.unit_id)
            .where(col(Member.unit_id).in_(in_tree), Member.status == ACTIVE)
            .order_by(col(Member.unit_id), col(Member.name_key))
        )
    ).all()
    pledges = (
        await session.exec(
            select(Pledge.member_id, Pledge.title_code)
            .where(Pledge.campaign_id == campaign.id)
            .order_by(col(Pledge.id))  # each member's titles in the order they chose them
        )
    ).all()
    by_member: dict[int, list[str]] = {}
    for member_id, code in pledges:
        by_member.setdefault(int(member_id), []).append(code)
    return [
        (int(mid), name, int(unit_id), by_member.get(int(mid), []))
        for mid, name, unit_id in cast("Sequence[tuple[int, str, int]]", people)  # ids: not NULL
    ]


async def left_with_pledges(session: AsyncSession, campaign: Campaign, root: Unit) -> int:
    """Members of this CĐCS who left the union after pledging (listed, not counted)."""
    in_tree = select(Unit.id).where(col(Unit.path).startswith(root.path))
    pledged = select(Pledge.member_id).where(Pledge.campaign_id == campaign.id)
    query = select(func.count()).where(
        col(Member.unit_id).in_(in_tree), Member.status == LEFT, col(Member.id).in_(pledged)
    )
    return int((await session.exec(query)).one())


class ReportRow(NamedTuple):
    """One person in the campaign's report: every active member, plus those who left after
    pledging (shown, flagged, not counted). A tuple: 100,000 of them are built per report."""

    member_id: int
    name: str
    unit_id: int
    gender: str | None
    active: bool
    codes: list[str]  # titles registered
    decided: dict[str, str]  # title code -> the board's decision, once the review began
    commitment: str = ""  # what the member wrote when registering


async def report_rows(session: AsyncSession, campaign: Campaign, root: Unit) -> list[ReportRow]:
    """Everything the board report needs in one query (a CĐCS can have 100,000 members)."""
    in_tree = select(Unit.id).where(col(Unit.path).startswith(root.path))
    codes = func.aggregate_strings(col(Pledge.title_code), ",")
    # aggregate_strings skips NULLs: only decided pledges appear here.
    decided = func.aggregate_strings(col(Pledge.title_code) + ":" + col(Pledge.result), ",")
    # One text for all titles saved together; a later change without a new text keeps the
    # old one on the titles it had and leaves the new ones empty: the one non-empty text.
    commitment = func.max(Pledge.commitment)
    query = (
        core_select(  # sqlmodel's select() is typed for up to 4 columns
            col(Member.id),
            col(Member.full_name),
            col(Member.unit_id),
            col(Member.gender),
            col(Member.status),
            codes,
            decided,
            commitment,
        )
        .outerjoin(
            Pledge, (col(Pledge.member_id) == Member.id) & (Pledge.campaign_id == campaign.id)
        )
        .where(col(Member.unit_id).in_(in_tree), col(Member.status).in_([ACTIVE, LEFT]))
        .group_by(col(Member.id))
        .order_by(col(Member.unit_id), col(Member.name_key))
    )
    # A Core result on the session's connection: no ORM bookkeeping for 100,000 rows.
    connection = await session.connection()
    rows = []
    for member_id, name, unit_id, gender, status, pledged, results, written in (
        await connection.execute(query)
    ).all():
        if status != ACTIVE and not pledged:
            continue  # left before pledging: not part of this campaign
        rows.append(
            ReportRow(
                cast(int, member_id),  # a primary key: never NULL
                name,
                unit_id,
                gender,
                status == ACTIVE,
                pledged.split(",") if pledged else [],
                dict(item.split(":") for item in results.split(",")) if results else {},
                written or "",
            )
        )
    return rows


# --- collective titles --------------------------------------------------------------------------
async def toggle_unit_pledge(
    *,
    session: AsyncSession,
    campaign_id: int,
    unit_id: int,
    code: str,
    by: int | None,
    at: datetime,
) -> bool:
    """Register the unit for the title, or take it back if it was registered; True when it
    is registered now."""
    existing = [
        p for p in await unit_pledges(session, campaign_id, [unit_id]) if p.title_code == code
    ]
    if existing:
        await session.delete(existing[0])
    else:
        session.add(
            UnitPledge(
                campaign_id=campaign_id,
                unit_id=unit_id,
                title_code=code,
                pledged_by=by,
                created_at=at,
            )
        )
    await session.flush()
    return not existing


async def decide_unit_pledge(*, session: AsyncSession, pledge: UnitPledge, result: str) -> None:
    """The board's decision on a unit's collective title at the year-end review."""
    pledge.result = result
    session.add(pledge)


# --- campaigns and pledges ------------------------------------------------------------------------
async def create_campaign(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    deadline: datetime,
    titles: list[dict],
    targets: list[dict],
    created_by: int | None,
    now: datetime,
) -> Campaign:
    campaign = Campaign(
        unit_id=unit_id,
        year=year,
        deadline=deadline,
        titles_json=json.dumps(titles, ensure_ascii=False),
        targets_json=json.dumps(targets, ensure_ascii=False),
        created_by=created_by,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def save_pledges(
    *,
    session: AsyncSession,
    campaign_id: int,
    member_id: int,
    unit_id: int,
    chosen: Sequence[str],
    commitment: str,
    now: datetime,
) -> None:
    """The member's titles for the campaign are exactly `chosen`: new ones are added, ones no
    longer chosen dropped, kept ones keep their commitment unless a new one is given."""
    existing = {p.title_code: p for p in await pledges_of(session, campaign_id, member_id)}
    for code, old in existing.items():
        if code not in chosen:
            await session.delete(old)
    for code in chosen:
        if code in existing:
            existing[code].commitment = commitment or existing[code].commitment
            session.add(existing[code])
        else:
            session.add(
                Pledge(
                    campaign_id=campaign_id,
                    member_id=member_id,
                    unit_id=unit_id,
                    title_code=code,
                    commitment=commitment,
                    created_at=now,
                )
            )


async def move_deadline(*, session: AsyncSession, campaign: Campaign, deadline: datetime) -> None:
    """A running campaign's registration deadline moves (its reminders are planned again)."""
    campaign.deadline = deadline
    session.add(campaign)


async def set_titles(*, session: AsyncSession, campaign: Campaign, titles: list[dict]) -> None:
    """A running campaign's titles change (a title taken out stays, marked "removed")."""
    campaign.titles_json = json.dumps(titles, ensure_ascii=False)
    session.add(campaign)
