"""The outbox: every bulk or timed send is one row per (job, recipient) with a state machine.

    queued ──claim──> sending ──> sent
       ▲                 ├──> unreachable   (blocked the bot, left the group)
       └── retry ────────┼──> failed        (rejected, or transient errors past the cap)
                         └──> uncertain     (interrupted mid-request: never re-sent)
    queued ──> cancelled

A worker first claims queued rows (`claimed_by` + `lease_until`, renewed while it lives;
PostgreSQL picks them `FOR UPDATE SKIP LOCKED`, so several workers share one outbox). A row is
marked `sending` (committed) right before its API call and `sent` right after, so a crash can
leave at most the rows in flight in `sending`; once their lease has run out they become
`uncertain` and are reported, never sent again, while a dead worker's claimed `queued` rows
simply go to another worker. A live worker's rows are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    func,
    literal,
    or_,
    true,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import transactions
from models.types import UTCDateTime

QUEUED, SENDING, SENT = "queued", "sending", "sent"
UNREACHABLE, FAILED, UNCERTAIN, CANCELLED = "unreachable", "failed", "uncertain", "cancelled"
FINAL = (SENT, UNREACHABLE, FAILED, UNCERTAIN, CANCELLED)
STATES = (QUEUED, SENDING, *FINAL)


class DeliveryJob(SQLModel, table=True):
    """A group of deliveries the board follows as one: one progress message per job."""

    __tablename__ = "delivery_jobs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # "broadcast", "invitation", "reminder", "poll"…
    # Unique when set: a job made by a timer or a button cannot be made twice.
    key: str | None = Field(default=None, max_length=120, unique=True)
    ref_id: int | None = None  # id of the broadcast/meeting/… it belongs to
    title: str = Field(max_length=200)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    created_by: int | None = Field(default=None, foreign_key="members.id")
    # Where the progress message lives (the board member's private chat).
    status_platform: str | None = Field(default=None, max_length=16)
    status_chat_id: str | None = Field(default=None, max_length=64)
    status_ref: str | None = Field(default=None, max_length=64)
    language: str = Field(default="vi", max_length=4)
    total: int = 0
    start_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A fan-out still to expand into rows, in the background and in short chunks (see
    # bot/fanout.py): the audience as JSON, the content, and how far the expansion got.
    audience_json: str | None = None
    message_id: int | None = Field(default=None, foreign_key="outbox_messages.id")
    priority: int = 5
    expand_cursor: int | None = None
    expanded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The bot its rows go through; None: each recipient's platform's own bot.
    bot: str | None = Field(default=None, max_length=40)


class OutboxMessage(SQLModel, table=True):
    """The content, stored once per job (and language) rather than once per recipient."""

    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    buttons_json: str = "[]"
    file_kind: str | None = Field(default=None, max_length=16)  # "photo" | "document"
    file_id: str | None = Field(default=None, max_length=256)
    file_platform: str | None = Field(default=None, max_length=16)
    file_name: str | None = Field(default=None, max_length=200)
    # A small generated file (an .ics) uploaded with each message; the text is its caption.
    file_data: bytes | None = None
    pin_in_groups: bool = False
    # A poll (bình chọn): {"id", "question", "options", "anonymous", "multiple"}. Platforms
    # with native polls send that; others send `text`, the numbered text version.
    poll_json: str | None = None
    # Telegram paid broadcast (allow_paid_broadcast): paced to the paid limit. Turned off for
    # the rest of the job, with Telegram's reason, when Telegram refuses a paid send.
    paid: bool = False
    paid_refusal: str | None = Field(default=None, max_length=300)


def _default_bot(context: Any) -> str:
    """A row's `bot` when the insert names none: its job's choice is not known here, so the
    platform's own bot."""
    return str(context.get_current_parameters().get("platform") or "")


class OutboxItem(SQLModel, table=True):
    __tablename__ = "outbox"
    # The worker's query: queued rows of one platform, due first, in priority order.
    __table_args__ = (Index("ix_outbox_due", "platform", "state", "not_before"),)

    # 64-bit: a province's announcements to millions of members outgrow 2^31 rows in months
    # (SQLite's INTEGER primary key is 64-bit already).
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    job_id: int = Field(foreign_key="delivery_jobs.id", index=True)
    message_id: int = Field(foreign_key="outbox_messages.id")
    # Unique per job and chat: enqueueing twice (double confirm, double fire) adds nothing.
    dedupe_key: str = Field(max_length=160, unique=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    is_group: bool = False
    # A group's forum topic (Telegram), None: the main chat.
    thread_id: str | None = Field(default=None, max_length=32)
    member_id: int | None = Field(default=None, foreign_key="members.id")
    priority: int = 5  # lower goes first
    state: str = Field(default=QUEUED, max_length=12)
    attempts: int = 0
    not_before: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ref: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=300)
    # The bot it goes through ("telegram", later e.g. "telegram:cdcs-a"); the platform's own
    # bot unless the job chose one.
    bot: str = Field(default="", max_length=40, sa_column_kwargs={"default": _default_bot})
    # Which worker process holds the row, and until when (it renews while alive). A `queued`
    # row whose lease ran out is anyone's again; a `sending` one becomes `uncertain`.
    claimed_by: str | None = Field(default=None, max_length=96)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Recipient:
    platform: str
    chat_id: str
    is_group: bool = False
    member_id: int | None = None
    bot: str | None = None  # the bot to go through; None: the platform's main bot
    thread_id: str | None = None  # a group's forum topic; None: the main chat


def buttons_to_json(rows: list[list[Any]]) -> str:
    return json.dumps(
        [[{"label": b.label, "payload": b.payload, "url": b.url} for b in row] for row in rows],
        ensure_ascii=False,
    )


async def enqueue(
    session: AsyncSession,
    job: DeliveryJob,
    message: OutboxMessage,
    recipients: Sequence[Recipient],
    *,
    not_before: datetime,
    now: datetime,
    priority: int = 5,
) -> int:
    """Add one row per new recipient; returns how many were added (duplicates are skipped)."""
    if message.id is None:
        session.add(message)
        await session.flush()
    assert job.id is not None and message.id is not None
    added = await add_rows(
        session,
        job_id=job.id,
        message_id=message.id,
        recipients=recipients,
        not_before=not_before,
        now=now,
        priority=priority,
    )
    job.total += added
    return added


async def add_rows(
    session: AsyncSession,
    *,
    job_id: int,
    message_id: int,
    recipients: Sequence[Recipient],
    not_before: datetime,
    now: datetime,
    priority: int = 5,
) -> int:
    """Insert one queued row per recipient not already in the job (its dedupe key decides,
    in the database: a page expanded twice adds nothing). Returns how many were added."""
    rows = {
        key: {
            "job_id": job_id,
            "message_id": message_id,
            "dedupe_key": key,
            "platform": r.platform,
            "chat_id": r.chat_id,
            "is_group": r.is_group,
            "thread_id": r.thread_id,
            "member_id": r.member_id,
            "bot": r.bot or r.platform,
            "priority": priority,
            "state": QUEUED,
            "attempts": 0,
            "not_before": not_before,
            "updated_at": now,
        }
        for r in recipients
        for key in (f"{job_id}:{r.platform}:{r.chat_id}",)
    }
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(OutboxItem)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxItem.id))
    )
    # One executemany (batched by SQLAlchemy): ten thousand ORM objects would take seconds.
    result = await session.exec(statement, params=list(rows.values()))
    added = len(result.all())
    if added:
        transactions.mark_queued(session)
    return added


async def queue_job(
    session: AsyncSession,
    job: DeliveryJob,
    content: OutboxMessage,
    recipients: Sequence[Recipient],
    *,
    now: datetime,
) -> int | None:
    """Add `job` with its content and one row per recipient, sent from `job.start_at`.
    For a handful of recipients; an audience of any size goes through `queue_fanout`.

    None when a job with the same key already exists: a double fire or a second press queues
    nothing."""
    if job.key and await job_by_key(session, job.key) is not None:
        return None
    session.add(job)
    await session.flush()
    return await enqueue(session, job, content, recipients, not_before=job.start_at, now=now)


async def queue_fanout(
    session: AsyncSession,
    job: DeliveryJob,
    content: OutboxMessage,
    audience: dict[str, Any],
    *,
    now: datetime,
) -> bool:
    """Record `job` with its content and its audience, to be expanded into rows in the
    background. False when a job with the same key already exists."""
    if job.key and await job_by_key(session, job.key) is not None:
        return False
    session.add(content)
    await session.flush()
    job.audience_json = json.dumps(audience)
    job.message_id = content.id
    session.add(job)
    await session.flush()
    transactions.mark_queued(session)
    return True


async def jobs_to_expand(session: AsyncSession) -> list[int]:
    """Fan-out jobs whose rows are not all added yet (oldest first)."""
    query = (
        select(DeliveryJob.id)
        .where(
            col(DeliveryJob.audience_json).is_not(None),
            col(DeliveryJob.expanded_at).is_(None),
            col(DeliveryJob.cancelled_at).is_(None),
        )
        .order_by(col(DeliveryJob.id))
    )
    return [int(cast(int, i)) for i in (await session.exec(query)).all()]  # ids: not NULL


async def lock_for_expansion(session: AsyncSession, job_id: int) -> DeliveryJob | None:
    """The job, locked for this transaction (PostgreSQL: skipped when another process is
    expanding it right now; SQLite has one writer anyway)."""
    query = (
        select(DeliveryJob)
        .where(
            col(DeliveryJob.id) == job_id,
            col(DeliveryJob.expanded_at).is_(None),
            col(DeliveryJob.cancelled_at).is_(None),
        )
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(query)).first()


def pending_expansion(job: DeliveryJob) -> bool:
    """Rows are still being added: the job is not finished even if none is queued."""
    return job.audience_json is not None and job.expanded_at is None and not job.cancelled_at


def _of_bot(bot: str) -> list[Any]:
    """Rows that go through `bot`: a platform's main bot is named by the platform
    ("telegram"), another one "telegram:sct". The platform condition keeps the due index."""
    return [col(OutboxItem.platform) == bot.partition(":")[0], col(OutboxItem.bot) == bot]


def _claimable(platform: str, now: datetime) -> list[Any]:
    """Queued, due, and held by nobody (or by a worker whose lease ran out)."""
    return [
        *_of_bot(platform),
        col(OutboxItem.state) == QUEUED,
        col(OutboxItem.not_before) <= now,
        or_(col(OutboxItem.lease_until).is_(None), col(OutboxItem.lease_until) < now),
    ]


async def due(
    session: AsyncSession, platform: str, now: datetime, *, limit: int, skip: Sequence[int] = ()
) -> Sequence[OutboxItem]:
    """Rows a worker could claim now (a read: nothing is taken)."""
    query = (
        select(OutboxItem)
        .where(*_claimable(platform, now))
        .order_by(col(OutboxItem.priority), col(OutboxItem.id))
        .limit(limit)
    )
    if skip:
        query = query.where(col(OutboxItem.id).not_in(skip))
    return (await session.exec(query)).all()


async def claim(
    session: AsyncSession,
    platform: str,
    worker: str,
    now: datetime,
    lease_until: datetime,
    *,
    limit: int,
) -> list[OutboxItem]:
    """Take up to `limit` due rows for `worker` until `lease_until` (committed), in priority
    order. On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so workers claiming at
    the same moment take different rows without waiting for each other; SQLite has one writer
    at a time and needs no such clause."""
    pick = (
        select(OutboxItem.id)
        .where(*_claimable(platform, now))
        .order_by(col(OutboxItem.priority), col(OutboxItem.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.exec(
        update(OutboxItem)
        .where(col(OutboxItem.id).in_(pick.scalar_subquery()))
        .values(claimed_by=worker, lease_until=lease_until)
        .returning(OutboxItem)
        .execution_options(synchronize_session=False)
    )
    rows: list[OutboxItem] = list(result.scalars().all())
    await session.commit()
    return sorted(rows, key=lambda r: (r.priority, r.id or 0))


async def renew_leases(
    session: AsyncSession, worker: str, ids: Sequence[int], lease_until: datetime
) -> int:
    """The worker is alive: its rows stay its own until `lease_until`."""
    renewed = 0
    for start in range(0, len(ids), 500):
        result = await session.exec(
            update(OutboxItem)
            .where(
                col(OutboxItem.id).in_(ids[start : start + 500]),
                col(OutboxItem.claimed_by) == worker,
                col(OutboxItem.state).in_([QUEUED, SENDING]),
            )
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        renewed += int(result.rowcount or 0)
    await session.commit()
    return renewed


async def release(session: AsyncSession, worker: str, ids: Sequence[int]) -> int:
    """Give back claimed rows not yet sent (a clean stop): anyone may take them at once."""
    released = 0
    for start in range(0, len(ids), 500):
        result = await session.exec(
            update(OutboxItem)
            .where(
                col(OutboxItem.id).in_(ids[start : start + 500]),
                col(OutboxItem.claimed_by) == worker,
                col(OutboxItem.state) == QUEUED,
            )
            .values(claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        released += int(result.rowcount or 0)
    await session.commit()
    return released


def holders_query(now: datetime, platform: str | None = None) -> Any:
    """Workers holding rows (of `platform`, or of any) under a lease that has not run out."""
    return (
        select(OutboxItem.claimed_by)
        .where(
            *(_of_bot(platform) if platform is not None else ()),
            col(OutboxItem.state).in_([QUEUED, SENDING]),
            col(OutboxItem.claimed_by).is_not(None),
            col(OutboxItem.lease_until) >= now,
        )
        .distinct()
    )


async def holders(session: AsyncSession, platform: str, now: datetime) -> list[str]:
    """Workers holding rows of `platform` under a lease that has not run out."""
    return [h for h in (await session.exec(holders_query(now, platform))).all() if h]


def waiting_query() -> Any:
    """How many rows are still to be sent (or to be reported uncertain after a crash)."""
    return select(func.count()).where(col(OutboxItem.state).in_([QUEUED, SENDING]))


async def end_leases(session: AsyncSession, platform: str, worker: str, now: datetime) -> int:
    """`worker` is known to be gone (its process no longer exists): its leases end now."""
    result = await session.exec(
        update(OutboxItem)
        .where(
            *_of_bot(platform),
            col(OutboxItem.claimed_by) == worker,
            col(OutboxItem.state).in_([QUEUED, SENDING]),
        )
        .values(lease_until=now - timedelta(microseconds=1))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def count_by_state(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Rows per (platform, state), in one GROUP BY (the metrics scrape)."""
    query = select(OutboxItem.platform, OutboxItem.state, func.count()).group_by(
        col(OutboxItem.platform), col(OutboxItem.state)
    )
    return {(p, s): int(n) for p, s, n in (await session.exec(query)).all()}


async def overdue(session: AsyncSession, before: datetime) -> tuple[int, datetime | None]:
    """Queued rows due before `before` (still not sent), and the earliest due time among
    them: a stalled delivery."""
    query = select(func.count(), func.min(OutboxItem.not_before)).where(
        col(OutboxItem.state) == QUEUED, col(OutboxItem.not_before) <= before
    )
    count, earliest = (await session.exec(query)).one()
    return int(count), earliest


async def unfinished(session: AsyncSession, platform: str) -> int:
    """Rows of `platform` still queued or sending, whoever holds them."""
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(*_of_bot(platform), col(OutboxItem.state).in_([QUEUED, SENDING]))
    )
    return int((await session.exec(query)).one())


def _held_by(item_id: int, worker: str | None) -> list[Any]:
    where = [col(OutboxItem.id) == item_id]
    if worker is not None:  # a worker only touches rows it holds
        where.append(col(OutboxItem.claimed_by) == worker)
    return where


async def mark_sending(
    session: AsyncSession,
    item_id: int,
    now: datetime,
    *,
    worker: str | None = None,
    lease_until: datetime | None = None,
) -> bool:
    """The send is about to leave: False if the row was cancelled, or is no longer `worker`'s
    (its lease ran out and another worker took it)."""
    values: dict[str, Any] = {
        "state": SENDING,
        "updated_at": now,
        "attempts": OutboxItem.attempts + 1,
    }
    if lease_until is not None:
        values["lease_until"] = lease_until
    result = await session.exec(
        update(OutboxItem)
        .where(*_held_by(item_id, worker), col(OutboxItem.state) == QUEUED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)


async def mark_many_sending(
    session: AsyncSession,
    item_ids: Sequence[int],
    now: datetime,
    *,
    worker: str,
    lease_until: datetime,
) -> set[int]:
    """`mark_sending` for several rows in one transaction: the ids it marked."""
    result = await session.exec(
        update(OutboxItem)
        .where(
            col(OutboxItem.id).in_(list(item_ids)),
            col(OutboxItem.claimed_by) == worker,
            col(OutboxItem.state) == QUEUED,
        )
        .values(
            state=SENDING,
            updated_at=now,
            attempts=OutboxItem.attempts + 1,
            lease_until=lease_until,
        )
        .returning(col(OutboxItem.id))
        .execution_options(synchronize_session=False)
    )
    ids: Sequence[int] = result.scalars().all()
    marked = {int(i) for i in ids}
    await session.commit()
    return marked


async def finish_many_sent(
    session: AsyncSession, sent: Sequence[tuple[int, str | None]], now: datetime, *, worker: str
) -> None:
    """`finish(..., SENT)` for several rows (id, message ref) in one transaction."""
    table: Table = OutboxItem.__table__  # type: ignore[attr-defined]  # not declared by SQLModel
    state = table.c.state
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("sent_id"),
            table.c.claimed_by == worker,
            # (no IN: an executemany takes no expanding parameters)
            or_(state == QUEUED, state == SENDING, state == UNCERTAIN),
        )
        .values(state=SENT, updated_at=now, error=None, sent_at=now, message_ref=bindparam("ref"))
    )
    connection = await session.connection()
    await connection.execute(statement, [{"sent_id": i, "ref": ref} for i, ref in sent])
    await session.commit()


async def finish(
    session: AsyncSession,
    item_id: int,
    state: str,
    now: datetime,
    *,
    error: str | None = None,
    message_ref: str | None = None,
    worker: str | None = None,
) -> None:
    """The outcome (a cancelled row stays cancelled). Also over `uncertain`: a worker that
    stalled past its lease while its request was out knows better than the recovery's guess."""
    values: dict[str, Any] = {"state": state, "updated_at": now, "error": error}
    if state == SENT:
        values |= {"sent_at": now, "message_ref": message_ref}
    await session.exec(
        update(OutboxItem)
        .where(*_held_by(item_id, worker), col(OutboxItem.state).in_([QUEUED, SENDING, UNCERTAIN]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def requeue(
    session: AsyncSession,
    item_id: int,
    now: datetime,
    not_before: datetime,
    *,
    error: str | None,
    chat_id: str | None = None,
    refund: bool = False,
    worker: str | None = None,
) -> None:
    """Back to the queue, and to any worker. `refund` gives the attempt back (429s and moves
    are not failures). Only from `sending`: a row the recovery already called `uncertain`
    stays so."""
    values: dict[str, Any] = {
        "state": QUEUED,
        "updated_at": now,
        "not_before": not_before,
        "error": error,
        "claimed_by": None,
        "lease_until": None,
    }
    if chat_id is not None:
        values["chat_id"] = chat_id
    if refund:
        values["attempts"] = OutboxItem.attempts - 1
    await session.exec(
        update(OutboxItem)
        .where(*_held_by(item_id, worker), col(OutboxItem.state) == SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def recover_interrupted(session: AsyncSession, platform: str, now: datetime) -> int:
    """Rows left `sending` by a worker whose lease ran out (it died, or stalled that long) may
    have reached the person: `uncertain`, never sent again. A live worker's rows (its lease
    still running) are left alone; a row without a lease (from before leases) counts as
    expired."""
    result = await session.exec(
        update(OutboxItem)
        .where(
            *_of_bot(platform),
            col(OutboxItem.state) == SENDING,
            or_(col(OutboxItem.lease_until).is_(None), col(OutboxItem.lease_until) < now),
        )
        .values(state=UNCERTAIN, updated_at=now, error="interrupted: worker gone")
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def recent_sends(
    session: AsyncSession, platform: str, since: datetime
) -> list[tuple[str, bool, datetime]]:
    """(chat, is group, time) of rows that went out (or may have) since `since`."""
    query = (
        select(OutboxItem.chat_id, OutboxItem.is_group, OutboxItem.updated_at)
        .where(
            *_of_bot(platform),
            col(OutboxItem.state).in_([SENDING, SENT, UNCERTAIN]),
            col(OutboxItem.updated_at) >= since,
        )
        .order_by(col(OutboxItem.updated_at))
    )
    return [(c, bool(g), t) for c, g, t in (await session.exec(query)).all()]


async def cancel_job(session: AsyncSession, job: DeliveryJob, now: datetime) -> int:
    # Lock the job first: an expansion running elsewhere then adds no row after this.
    await session.exec(select(DeliveryJob.id).where(DeliveryJob.id == job.id).with_for_update())
    result = await session.exec(
        update(OutboxItem)
        .where(col(OutboxItem.job_id) == job.id, col(OutboxItem.state) == QUEUED)
        .values(state=CANCELLED, updated_at=now)
    )
    job.cancelled_at = now
    return int(result.rowcount or 0)


async def rows_in_job(session: AsyncSession, job_id: int) -> int:
    query = select(func.count()).select_from(OutboxItem).where(OutboxItem.job_id == job_id)
    return int((await session.exec(query)).one())


async def counts(session: AsyncSession, job_id: int) -> dict[str, int]:
    """A job's rows by state."""
    return (await counts_of_jobs(session, [job_id])).get(job_id, {})


async def counts_of_jobs(
    session: AsyncSession, job_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """`counts` for several jobs in one query (a list of announcements)."""
    if not job_ids:
        return {}
    query = (
        select(OutboxItem.job_id, OutboxItem.state, func.count())
        .where(col(OutboxItem.job_id).in_(job_ids))
        .group_by(col(OutboxItem.job_id), OutboxItem.state)
    )
    found: dict[int, dict[str, int]] = {}
    for job_id, state, n in (await session.exec(query)).all():
        found.setdefault(int(job_id), {})[state] = int(n)
    return found


async def queued_bots(session: AsyncSession, job_id: int) -> set[str]:
    """The bots (platform, or a named Telegram bot) through which a job still has rows waiting."""
    query = (
        select(OutboxItem.bot)
        .where(OutboxItem.job_id == job_id, col(OutboxItem.state).in_([QUEUED, SENDING]))
        .distinct()
    )
    return {str(bot) for bot in (await session.exec(query)).all()}


async def open_jobs(session: AsyncSession, now: datetime) -> Sequence[DeliveryJob]:
    query = select(DeliveryJob).where(
        col(DeliveryJob.finished_at).is_(None), col(DeliveryJob.start_at) <= now
    )
    return (await session.exec(query)).all()


async def items_in_state(
    session: AsyncSession, job_id: int, states: Sequence[str], limit: int = 100
) -> Sequence[OutboxItem]:
    query = (
        select(OutboxItem)
        .where(OutboxItem.job_id == job_id, col(OutboxItem.state).in_(states))
        .order_by(col(OutboxItem.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def job_by_key(session: AsyncSession, key: str) -> DeliveryJob | None:
    return (await session.exec(select(DeliveryJob).where(DeliveryJob.key == key))).first()


async def message(session: AsyncSession, message_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, message_id)


async def job(session: AsyncSession, job_id: int) -> DeliveryJob | None:
    return await session.get(DeliveryJob, job_id)


async def stop_paying(session: AsyncSession, message_id: int, reason: str) -> bool:
    """Telegram refused a paid send of this content: the rest goes at the free pace. True for
    the one caller (of any worker) that turned it off, who tells the board."""
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.paid).is_(True))
        .values(paid=False, paid_refusal=reason[:300])
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)


async def job_of_message(session: AsyncSession, message_id: int) -> DeliveryJob | None:
    query = select(DeliveryJob).where(DeliveryJob.message_id == message_id)
    found = (await session.exec(query)).first()
    if found is not None:
        return found
    # a job whose rows were added directly names its content only on the rows
    row = (
        await session.exec(select(OutboxItem.job_id).where(OutboxItem.message_id == message_id))
    ).first()
    return None if row is None else await session.get(DeliveryJob, row)


async def add_rows_from(
    session: AsyncSession,
    *,
    job_id: int,
    message_id: int,
    recipients: Select[Any],
    not_before: datetime,
    now: datetime,
    priority: int = 5,
) -> int:
    """`add_rows` for recipients given as a query of (member_id, platform, user_id, bot)
    rows: one INSERT … SELECT, so a page's rows never pass through Python (the dedupe key
    decides as there: a page added twice adds nothing). Returns how many were added."""
    chats = recipients.subquery()
    columns: dict[str, ColumnElement[Any]] = {
        "job_id": literal(job_id, Integer),
        "message_id": literal(message_id, Integer),
        "dedupe_key": literal(f"{job_id}:", String)
        + chats.c.platform
        + literal(":", String)
        + chats.c.user_id,
        "platform": chats.c.platform,
        "chat_id": chats.c.user_id,
        "is_group": literal(False, Boolean),
        "member_id": chats.c.member_id,
        "priority": literal(priority, Integer),
        "state": literal(QUEUED, String),
        "attempts": literal(0, Integer),
        "not_before": literal(not_before, UTCDateTime),
        "updated_at": literal(now, UTCDateTime),
        "bot": chats.c.bot,  # the bot the person talks to (members.reachable_chats_query)
    }
    # The WHERE keeps SQLite from reading ON CONFLICT as a join's ON.
    source = core_select(*columns.values()).where(true()).order_by(chats.c.member_id)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(OutboxItem)
        .from_select(list(columns), source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxItem.id))
    )
    added = len((await session.exec(statement)).all())
    if added:
        transactions.mark_queued(session)
    return added
