"""Quick polls (bình chọn): one poll, sent to one or many chats (copies), with the votes.

A poll sent to a group or fanned out to members' private chats has one copy per chat; on
Telegram each copy is a native poll with its own id. Named votes (and every text vote) are
rows in `poll_votes`, so results survive restarts and one person counts once however many
copies they saw; anonymous native polls only report counts, kept per copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, UniqueConstraint, func, or_, text, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.members import Member
from models.types import UTCDateTime
from models.units import Unit, ids_under

OPEN, CLOSED = "open", "closed"
# Where a poll goes: the chat it was created in, members' private chats, or the group chats
# linked to a unit subtree.
HERE, MEMBERS, GROUPS = "here", "members", "groups"


class Poll(SQLModel, table=True):
    __tablename__ = "polls"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=300)
    options_json: str
    anonymous: bool = False
    multiple: bool = False
    target: str = Field(default=HERE, max_length=8)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default=OPEN, max_length=8)
    created_by: int | None = Field(default=None, foreign_key="members.id")
    # Where it was created: results are announced there.
    origin_platform: str = Field(max_length=16)
    origin_chat_id: str = Field(max_length=64)
    origin_is_group: bool = False
    # The group's forum topic it was made in (Telegram); its results go back there.
    origin_thread_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def options(self) -> list[str]:
        return list(json.loads(self.options_json))

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


class PollCopy(SQLModel, table=True):
    """The poll as sent to one chat."""

    __tablename__ = "poll_copies"
    __table_args__ = (UniqueConstraint("poll_id", "platform", "chat_id", name="uq_poll_copy"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="polls.id", index=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64, index=True)
    is_group: bool = False
    member_id: int | None = Field(default=None, foreign_key="members.id")
    message_ref: str | None = Field(default=None, max_length=64)
    # The platform's own poll id (Telegram), None for a numbered text poll.
    native_id: str | None = Field(default=None, max_length=64, unique=True)
    # Anonymous native polls: the latest counts the platform reported for this copy.
    counts_json: str | None = None
    stopped: bool = False


class PollVote(SQLModel, table=True):
    __tablename__ = "poll_votes"
    __table_args__ = (
        UniqueConstraint("poll_id", "platform", "user_id", name="uq_poll_vote"),
        # One vote per member whichever app they use (partial: non-members have none).
        Index(
            "uq_poll_vote_member",
            "poll_id",
            "member_id",
            unique=True,
            sqlite_where=text("member_id IS NOT NULL"),
            postgresql_where=text("member_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="polls.id", index=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    member_id: int | None = Field(default=None, foreign_key="members.id")
    name: str = Field(default="", max_length=200)
    choices_json: str
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def choices(self) -> list[int]:
        return list(json.loads(self.choices_json))


async def record_copy(
    session: AsyncSession,
    poll_id: int,
    platform: str,
    chat_id: str,
    *,
    is_group: bool,
    member_id: int | None,
    message_ref: str | None,
) -> None:
    """Called by the delivery engine once a copy is sent. A Telegram ref carries the native
    poll id as its third part ("chat:message:poll")."""
    parts = (message_ref or "").split(":")
    native_id = parts[2] if len(parts) >= 3 and parts[2] else None
    existing = (
        await session.exec(
            select(PollCopy).where(
                PollCopy.poll_id == poll_id,
                PollCopy.platform == platform,
                PollCopy.chat_id == chat_id,
            )
        )
    ).first()
    copy = existing or PollCopy(poll_id=poll_id, platform=platform, chat_id=chat_id)
    copy.is_group, copy.member_id = is_group, member_id
    copy.message_ref = ":".join(parts[:2]) if message_ref else None
    copy.native_id = native_id
    session.add(copy)


async def copy_by_native_id(session: AsyncSession, native_id: str) -> PollCopy | None:
    return (await session.exec(select(PollCopy).where(PollCopy.native_id == native_id))).first()


async def copies(session: AsyncSession, poll_id: int) -> Sequence[PollCopy]:
    return (
        await session.exec(
            select(PollCopy).where(PollCopy.poll_id == poll_id).order_by(col(PollCopy.id))
        )
    ).all()


async def latest_text_poll_in(
    session: AsyncSession, platform: str, chat_id: str, closed_since: datetime
) -> tuple[Poll, PollCopy] | None:
    """The numbered text poll a bare "1" or "1,3" in this chat refers to: the newest open one,
    else the newest one closed since `closed_since` (so a late answer hears it closed)."""
    query = (
        select(Poll, PollCopy)
        .join(PollCopy, col(PollCopy.poll_id) == Poll.id)
        .where(
            PollCopy.platform == platform,
            PollCopy.chat_id == chat_id,
            col(PollCopy.native_id).is_(None),
            (col(Poll.state) == OPEN) | (col(Poll.closed_at) >= closed_since),
        )
        .order_by(col(Poll.state).desc(), col(PollCopy.id).desc())  # "open" sorts first
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row else None


async def votes(session: AsyncSession, poll_id: int) -> Sequence[PollVote]:
    return (
        await session.exec(
            select(PollVote).where(PollVote.poll_id == poll_id).order_by(col(PollVote.id))
        )
    ).all()


async def ballots(
    session: AsyncSession, poll_id: int, *, by_name: bool = False
) -> list[tuple[str, list[int]]]:
    """Each vote's name and choices, without loading whole rows (a poll of thousands): in
    the order cast, or `by_name` in the members' Vietnamese order (members.sort_key, sorted
    in SQL), then those who answered before they were members."""
    query = select(PollVote.name, PollVote.choices_json).where(PollVote.poll_id == poll_id)
    if by_name:
        key = col(Member.sort_key)
        query = query.outerjoin(Member, col(Member.id) == PollVote.member_id).order_by(
            key.is_(None), key, col(PollVote.name), col(PollVote.id)
        )
    else:
        query = query.order_by(col(PollVote.id))
    rows = (await session.exec(query)).all()
    return [(name, list(json.loads(choices))) for name, choices in rows]


async def reported_counts(session: AsyncSession, poll_id: int) -> list[dict[str, Any]]:
    """The app's own counts of the poll's anonymous native copies."""
    query = select(PollCopy.counts_json).where(
        PollCopy.poll_id == poll_id, col(PollCopy.counts_json).is_not(None)
    )
    return [
        json.loads(c) for c in (await session.exec(query.order_by(col(PollCopy.id)))).all() if c
    ]


async def vote_of(
    session: AsyncSession, poll_id: int, platform: str, user_id: str
) -> PollVote | None:
    query = select(PollVote).where(
        PollVote.poll_id == poll_id, PollVote.platform == platform, PollVote.user_id == user_id
    )
    return (await session.exec(query)).first()


async def votes_of_member(
    session: AsyncSession, poll_id: int, member_id: int, accounts: Sequence[tuple[str, str]]
) -> list[PollVote]:
    """This member's votes on the poll from any of their apps, including one cast before the
    account was linked to them (then stored without a member)."""
    found = {
        v.id: v
        for v in (
            await session.exec(
                select(PollVote).where(PollVote.poll_id == poll_id, PollVote.member_id == member_id)
            )
        ).all()
    }
    for platform, user_id in accounts:
        vote = await vote_of(session, poll_id, platform, user_id)
        if vote is not None:
            found[vote.id] = vote
    return sorted(found.values(), key=lambda v: v.id or 0)


async def latest_in_chat(session: AsyncSession, platform: str, chat_id: str) -> Poll | None:
    """The newest poll created in, or sent to, this chat."""
    made_here = select(Poll.id).where(
        Poll.origin_platform == platform, Poll.origin_chat_id == chat_id
    )
    sent_here = select(PollCopy.poll_id).where(
        PollCopy.platform == platform, PollCopy.chat_id == chat_id
    )
    query = (
        select(Poll)
        .where(col(Poll.id).in_(made_here) | col(Poll.id).in_(sent_here))
        .order_by(col(Poll.id).desc())
    )
    return (await session.exec(query)).first()


async def made_by(session: AsyncSession, member_id: int, limit: int = 10) -> Sequence[Poll]:
    query = (
        select(Poll).where(Poll.created_by == member_id).order_by(col(Poll.id).desc()).limit(limit)
    )
    return (await session.exec(query)).all()


async def of_units(
    session: AsyncSession, roots: Sequence[Unit], member_id: int | None, limit: int = 100
) -> Sequence[Poll]:
    """The newest polls of these units' subtrees, and those this member made (the web page
    of an organiser's polls)."""
    mine = [col(Poll.created_by) == member_id] if member_id is not None else []
    ours = [col(Poll.unit_id).in_(ids_under(roots))] if roots else []
    if not mine and not ours:
        return []
    query = select(Poll).where(or_(*ours, *mine)).order_by(col(Poll.id).desc()).limit(limit)
    return (await session.exec(query)).all()


def _missing_where(poll_id: int) -> list[Any]:
    """Members a poll was sent to in private who have not answered it."""
    sent = select(PollCopy.member_id).where(
        PollCopy.poll_id == poll_id,
        col(PollCopy.member_id).is_not(None),
        col(PollCopy.is_group).is_(False),
    )
    voted = select(PollVote.member_id).where(
        PollVote.poll_id == poll_id, col(PollVote.member_id).is_not(None)
    )
    return [col(Member.id).in_(sent), col(Member.id).not_in(voted)]


async def missing(
    session: AsyncSession, poll_id: int, *, limit: int | None = None
) -> tuple[int, list[Member]]:
    """How many members have not answered a poll sent to them, and (the first `limit` of)
    them in Vietnamese name order: counted and sorted in SQL, however many."""
    where = _missing_where(poll_id)
    total = (await session.exec(select(func.count()).select_from(Member).where(*where))).one()
    query = select(Member).where(*where).order_by(col(Member.sort_key), col(Member.id))
    if limit is not None:
        query = query.limit(limit)
    return int(total), list((await session.exec(query)).all())


async def chat_moved(session: AsyncSession, platform: str, old_id: str, new_id: str) -> None:
    """A group became a supergroup: its polls and their copies follow the new chat id."""
    await session.exec(
        update(Poll)
        .where(col(Poll.origin_platform) == platform, col(Poll.origin_chat_id) == old_id)
        .values(origin_chat_id=new_id)
    )
    await session.exec(
        update(PollCopy)
        .where(col(PollCopy.platform) == platform, col(PollCopy.chat_id) == old_id)
        .values(chat_id=new_id)
    )


@dataclass(frozen=True)
class Voter:
    """Who answers a poll: the app account, and the member behind it (whose accounts on their
    other apps count as the same person)."""

    platform: str
    user_id: str
    name: str
    member_id: int | None = None
    accounts: Sequence[tuple[str, str]] = ()


async def set_vote(
    *, session: AsyncSession, poll_id: int, voter: Voter, choices: Sequence[int], at: datetime
) -> None:
    """Store this person's answer (one person, one vote: the latest answer replaces the others,
    from whichever app); no choices removes it."""
    if voter.member_id is not None:
        mine = await votes_of_member(session, poll_id, voter.member_id, voter.accounts)
    else:
        found = await vote_of(session, poll_id, voter.platform, voter.user_id)
        mine = [found] if found else []
    for extra in mine[1:]:
        await session.delete(extra)
    if mine[1:]:
        await session.flush()
    existing = mine[0] if mine else None
    if not choices:
        if existing is not None:
            await session.delete(existing)
        return
    vote = existing or PollVote(
        poll_id=poll_id,
        platform=voter.platform,
        user_id=voter.user_id,
        choices_json="[]",
        updated_at=at,
    )
    vote.platform, vote.user_id = voter.platform, voter.user_id
    vote.member_id, vote.name = voter.member_id, voter.name
    vote.choices_json = json.dumps(sorted(set(choices)))
    vote.updated_at = at
    session.add(vote)


# --- creating a poll ------------------------------------------------------------------------------
class PollDraft(BaseModel):
    """A poll as the /binhchon dialog gathers it (its dialog data, validated)."""

    model_config = ConfigDict(extra="ignore")

    q: str  # the question
    opts: list[str]
    anon: bool = False
    multi: bool = False


@dataclass(frozen=True)
class Origin:
    """Where a poll was made: its results and the organiser's progress go back there."""

    platform: str
    chat_id: str
    is_group: bool
    thread_id: str | None = None


async def create(
    *,
    session: AsyncSession,
    draft: PollDraft,
    target: str,
    unit_id: int | None,
    closes_at: datetime | None,
    created_by: int | None,
    origin: Origin,
    now: datetime,
) -> Poll:
    poll = Poll(
        question=draft.q,
        options_json=json.dumps(draft.opts, ensure_ascii=False),
        anonymous=draft.anon,
        multiple=draft.multi,
        target=target,
        unit_id=unit_id,
        closes_at=closes_at,
        created_by=created_by,
        origin_platform=origin.platform,
        origin_chat_id=origin.chat_id,
        origin_is_group=origin.is_group,
        origin_thread_id=origin.thread_id,
        created_at=now,
    )
    session.add(poll)
    await session.flush()
    return poll


async def set_native_counts(
    *, session: AsyncSession, copy: PollCopy, counts: Sequence[int], voters: int
) -> None:
    """The app's own count of an anonymous native copy (nobody's choice is known)."""
    copy.counts_json = json.dumps({"counts": list(counts), "voters": voters})
    session.add(copy)


async def close(*, session: AsyncSession, poll: Poll, at: datetime) -> None:
    """No answer counts from now on."""
    poll.state, poll.closed_at = CLOSED, at
    session.add(poll)


async def mark_stopped(*, session: AsyncSession, copy_id: int) -> None:
    """The app closed this native copy too: nobody can answer it there any more."""
    copy = await session.get(PollCopy, copy_id)
    if copy is not None:
        copy.stopped = True
        session.add(copy)
