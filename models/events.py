"""Event ids already handled: platforms redeliver, and we must not act twice.

The "handled" record is written in the handler's own transaction (`record`), so an event whose
handling never committed is handled when it comes again, and one that committed is not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=96)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


# Built once: every update asks, and building the statement (and its cache key) each time
# cost more than running it.
_SEEN = select(ProcessedEvent.event_id).where(
    ProcessedEvent.platform == bindparam("platform"),
    ProcessedEvent.event_id == bindparam("event_id"),
)

_RECORD = insert(ProcessedEvent)


async def seen(session: AsyncSession, platform: str, event_id: str) -> bool:
    """Whether an event's handling has committed already (a read: no lock taken)."""
    found = await session.exec(_SEEN, params={"platform": platform, "event_id": event_id})
    return found.first() is not None


async def record(session: AsyncSession, platform: str, event_id: str, now: datetime) -> None:
    """Mark the event handled inside the handler's transaction; raises IntegrityError when
    another process committed the same event first. One plain INSERT, not an ORM object:
    nothing reads the row back."""
    row = {"platform": platform, "event_id": event_id, "seen_at": now}
    await session.exec(_RECORD, params=row)


async def prune(session: AsyncSession, older_than: datetime) -> None:
    await session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < older_than))
    await session.commit()


RETENTION = timedelta(days=3)
