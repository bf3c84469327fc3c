"""Event ids already handled: platforms redeliver, and we must not act twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=96)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


async def claim(session: AsyncSession, platform: str, event_id: str, now: datetime) -> bool:
    """True the first time an event id is seen; commits so a crash cannot replay it twice."""
    session.add(ProcessedEvent(platform=platform, event_id=event_id, seen_at=now))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def prune(session: AsyncSession, older_than: datetime) -> None:
    await session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < older_than))  # type: ignore[call-overload]
    await session.commit()


RETENTION = timedelta(days=3)
