"""Members and their chat identities (a member can have a Telegram id and later a Zalo id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, UniqueConstraint, bindparam, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.names import SORT_TEXT_MAX, nfc, search_key, vi_sort_key, vi_sort_text
from models.types import UTCDateTime, utcnow
from models.units import Unit

PENDING, ACTIVE, REJECTED, LEFT = "pending", "active", "rejected", "left"
# Rows imported from the union's roster wait here until their owner registers in chat.
ROSTER = "roster"
# Union members, whether or not they use the bot yet.
MEMBERS = ("active", "roster")
STATUSES = (PENDING, ACTIVE, REJECTED, LEFT, ROSTER)
GENDERS = ("nam", "nu", "khac")


class Member(SQLModel, table=True):
    __tablename__ = "members"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=80)
    name_key: str = Field(max_length=80, index=True)
    # The name's Vietnamese order as sortable text (names.vi_sort_text): lists page in SQL.
    sort_key: str = Field(default="", max_length=SORT_TEXT_MAX, index=True)
    gender: str | None = Field(default=None, max_length=8)
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=20, index=True)
    email: str | None = Field(default=None, max_length=254)
    job_title: str | None = Field(default=None, max_length=120)
    unit_id: int = Field(foreign_key="units.id", index=True)
    card_number: str | None = Field(default=None, max_length=20, index=True)
    joined_union_on: date | None = None
    status: str = Field(default=PENDING, max_length=12, index=True)
    reject_reason: str | None = Field(default=None, max_length=300)
    decided_by: int | None = Field(default=None, foreign_key="members.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def set_name(self, name: str) -> None:
        self.full_name = nfc(name)
        self.name_key = search_key(self.full_name)
        self.sort_key = vi_sort_text(self.full_name)


class Identity(SQLModel, table=True):
    """A person on one chat platform. Exists before registration (language, first contact)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=128)
    language: str | None = Field(default=None, max_length=4)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The app they used last is where bulk messages go.
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the platform says they blocked the bot; cleared when they write again.
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The bot they talk to where a deployment runs several ("telegram:sct"); None: the
    # platform's main bot. Everything for them goes through it.
    bot: str | None = Field(default=None, max_length=40)


# Built once: it runs for every update (see models/events._SEEN).
_IDENTITY = select(Identity).where(
    Identity.platform == bindparam("platform"), Identity.user_id == bindparam("user_id")
)


async def identity(session: AsyncSession, platform: str, user_id: str) -> Identity | None:
    found = await session.exec(_IDENTITY, params={"platform": platform, "user_id": user_id})
    return found.first()


async def ensure_identity(
    session: AsyncSession,
    platform: str,
    user_id: str,
    display_name: str,
    now: datetime | None = None,
    bot: str | None = None,
) -> Identity:
    """The person behind an incoming event; writing to the bot makes them reachable again.

    Writes only what changed, and `last_seen_at` at most once per `SEEN_PRECISION`: a
    read-only command then writes nothing at all."""
    found = await identity(session, platform, user_id)
    if found is None:
        found = Identity(
            platform=platform,
            user_id=user_id,
            display_name=display_name[:128],
            last_seen_at=now,
            bot=bot,
        )
        session.add(found)
        await session.flush()
    elif display_name and found.display_name != display_name[:128]:
        found.display_name = display_name[:128]
    if found.bot != bot:  # they wrote to another bot of ours: reach them there from now on
        found.bot = bot
    if now is not None:
        if found.unreachable_at is not None:
            found.unreachable_at = None
        if found.last_seen_at is None or now - found.last_seen_at >= SEEN_PRECISION:
            found.last_seen_at = now
        elif found.member_id is not None and await _another_app_seen_since(session, found):
            found.last_seen_at = now  # they switched apps: bulk messages follow them
    return found


async def _another_app_seen_since(session: AsyncSession, found: Identity) -> bool:
    query = select(Identity.id).where(
        Identity.member_id == found.member_id,
        Identity.id != found.id,
        col(Identity.last_seen_at) >= found.last_seen_at,
    )
    return (await session.exec(query.limit(1))).first() is not None


# Which app a member used last decides where bulk messages go; an hour is precise enough.
SEEN_PRECISION = timedelta(hours=1)


async def mark_unreachable(
    session: AsyncSession, platform: str, user_id: str, now: datetime
) -> None:
    found = await identity(session, platform, user_id)
    if found is not None:
        found.unreachable_at = now


def reachable_chats_query(member_ids: Sequence[int]) -> Any:
    """Who a fan-out page reaches, as a query for INSERT … SELECT (the rows are made in the
    database, not in Python): columns member_id, platform, user_id, bot (the one they talk
    to: the platform's main bot unless identities.bot names another), one row per member that
    the bot can reach, on the app they used last (seen last, else created; on a tie the older
    account), in member order."""
    seen = func.coalesce(Identity.last_seen_at, Identity.created_at)
    ranked = (
        core_select(  # sqlmodel's select() is typed for up to 4 columns
            col(Identity.member_id).label("member_id"),
            col(Identity.platform).label("platform"),
            col(Identity.user_id).label("user_id"),
            func.coalesce(Identity.bot, Identity.platform).label("bot"),
            func.row_number()
            .over(
                partition_by=col(Identity.member_id),
                order_by=(seen.desc(), col(Identity.id).asc()),
            )
            .label("rank"),
        )
        .where(
            col(Identity.member_id).in_(list(member_ids)), col(Identity.unreachable_at).is_(None)
        )
        .subquery()
    )
    return (
        select(ranked.c.member_id, ranked.c.platform, ranked.c.user_id, ranked.c.bot)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.member_id)
    )


async def identities_of(session: AsyncSession, member_ids: Sequence[int]) -> Sequence[Identity]:
    if not member_ids:
        return []
    query = select(Identity).where(col(Identity.member_id).in_(member_ids))
    return (await session.exec(query)).all()


async def get(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def find_duplicate(
    session: AsyncSession, *, phone: str | None, card_number: str | None, exclude_id: int | None
) -> Member | None:
    """Another pending/active/roster member with the same phone or union card number."""
    conditions = []
    if phone:
        conditions.append(col(Member.phone) == phone)
    if card_number:
        conditions.append(col(Member.card_number) == card_number)
    if not conditions:
        return None
    query = select(Member).where(
        or_(*conditions), col(Member.status).in_([PENDING, ACTIVE, ROSTER])
    )
    if exclude_id is not None:
        query = query.where(Member.id != exclude_id)
    return (await session.exec(query.order_by(col(Member.id)))).first()


async def holders_of(
    session: AsyncSession, *, phones: Sequence[str], cards: Sequence[str]
) -> list[Member]:
    """The pending/active/roster members with any of these phones or card numbers (what
    find_duplicate looks for, for many rows at once), in id order."""
    found: dict[int, Member] = {}
    for column, values in ((col(Member.phone), phones), (col(Member.card_number), cards)):
        wanted = sorted(set(values))
        for start in range(0, len(wanted), 500):
            query = select(Member).where(
                column.in_(wanted[start : start + 500]),
                col(Member.status).in_([PENDING, ACTIVE, ROSTER]),
            )
            found.update({m.id: m for m in (await session.exec(query)).all() if m.id})
    return [found[i] for i in sorted(found)]


def _in_subtree(root: Unit) -> ColumnElement[bool]:
    return col(Member.unit_id).in_(select(Unit.id).where(col(Unit.path).startswith(root.path)))


def by_name(people: Sequence[Member]) -> list[Member]:
    """People in Vietnamese order: given name, then family and middle names."""
    return sorted(people, key=lambda m: (vi_sort_key(m.full_name), m.id or 0))


async def list_in_subtree(
    session: AsyncSession,
    root: Unit,
    *,
    statuses: Sequence[str] = MEMBERS,
    offset: int = 0,
    limit: int | None = None,
) -> Sequence[Member]:
    """Members under `root` in Vietnamese name order (bot.textutil.vi_sort_key), which SQL
    cannot sort by: a page is chosen from everyone's names, then only its rows are loaded."""
    where = (_in_subtree(root), col(Member.status).in_(statuses))
    if limit is None and offset == 0:
        return by_name((await session.exec(select(Member).where(*where))).all())
    return (await _page_by_name(session, where, offset, limit))[1]


async def _page_by_name(
    session: AsyncSession, where: Sequence[Any], offset: int, limit: int | None
) -> tuple[int, list[Member]]:
    """How many members match `where`, and one page of them in Vietnamese name order: every
    match's id and name in one query (SQL cannot sort the Vietnamese way), the page's rows in
    another."""
    names = (await session.exec(select(Member.id, Member.full_name).where(*where))).all()
    ordered = sorted(names, key=lambda row: (vi_sort_key(row[1]), row[0]))
    end = None if limit is None else offset + limit
    page = [int(cast(int, i)) for i, _ in ordered[offset:end]]
    if not page:
        return len(ordered), []
    rows = (await session.exec(select(Member).where(col(Member.id).in_(page)))).all()
    found = {m.id: m for m in rows}
    return len(ordered), [found[i] for i in page if i in found]


async def count_in_subtree(
    session: AsyncSession, root: Unit, *, statuses: Sequence[str] = MEMBERS
) -> int:
    query = (
        select(func.count())
        .select_from(Member)
        .where(_in_subtree(root), col(Member.status).in_(statuses))
    )
    return int((await session.exec(query)).one())


async def search(
    session: AsyncSession, root: Unit, text: str, *, limit: int = 20
) -> Sequence[Member]:
    """Members under `root` whose name, phone or card matches, diacritics ignored."""
    query = (
        select(Member)
        .where(_in_subtree(root), _matching(text), col(Member.status).in_(LISTED))
        .order_by(col(Member.name_key))
        .limit(limit)
    )
    return by_name((await session.exec(query)).all())


# Everyone a board looks up: not the rejected requests.
LISTED = (ACTIVE, PENDING, ROSTER, LEFT)


def _matching(text: str) -> ColumnElement[bool]:
    """A name (diacritics ignored), four digits or more of a phone, or a card number."""
    key = search_key(text)
    digits = "".join(ch for ch in text if ch in "0123456789")  # not "²", "٣"
    conditions = [col(Member.name_key).contains(key)]
    if len(digits) >= 4:
        conditions.append(col(Member.phone).contains(digits.lstrip("0")))
    conditions.append(col(Member.card_number) == text.strip().upper())
    return or_(*conditions)


async def table_page(
    session: AsyncSession,
    roots: Sequence[Unit],
    *,
    text: str = "",
    gender: str | None = None,
    status: str | None = None,
    has_card: bool | None = None,
    among: Any = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[Member]]:
    """How many members under `roots` match, and one page of them in Vietnamese name order.
    `among`: a query of member ids the page is limited to (e.g. those who pledged)."""
    if not roots:
        return 0, []
    where = [
        or_(*[_in_subtree(root) for root in roots]),
        col(Member.status).in_([status] if status else LISTED),
    ]
    if among is not None:
        where.append(col(Member.id).in_(among))
    if gender:
        where.append(col(Member.gender) == gender)
    if has_card is not None:
        card = col(Member.card_number)
        where.append(card.is_not(None) if has_card else card.is_(None))
    if text.strip():
        where.append(_matching(text))
    total = (await session.exec(select(func.count()).select_from(Member).where(*where))).one()
    query = (
        select(Member)
        .where(*where)
        .order_by(col(Member.sort_key), col(Member.id))
        .offset(offset)
        .limit(limit)
    )
    return int(total), list((await session.exec(query)).all())


def subtree_ids_query(root: Unit, *, gender: str | None = None, missing_card: bool = False) -> Any:
    """The ids of active members under `root` (optionally filtered), as a query: an audience
    is counted and paged in SQL rather than loaded into memory."""
    query = select(Member.id).where(_in_subtree(root), Member.status == ACTIVE)
    if gender:
        query = query.where(Member.gender == gender)
    if missing_card:
        query = query.where(col(Member.card_number).is_(None))
    return query


def _reachable_members() -> Any:
    return (
        select(Identity.member_id)
        .where(col(Identity.member_id).is_not(None), col(Identity.unreachable_at).is_(None))
        .distinct()
        .subquery()
    )


async def count_reachable(session: AsyncSession, ids_query: Any) -> tuple[int, int]:
    """(people, how many of them the bot can reach) of a query of member ids: one query."""
    people = ids_query.subquery()
    reach = _reachable_members()
    first = people.c[0]
    query = select(func.count(first), func.count(reach.c.member_id)).select_from(
        people.outerjoin(reach, reach.c.member_id == first)
    )
    total, reachable = (await session.exec(query)).one()
    return int(total), int(reachable)


async def count_reachable_of(session: AsyncSession, member_ids: Sequence[int]) -> int:
    """How many of these members the bot can reach."""
    found = 0
    for start in range(0, len(member_ids), 500):
        chunk = list(member_ids[start : start + 500])
        query = select(func.count(func.distinct(Identity.member_id))).where(
            col(Identity.member_id).in_(chunk), col(Identity.unreachable_at).is_(None)
        )
        found += int((await session.exec(query)).one())
    return found


async def ids_page(session: AsyncSession, ids_query: Any, *, after: int, limit: int) -> list[int]:
    """The next `limit` member ids of a query, in id order, after `after`."""
    people = ids_query.subquery()
    first = people.c[0]
    query = select(first).where(first > after).order_by(first).limit(limit)
    return [int(i) for i in (await session.exec(query)).all()]


async def names(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    query = select(Member.id, Member.full_name).where(col(Member.id).in_(member_ids))
    return {int(cast(int, i)): n for i, n in (await session.exec(query)).all()}  # ids: not NULL


async def names_and_units(
    session: AsyncSession, member_ids: Sequence[int]
) -> dict[int, tuple[str, int]]:
    """Each member's name and unit id."""
    if not member_ids:
        return {}
    query = select(Member.id, Member.full_name, Member.unit_id).where(
        col(Member.id).in_(member_ids)
    )
    return {int(cast(int, i)): (n, u) for i, n, u in (await session.exec(query)).all()}


async def pending_in(session: AsyncSession, roots: Sequence[Unit]) -> Sequence[Member]:
    if not roots:
        return []
    paths = [col(Unit.path).startswith(root.path) for root in roots]
    query = (
        select(Member)
        .where(col(Member.unit_id).in_(select(Unit.id).where(or_(*paths))))
        .where(Member.status == PENDING)
        .order_by(col(Member.created_at))
    )
    return (await session.exec(query)).all()


# --- what people tell about themselves ----------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class MemberDetails:
    """What a person gives about themselves when they register (None: skipped)."""

    full_name: str
    gender: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    job_title: str | None = None
    card_number: str | None = None
    joined_union_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class RosterRow(MemberDetails):
    """One row of the union's own member list (danh sách đoàn viên), imported by the board."""

    email: str | None = None


def _write(member: Member, details: MemberDetails, *, keep_skipped: bool) -> None:
    for name, value in asdict(details).items():
        if value in (None, "") and keep_skipped:
            continue
        if name == "full_name":
            member.set_name(value)
        else:
            setattr(member, name, value or None)


async def submit_registration(
    *,
    session: AsyncSession,
    member: Member | None,
    unit_id: int,
    details: MemberDetails,
    at: datetime,
) -> Member:
    """A request to join, waiting for the board: a new member row, or the person's earlier
    (rejected) row asking again with what they typed now."""
    member = member or Member(full_name="", name_key="", unit_id=unit_id)
    _write(member, details, keep_skipped=False)
    member.unit_id, member.status = unit_id, PENDING
    member.updated_at, member.reject_reason = at, None
    session.add(member)
    await session.flush()
    return member


async def claim_roster_row(
    *, session: AsyncSession, member: Member, details: MemberDetails, at: datetime
) -> None:
    """The person matches a row of the roster (same phone or card number): what they typed
    fills it in, what they skipped keeps the roster's data, and no board decision is needed."""
    _write(member, details, keep_skipped=True)
    member.updated_at, member.reject_reason = at, None
    await approve(session=session, member=member, by=None, at=at)
    await session.flush()


async def save_roster_row(
    *, session: AsyncSession, existing: Member | None, unit_id: int, row: RosterRow
) -> Member:
    """A roster row written over the member it matches (a blank cell keeps what is there), or
    a new row that waits for its owner to register in chat."""
    member = existing or Member(full_name="", name_key="", unit_id=unit_id, status=ROSTER)
    _write(member, row, keep_skipped=True)
    member.unit_id = unit_id
    session.add(member)
    await session.flush()
    return member


# --- a board's decisions on a member ------------------------------------------------------------
async def approve(*, session: AsyncSession, member: Member, by: int | None, at: datetime) -> None:
    """A pending request approved: the person is a member from now on."""
    member.status, member.decided_at, member.decided_by = ACTIVE, at, by
    session.add(member)


async def reject(
    *, session: AsyncSession, member: Member, reason: str, by: int | None, at: datetime
) -> None:
    member.status, member.reject_reason = REJECTED, reason
    member.decided_at, member.decided_by = at, by
    session.add(member)


async def move(*, session: AsyncSession, member: Member, to: Unit) -> None:
    """A member moves to another unit (their undecided pledges follow: emulation.follow_member)."""
    assert to.id is not None
    member.unit_id = to.id
    session.add(member)


async def mark_left(*, session: AsyncSession, member: Member) -> None:
    """The member left the union: kept for the records, reached by nothing any more."""
    member.status = LEFT
    session.add(member)


async def mark_back(*, session: AsyncSession, member: Member) -> None:
    """A member who had left takes part again."""
    member.status = ACTIVE
    session.add(member)


async def link(*, session: AsyncSession, identity: Identity, member_id: int, at: datetime) -> None:
    """This app account now belongs to the member; it is where their messages go from now on
    (the app they used last)."""
    identity.member_id = member_id
    identity.last_seen_at = at
    session.add(identity)
