"""Roles scoped to a unit subtree: tổ trưởng, BCH, admin. Plain members need no row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint, bindparam
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime, utcnow
from models.units import Unit

TO_TRUONG, BCH, ADMIN = "to_truong", "bch", "admin"
ROLES = (TO_TRUONG, BCH, ADMIN)
BOARD_ROLES = (BCH, ADMIN)


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("member_id", "role", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    role: str = Field(max_length=12)
    unit_id: int = Field(foreign_key="units.id")
    granted_by: str = Field(default="", max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Built once: every update from a member asks (see models/events._SEEN).
_OF_MEMBER = (
    select(RoleAssignment.role, Unit)
    .join(Unit, col(Unit.id) == RoleAssignment.unit_id)
    .where(RoleAssignment.member_id == bindparam("member_id"))
    .order_by(col(Unit.path), col(RoleAssignment.role))
)


async def of_member(session: AsyncSession, member_id: int) -> Sequence[tuple[str, Unit]]:
    found = await session.exec(_OF_MEMBER, params={"member_id": member_id})
    return [(role, unit) for role, unit in found.all()]


async def grant(
    session: AsyncSession, member_id: int, role: str, unit: Unit, granted_by: str
) -> bool:
    """Give a role; False if the member already had it."""
    query = select(RoleAssignment).where(
        RoleAssignment.member_id == member_id,
        RoleAssignment.role == role,
        RoleAssignment.unit_id == unit.id,
    )
    if (await session.exec(query)).first():
        return False
    assert unit.id is not None
    session.add(
        RoleAssignment(member_id=member_id, role=role, unit_id=unit.id, granted_by=granted_by)
    )
    return True


async def revoke(session: AsyncSession, member_id: int, role: str, unit: Unit) -> bool:
    query = select(RoleAssignment).where(
        RoleAssignment.member_id == member_id,
        RoleAssignment.role == role,
        RoleAssignment.unit_id == unit.id,
    )
    row = (await session.exec(query)).first()
    if row is None:
        return False
    await session.delete(row)
    return True


async def board_member_ids_for(session: AsyncSession, unit: Unit) -> Sequence[int]:
    """Members holding a board role on `unit` or any unit above it."""
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    query = select(RoleAssignment.member_id).where(
        col(RoleAssignment.role).in_(BOARD_ROLES), col(RoleAssignment.unit_id).in_(ancestor_ids)
    )
    return sorted(set((await session.exec(query)).all()))


async def all_board_member_ids(session: AsyncSession) -> Sequence[int]:
    query = select(RoleAssignment.member_id).where(col(RoleAssignment.role).in_(BOARD_ROLES))
    return sorted(set((await session.exec(query)).all()))


def role_holder_ids_query(root: Unit, role: str) -> Any:
    """The ids of members holding `role` on `root` or below, as a query (an audience)."""
    return (
        select(RoleAssignment.member_id)
        .join(Unit, col(Unit.id) == RoleAssignment.unit_id)
        .where(RoleAssignment.role == role, col(Unit.path).startswith(root.path))
        .distinct()
    )
