"""What several processes on one database share: named leases and each bot's send pace.

A lease (`leases`) makes one process the leader for a job that must run once (the scheduler,
the progress messages): the holder renews it; when it stops renewing (it died), anyone may take
it once `until` has passed.

The send pace (`send_pace`, PostgreSQL) is one row per (bot, key): key "*" holds the bot's
overall next free slot (`next_at`) and a pause after a 429 (`paused_until`); any other key is a
chat, with the times of its last sends (`times`, a sliding-window log) and, in `next_at`, its
latest one. Times are seconds since the epoch. The function `congdoan_pace_take` (migration
0011) takes one slot atomically; see bot/shared_pace.py.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Float, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class Lease(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(default="", max_length=96)
    until: datetime = Field(sa_type=UTCDateTime)
    since: datetime = Field(sa_type=UTCDateTime)


class SendPace(SQLModel, table=True):
    __tablename__ = "send_pace"

    bot: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    next_at: float = 0.0
    paused_until: float = 0.0
    times: list[float] = Field(
        default_factory=list,
        sa_column=Column(
            JSON().with_variant(postgresql.ARRAY(Float), "postgresql"),
            nullable=False,
        ),
    )


# --- who we are ------------------------------------------------------------------------------
@cache
def _pid_namespace() -> str:
    try:  # containers on one host share the hostname but not the pid namespace
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def process_id() -> str:
    """host/pid-namespace/pid/random: unique per process start, and telling whether the process
    can be checked from here (same host and pid namespace)."""
    return f"{socket.gethostname()[:40]}/{_pid_namespace()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def is_gone(holder: str) -> bool:
    """True only when `holder` ran on this host, in our pid namespace, and its pid is free now
    (a reused pid counts as alive: we then wait for the lease instead)."""
    parts = holder.split("/")
    if len(parts) != 4 or parts[0] != socket.gethostname()[:40] or parts[1] != _pid_namespace():
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


# --- leases ----------------------------------------------------------------------------------
def live_holders_query(now: datetime) -> Any:
    """Who holds a lease (the scheduler's leadership, a heartbeat…) that has not run out."""
    return select(Lease.holder).where(col(Lease.holder) != "", col(Lease.until) > now)


async def take_lease(
    session: AsyncSession, name: str, holder: str, now: datetime, until: datetime
) -> bool:
    """Take or renew lease `name` for `holder` until `until`: True if `holder` has it now."""
    result = await session.exec(
        update(Lease)
        .where(
            col(Lease.name) == name,
            # ours, run out, or given up (a clean stop)
            or_(col(Lease.holder) == holder, col(Lease.until) <= now, col(Lease.holder) == ""),
        )
        # `since`: when this holder's term began (logs, `congdoan check`)
        .values(
            holder=holder,
            until=until,
            since=case((col(Lease.holder) == holder, col(Lease.since)), else_=now),
        )
        .execution_options(synchronize_session=False)
    )
    taken = bool(result.rowcount)
    if not taken:
        dialect = session.bind.dialect.name if session.bind is not None else ""
        values = {"name": name, "holder": holder, "until": until, "since": now}
        stmt: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            stmt = postgresql.insert(Lease).values(**values).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(Lease).values(**values).on_conflict_do_nothing()
        taken = bool((await session.exec(stmt)).rowcount)
    await session.commit()
    return taken


async def release_lease(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (a clean stop): the next process need not wait for it."""
    await session.exec(
        update(Lease)
        .where(col(Lease.name) == name, col(Lease.holder) == holder)
        .values(until=now, holder="")
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def lease(session: AsyncSession, name: str) -> Lease | None:
    return await session.get(Lease, name)


# --- delivery workers' heartbeats --------------------------------------------------------------
# Every process that runs delivery workers keeps a lease "worker:<digest of its id>" alive
# while its workers are: an intake-only process (`congdoan run --no-delivery`) reads them for
# its health check.
BEAT_PREFIX = "worker:"


def beat_name(holder: str) -> str:
    return BEAT_PREFIX + hashlib.sha256(holder.encode()).hexdigest()[:16]


async def beat(session: AsyncSession, *, holder: str, now: datetime, until: datetime) -> None:
    """Record that `holder`'s workers are alive until `until`."""
    await take_lease(session, beat_name(holder), holder, now, until)


async def end_beat(session: AsyncSession, *, holder: str) -> None:
    """A clean stop: the process's heartbeat row goes."""
    await session.exec(delete(Lease).where(col(Lease.name) == beat_name(holder)))
    await session.commit()


async def beats(session: AsyncSession) -> list[Lease]:
    """Every worker heartbeat recorded, newest first (live or run out)."""
    query = (
        select(Lease)
        .where(col(Lease.name).startswith(BEAT_PREFIX))
        .order_by(col(Lease.until).desc())
    )
    return list((await session.exec(query)).all())


async def prune_beats(session: AsyncSession, *, before: datetime) -> None:
    """Heartbeats of processes that stopped long ago (killed, never cleaned up)."""
    await session.exec(
        delete(Lease).where(col(Lease.name).startswith(BEAT_PREFIX), col(Lease.until) < before)
    )
    await session.commit()


# --- the send pace (PostgreSQL; the queries are in bot/shared_pace.py) -----------------------
