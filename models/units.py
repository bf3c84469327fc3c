"""The unit tree: công đoàn cơ sở → công đoàn bộ phận → tổ công đoàn.

Each unit keeps a materialised path ("/1/4/9/") so "everything under this unit" is one portable
LIKE query on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime, utcnow

KINDS = ("cdcs", "cdbp", "to")


class Unit(SQLModel, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=8, default="to")
    parent_id: int | None = Field(default=None, foreign_key="units.id")
    path: str = Field(default="/", max_length=400, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def contains(self, other: Unit) -> bool:
        return other.path.startswith(self.path)


async def by_code(session: AsyncSession, code: str) -> Unit | None:
    result = await session.exec(select(Unit).where(Unit.code == code.strip().upper()))
    return result.first()


async def get(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def by_ids(session: AsyncSession, unit_ids: Iterable[int]) -> dict[int, Unit]:
    """The units with these ids, in one query."""
    wanted = sorted(set(unit_ids))
    if not wanted:
        return {}
    rows = (await session.exec(select(Unit).where(col(Unit.id).in_(wanted)))).all()
    return {u.id: u for u in rows if u.id is not None}


async def children(session: AsyncSession, parent: Unit | None) -> Sequence[Unit]:
    parent_id = parent.id if parent else None
    query = select(Unit).where(Unit.parent_id == parent_id).order_by(col(Unit.name))
    return (await session.exec(query)).all()


async def subtree(session: AsyncSession, root: Unit) -> Sequence[Unit]:
    query = select(Unit).where(col(Unit.path).startswith(root.path)).order_by(col(Unit.path))
    return (await session.exec(query)).all()


async def all_units(session: AsyncSession) -> Sequence[Unit]:
    return (await session.exec(select(Unit).order_by(col(Unit.path)))).all()


async def upsert(
    session: AsyncSession, code: str, name: str, kind: str, parent: Unit | None
) -> Unit:
    """Create or update a unit by code; moving it re-roots its whole subtree."""
    code = code.strip().upper()
    unit = await by_code(session, code)
    if unit is None:
        unit = Unit(code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
        session.add(unit)
        await session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        return unit
    await _update(session, unit, name, kind, parent)
    return unit


async def _update(
    session: AsyncSession, unit: Unit, name: str, kind: str, parent: Unit | None
) -> None:
    unit.name, unit.kind = name, kind
    new_parent_id = parent.id if parent else None
    if unit.parent_id != new_parent_id:
        if parent is not None and unit.contains(parent):
            raise ValueError(f"unit {unit.code} cannot be moved under its own subtree")
        old_path = unit.path
        new_path = f"{parent.path if parent else '/'}{unit.id}/"
        for node in await subtree(session, unit):
            node.path = new_path + node.path[len(old_path) :]
        unit.parent_id = new_parent_id


class UnitSpec(Protocol):
    """A unit declared in config.toml (bot.config.UnitSection); `parent` is optional."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...


async def sync_from_config(session: AsyncSession, declared: Iterable[UnitSpec]) -> int:
    """Create/update the units declared in config.toml, parents first. Returns how many.

    The tree is read once and new units are inserted a level at a time, so a CĐCS with a
    thousand tổ starts in a moment rather than one query (and one flush) per unit."""
    known = {u.code: u for u in await all_units(session)}
    pending = list(declared)
    done = 0

    def parent_code(spec: object) -> str:
        return str(getattr(spec, "parent", "") or "").strip().upper()

    while pending:
        ready = [s for s in pending if not parent_code(s) or parent_code(s) in known]
        if not ready:
            raise ValueError("units with unknown parents: " + ", ".join(s.code for s in pending))
        created: list[tuple[Unit, Unit | None]] = []
        for spec in ready:
            parent = known[parent_code(spec)] if parent_code(spec) else None
            code = spec.code.strip().upper()
            unit = known.get(code)
            if unit is None:
                unit = Unit(
                    code=code,
                    name=spec.name,
                    kind=spec.kind,
                    parent_id=parent.id if parent else None,
                )
                session.add(unit)
                created.append((unit, parent))
            else:
                await _update(session, unit, spec.name, spec.kind, parent)
        if created:
            await session.flush()
            for unit, parent in created:
                unit.path = f"{parent.path if parent else '/'}{unit.id}/"
                known[unit.code] = unit
        taken = {id(s) for s in ready}
        pending = [s for s in pending if id(s) not in taken]
        done += len(ready)
    return done


def ids_under(roots: Sequence[Unit]) -> Any:
    """A subquery of the ids of every unit in these subtrees."""
    return select(Unit.id).where(or_(*[col(Unit.path).startswith(r.path) for r in roots]))
