"""The web side's one-time links and browser sessions.

Only a SHA-256 of each token is stored: a copy of the database opens no session. A link is
spent when it is used; a session ends at its expiry or at sign-out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime

LINK, SESSION = "link", "session"


class WebToken(SQLModel, table=True):
    __tablename__ = "web_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8)  # LINK or SESSION
    # What it is for: "signin" (the board's /web) or the one page it opens ("/web/dangky"),
    # carried over from a link to its session.
    purpose: str = Field(max_length=40)
    # The person, as the chat app knows them (an identity).
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Holder:
    """Who a valid token belongs to and what it may be used for."""

    platform: str
    user_id: str
    purpose: str
    token_id: int


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def issue(
    session: AsyncSession,
    *,
    kind: str,
    purpose: str,
    platform: str,
    user_id: str,
    now: datetime,
    ttl: timedelta,
) -> str:
    """A fresh random token (returned once, stored only as its hash); expired rows go."""
    await session.exec(delete(WebToken).where(col(WebToken.expires_at) <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebToken(
            token_hash=digest(token),
            kind=kind,
            purpose=purpose,
            platform=platform,
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def _valid(session: AsyncSession, token: str, kind: str, now: datetime) -> WebToken | None:
    if not token or len(token) > 128:
        return None
    query = select(WebToken).where(WebToken.token_hash == digest(token), WebToken.kind == kind)
    row = (await session.exec(query)).first()
    if row is None or row.expires_at <= now or row.used_at is not None:
        return None
    return row


async def spend_link(session: AsyncSession, token: str, now: datetime) -> Holder | None:
    """The holder of a valid one-time link, which is spent by this; None when it is unknown,
    expired or already used."""
    row = await _valid(session, token, LINK, now)
    if row is None:
        return None
    assert row.id is not None
    row.used_at = now
    session.add(row)
    await session.flush()
    return Holder(row.platform, row.user_id, row.purpose, row.id)


async def peek_link(session: AsyncSession, token: str, now: datetime) -> Holder | None:
    """A link's holder without spending it (the page that asks to confirm the sign-in)."""
    row = await _valid(session, token, LINK, now)
    return None if row is None else Holder(row.platform, row.user_id, row.purpose, row.id or 0)


async def session_holder(session: AsyncSession, token: str, now: datetime) -> Holder | None:
    row = await _valid(session, token, SESSION, now)
    return None if row is None else Holder(row.platform, row.user_id, row.purpose, row.id or 0)


async def end_session(session: AsyncSession, token: str, now: datetime) -> None:
    """Sign-out: the session stops working at once."""
    row = await _valid(session, token, SESSION, now)
    if row is not None:
        row.used_at = now
        session.add(row)
