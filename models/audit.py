"""The audit log: who did what to whom, and when. Every board action and every refusal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=96)  # "telegram:123" or "cli"
    actor_member_id: int | None = Field(default=None, foreign_key="members.id")
    action: str = Field(max_length=48, index=True)
    target: str = Field(default="", max_length=96)
    detail_json: str = Field(default="{}")


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    actor_member_id: int | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor=actor,
        actor_member_id=actor_member_id,
        action=action,
        target=target,
        detail_json=json.dumps(detail or {}, ensure_ascii=False),
    )
    session.add(entry)
    return entry


async def recent(
    session: AsyncSession, *, action: str | None = None, limit: int = 50
) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    return (await session.exec(query)).all()


async def count_since(session: AsyncSession, *, actor: str, action: str, since: datetime) -> int:
    """How often `actor` did `action` since then (e.g. failed link codes: a brake on guessing)."""
    query = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.actor == actor, AuditEntry.action == action, col(AuditEntry.at) >= since)
    )
    return int((await session.exec(query)).one())
