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
