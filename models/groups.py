"""Group chats the bot is in, and the unit each is linked to (used by broadcasts and polls)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import polls
from models.types import UTCDateTime, utcnow
from models.units import Unit


class ChatGroup(SQLModel, table=True):
    __tablename__ = "chat_groups"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    title: str = Field(default="", max_length=256)
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    active: bool = True
    linked_by: int | None = Field(default=None, foreign_key="members.id")
    # The bot that is in the group where a deployment runs several; None: the main bot.
    bot: str | None = Field(default=None, max_length=40)
    # The forum topic announcements, polls and invitations go to (Telegram supergroups with
    # topics); None: the main chat.
    thread_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def find(session: AsyncSession, platform: str, chat_id: str) -> ChatGroup | None:
    query = select(ChatGroup).where(ChatGroup.platform == platform, ChatGroup.chat_id == chat_id)
    return (await session.exec(query)).first()


async def seen(
    session: AsyncSession, platform: str, chat_id: str, title: str, bot: str | None = None
) -> ChatGroup:
    """Record that the bot (`bot`: one of several, None: the main one) is in this group
    (again)."""
    group = await find(session, platform, chat_id)
    if group is None:
        group = ChatGroup(platform=platform, chat_id=chat_id, title=title[:256], bot=bot)
        session.add(group)
        await session.flush()
    else:
        group.active = True
        group.title = title[:256] or group.title
        group.bot = bot
        group.updated_at = utcnow()
    return group


async def link(
    *,
    session: AsyncSession,
    group: ChatGroup,
    unit: Unit,
    thread_id: str | None,
    by: int | None,
    at: datetime,
) -> None:
    """Link `group` (its topic `thread_id`, or the main chat) to `unit`."""
    group.unit_id = unit.id
    group.thread_id = thread_id
    group.linked_by = by
    group.active = True
    group.updated_at = at


async def migrate(session: AsyncSession, platform: str, old_id: str, new_id: str) -> None:
    """A group became a supergroup: its chat id changed, its link stays."""
    await polls.chat_moved(session, platform, old_id, new_id)  # results still reach the group
    group = await find(session, platform, old_id)
    if group is None or await find(session, platform, new_id) is not None:
        return
    group.chat_id = new_id
    group.updated_at = utcnow()


def _linked_in(root: Unit, without: Sequence[str] = ()) -> Any:
    """Active groups linked to `root` or a unit under it; `without`: platforms left out (those
    whose bots may not be in groups, e.g. Zalo while getMe says can_join_groups is false)."""
    query = (
        select(ChatGroup)
        .join(Unit, col(Unit.id) == ChatGroup.unit_id)
        .where(col(Unit.path).startswith(root.path), col(ChatGroup.active).is_(True))
    )
    return query.where(col(ChatGroup.platform).not_in(without)) if without else query


async def count_linked_in_subtree(
    session: AsyncSession, root: Unit, *, without: Sequence[str] = ()
) -> int:
    query = select(func.count()).select_from(_linked_in(root, without).subquery())
    return int((await session.exec(query)).one())


async def count_linked_on(session: AsyncSession, root: Unit, platform: str) -> int:
    """How many of the groups linked under `root` are on `platform`."""
    linked = _linked_in(root).where(ChatGroup.platform == platform).subquery()
    return int((await session.exec(select(func.count()).select_from(linked))).one())


async def linked_page(
    session: AsyncSession,
    root: Unit,
    *,
    after: int,
    limit: int,
    without: Sequence[str] = (),
) -> Sequence[ChatGroup]:
    """The next `limit` linked groups under `root`, in id order, after id `after`."""
    query = _linked_in(root, without).where(col(ChatGroup.id) > after)
    return (await session.exec(query.order_by(col(ChatGroup.id)).limit(limit))).all()


# --- join requests ---------------------------------------------------------------------------
# waiting ──> approving ──> approved        (the platform told; "approving": not yet)
#    │    └─> declining ──> declined
#    └─────────────────────> gone           (handled by someone else, or withdrawn)
WAITING, APPROVING, DECLINING = "waiting", "approving", "declining"
APPROVED, DECLINED, GONE = "approved", "declined", "gone"


class JoinRequest(SQLModel, table=True):
    """Someone asked to join a linked group that approves new members. Kept until the
    platform has been told the decision, so a restart between the two loses nothing."""

    __tablename__ = "join_requests"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    # Where the bot may write to them about it (Telegram's user_chat_id).
    private_chat_id: str = Field(max_length=64)
    unit_id: int = Field(foreign_key="units.id", index=True)
    bot: str | None = Field(default=None, max_length=40)
    state: str = Field(default=WAITING, max_length=12, index=True)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=300)


async def record_request(
    *,
    session: AsyncSession,
    group: ChatGroup,
    user_id: str,
    private_chat_id: str,
    at: datetime,
) -> JoinRequest:
    """A (new, or repeated after a decision) request to join `group`, waiting."""
    assert group.unit_id is not None
    query = select(JoinRequest).where(
        JoinRequest.platform == group.platform,
        JoinRequest.chat_id == group.chat_id,
        JoinRequest.user_id == user_id,
    )
    request = (await session.exec(query)).first()
    if request is None:
        request = JoinRequest(
            platform=group.platform,
            chat_id=group.chat_id,
            user_id=user_id,
            private_chat_id=private_chat_id,
            unit_id=group.unit_id,
            requested_at=at,
        )
        session.add(request)
    request.private_chat_id = private_chat_id
    request.unit_id = group.unit_id
    request.bot = group.bot
    request.state = WAITING
    request.requested_at = at
    request.decided_at = request.answered_at = None
    request.error = None
    await session.flush()
    return request


async def get_request(session: AsyncSession, request_id: int) -> JoinRequest | None:
    return await session.get(JoinRequest, request_id)


async def waiting_requests_of(
    session: AsyncSession, accounts: Sequence[tuple[str, str]]
) -> Sequence[JoinRequest]:
    """The waiting requests made by these (platform, user id) accounts."""
    found: list[JoinRequest] = []
    for platform, user_id in accounts:
        query = select(JoinRequest).where(
            JoinRequest.platform == platform,
            JoinRequest.user_id == user_id,
            JoinRequest.state == WAITING,
        )
        found += (await session.exec(query.order_by(col(JoinRequest.id)))).all()
    return found


def decide_request(*, request: JoinRequest, approve: bool, at: datetime) -> None:
    """The decision is taken; the platform is told after the commit (`answered`)."""
    request.state = APPROVING if approve else DECLINING
    request.decided_at = at


async def undelivered_decisions(session: AsyncSession) -> Sequence[JoinRequest]:
    """Decisions the platform was not told yet (e.g. the process stopped in between)."""
    query = select(JoinRequest).where(col(JoinRequest.state).in_((APPROVING, DECLINING)))
    return (await session.exec(query.order_by(col(JoinRequest.id)))).all()


def answered(*, request: JoinRequest, state: str, error: str | None, at: datetime) -> None:
    request.state = state
    request.answered_at = at
    request.error = error[:300] if error else None
