"""Board announcements (thông báo). Their sending is a delivery job in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.outbox import DeliveryJob
from models.types import UTCDateTime, fit_file_name
from models.units import Unit, ids_under


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    author_member_id: int | None = Field(default=None, foreign_key="members.id")
    author_name: str = Field(default="", max_length=128)
    audience: str = Field(max_length=32)
    text: str
    file_kind: str | None = Field(default=None, max_length=16)
    file_id: str | None = Field(default=None, max_length=256)
    file_platform: str | None = Field(default=None, max_length=16)
    file_name: str | None = Field(default=None, max_length=200)
    pin: bool = False
    # Sent with Telegram's paid broadcasts (faster, billed in Stars), as the board chose.
    paid: bool = False
    send_at: datetime = Field(sa_type=UTCDateTime)
    # "" for once, "weekly" or "daily": the next occurrence is queued when one goes out.
    repeat: str = Field(default="", max_length=16)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    job_id: int | None = Field(default=None, foreign_key="delivery_jobs.id")


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def recent_for(
    session: AsyncSession, unit: Unit, now: datetime, *, days: int = 120, limit: int = 5
) -> Sequence[Broadcast]:
    """Announcements already out to `unit` or any unit above it (newest first)."""
    ancestor_ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    query = (
        select(Broadcast)
        .join(DeliveryJob, col(DeliveryJob.id) == Broadcast.job_id)
        .where(
            col(Broadcast.unit_id).in_(ancestor_ids),
            col(Broadcast.send_at) <= now,
            col(Broadcast.send_at) >= now - timedelta(days=days),
            col(DeliveryJob.cancelled_at).is_(None),
            Broadcast.audience != "groups",
        )
        .order_by(col(Broadcast.send_at).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def active_in(
    session: AsyncSession, roots: Sequence[Unit], now: datetime
) -> Sequence[tuple[Broadcast, DeliveryJob]]:
    """Scheduled or still-sending announcements under these units (for cancelling)."""
    if not roots:
        return []
    unit_ids = ids_under(roots)
    query = (
        select(Broadcast, DeliveryJob)
        .join(
            DeliveryJob,
            (col(DeliveryJob.ref_id) == Broadcast.id) & (col(DeliveryJob.kind) == "broadcast"),
        )
        .where(
            col(Broadcast.unit_id).in_(unit_ids),
            col(DeliveryJob.finished_at).is_(None),
            col(DeliveryJob.cancelled_at).is_(None),
        )
        .order_by(col(Broadcast.send_at))
    )
    return [(b, j) for b, j in (await session.exec(query)).all()]


async def recent_in(
    session: AsyncSession, roots: Sequence[Unit], *, limit: int = 50
) -> Sequence[tuple[Broadcast, DeliveryJob | None]]:
    """The latest announcements of units under these (the board's web list), newest first,
    each with its first sending's job."""
    if not roots:
        return []
    query = (
        select(Broadcast, DeliveryJob)
        .outerjoin(DeliveryJob, col(DeliveryJob.id) == Broadcast.job_id)
        .where(col(Broadcast.unit_id).in_(ids_under(roots)))
        .order_by(col(Broadcast.id).desc())
        .limit(limit)
    )
    return [(b, j) for b, j in (await session.exec(query)).all()]


# --- creating an announcement ---------------------------------------------------------------------
class AttachedFile(BaseModel):
    """A photo or document the board attached (the app's own file id)."""

    model_config = ConfigDict(extra="ignore")

    kind: str | None = None
    id: str | None = None
    platform: str | None = None
    name: str | None = None


class BroadcastDraft(BaseModel):
    """An announcement as the /thongbao dialog gathers it (its dialog data, validated)."""

    model_config = ConfigDict(extra="ignore")

    unit_id: int
    audience: str
    text: str
    file: AttachedFile | None = None
    pin: bool = False
    paid: bool = False
    send_at: datetime | None = None  # None: now
    repeat: str = ""


async def create(
    *,
    session: AsyncSession,
    draft: BroadcastDraft,
    author_member_id: int | None,
    author_name: str,
    send_at: datetime,
    now: datetime,
) -> Broadcast:
    file = draft.file or AttachedFile()
    item = Broadcast(
        unit_id=draft.unit_id,
        author_member_id=author_member_id,
        author_name=author_name[:128],
        audience=draft.audience,
        text=draft.text,
        file_kind=file.kind,
        file_id=file.id,
        file_platform=file.platform,
        file_name=fit_file_name(file.name, 200) if file.name else None,
        pin=draft.pin,
        paid=draft.paid,
        send_at=send_at,
        repeat=draft.repeat,
        created_at=now,
    )
    session.add(item)
    await session.flush()
    return item
