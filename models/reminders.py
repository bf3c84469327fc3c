"""What is due when: the database's list of timed actions (meeting reminders, recurring
announcements, and later pledge deadlines and poll closings). The scheduler only wakes up at
the earliest `due_at`; each row is done once, and its `key` is unique so nothing is added twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Index, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime

PENDING, DONE, SKIPPED = "pending", "done", "skipped"


class Reminder(SQLModel, table=True):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "state", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # "meeting_reminder", "meeting_next", "broadcast_repeat"…
    ref_id: int  # the meeting / broadcast / … it acts on
    arg: str = Field(default="", max_length=64)  # e.g. the offset in minutes
    key: str = Field(max_length=120, unique=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=PENDING, max_length=10)
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def add(
    session: AsyncSession,
    *,
    kind: str,
    ref_id: int,
    key: str,
    due_at: datetime,
    now: datetime,
    arg: str = "",
) -> bool:
    """Add a timed action unless one with the same key exists; True if added."""
    if (await session.exec(select(Reminder.id).where(Reminder.key == key))).first():
        return False
    session.add(Reminder(kind=kind, ref_id=ref_id, arg=arg, key=key, due_at=due_at, created_at=now))
    return True


async def next_due(session: AsyncSession) -> datetime | None:
    query = select(func.min(Reminder.due_at)).where(Reminder.state == PENDING)
    return (await session.exec(query)).one()


async def due(session: AsyncSession, now: datetime, limit: int = 500) -> Sequence[Reminder]:
    query = (
        select(Reminder)
        .where(Reminder.state == PENDING, col(Reminder.due_at) <= now)
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Reminder).where(Reminder.state == PENDING)
    return int((await session.exec(query)).one())


async def skip_for(
    session: AsyncSession, kinds: Sequence[str], ref_id: int, now: datetime, note: str
) -> int:
    """Drop the pending actions of something cancelled or moved."""
    result = await session.exec(
        update(Reminder)
        .where(
            col(Reminder.kind).in_(kinds),
            col(Reminder.ref_id) == ref_id,
            col(Reminder.state) == PENDING,
        )
        .values(state=SKIPPED, done_at=now, note=note)
    )
    return int(result.rowcount or 0)
