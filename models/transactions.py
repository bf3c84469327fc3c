"""What a handler's transaction did, and whether its failure is worth another try.

The router runs each update in one transaction. It needs to know two things afterwards: did the
handler write anything (a read-only command then leaves no row behind), and did it queue a
delivery (only then is the worker woken). A session's `info` dict carries both, set by session
events, so no handler has to remember to report them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel.ext.asyncio.session import AsyncSession

_WROTE, _QUEUED = "congdoan.wrote", "congdoan.queued"


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def wrote(session: AsyncSession) -> bool:
    """Whether the session wrote (or is about to flush) anything since it began."""
    sync = session.sync_session
    return bool(sync.info.get(_WROTE) or sync.new or sync.dirty or sync.deleted)


def mark_queued(session: AsyncSession) -> None:
    """Note that deliveries were queued: after the commit the router wakes the workers."""
    session.sync_session.info[_QUEUED] = True


def queued(session: AsyncSession) -> bool:
    return bool(session.sync_session.info.get(_QUEUED))


def reset(session: AsyncSession) -> None:
    session.sync_session.info.pop(_WROTE, None)
    session.sync_session.info.pop(_QUEUED, None)


# PostgreSQL: serialization failure, deadlock, lock not available, statement/lock timeout.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03", "57014"}


def is_busy(exc: BaseException) -> bool:
    """A failure that another try may not meet: a locked SQLite file, a PostgreSQL
    serialization failure or lock timeout, a dropped connection."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        if "locked" in text or "busy" in text:
            return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in _RETRY_SQLSTATES
