"""What apps without buttons or uploads (Zalo) need the bot to remember.

- The numbered choices last offered in a chat: "Trả lời 1, 2 hoặc 3" stays answerable after
  a restart (a meeting invitation may be answered days later).
- Files offered as download links: stored here, served by the bot's web server under a
  signed, expiring URL.
- One-time codes that link a second app's account to the same member (/lienket).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sqlmodel import Field, SQLModel, col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class ChatChoices(SQLModel, table=True):
    __tablename__ = "chat_choices"

    platform: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    payloads_json: str
    updated_at: datetime = Field(sa_type=UTCDateTime)


async def save_choices(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    payloads: list[str],
    now: datetime,
    labels: list[str] | None = None,
) -> None:
    """The chat's menu: the payloads its numbers press and, to answer by typing a choice's
    label, the labels (kept as {"payloads": [...], "labels": [...]}; a plain list of payloads
    is the older form)."""
    row = await session.get(ChatChoices, (platform, chat_id))
    if row is None:
        row = ChatChoices(platform=platform, chat_id=chat_id, payloads_json="[]", updated_at=now)
    stored: object = payloads if labels is None else {"payloads": payloads, "labels": labels}
    row.payloads_json, row.updated_at = json.dumps(stored, ensure_ascii=False), now
    session.add(row)


async def load_menu(
    session: AsyncSession, platform: str, chat_id: str
) -> tuple[list[str], list[str]]:
    """(payloads, labels) of the chat's menu; labels are "" where none were kept."""
    row = await session.get(ChatChoices, (platform, chat_id))
    if row is None:
        return [], []
    stored = json.loads(row.payloads_json)
    if isinstance(stored, dict):
        payloads = [str(p) for p in stored.get("payloads", [])]
        labels = [str(label) for label in stored.get("labels", [])]
        return payloads, (labels + [""] * len(payloads))[: len(payloads)]
    return [str(p) for p in stored], [""] * len(stored)


async def load_choices(session: AsyncSession, platform: str, chat_id: str) -> list[str]:
    return (await load_menu(session, platform, chat_id))[0]


async def clear_choices(session: AsyncSession, platform: str, chat_id: str) -> None:
    """Forget the chat's menu and, in a group, every person's own menu there ("chat/user")."""
    await session.exec(
        delete(ChatChoices).where(
            col(ChatChoices.platform) == platform,
            (col(ChatChoices.chat_id) == chat_id)
            | col(ChatChoices.chat_id).startswith(chat_id + "/"),
        )
    )


async def clear_one(session: AsyncSession, platform: str, key: str) -> None:
    row = await session.get(ChatChoices, (platform, key))
    if row is not None:
        await session.delete(row)


class SharedFile(SQLModel, table=True):
    __tablename__ = "shared_files"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    mime_type: str = Field(max_length=100)
    content: bytes
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


async def share_file(
    session: AsyncSession, name: str, mime_type: str, content: bytes, now: datetime, hours: int
) -> SharedFile:
    """Keep a file for download; expired ones are dropped on the way."""
    await session.exec(delete(SharedFile).where(col(SharedFile.expires_at) < now))
    row = SharedFile(
        id=secrets.token_urlsafe(12),
        name=name,
        mime_type=mime_type,
        content=content,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    return row


async def shared_file(session: AsyncSession, file_id: str, now: datetime) -> SharedFile | None:
    row = await session.get(SharedFile, file_id)
    return row if row is not None and row.expires_at > now else None


# An upload a web page keeps between its preview and its confirmation (the roster import),
# bound to the browser session that sent it: its name is this prefix and a digest of that.
UPLOAD_PREFIX = "web-upload:"


async def keep_upload(
    session: AsyncSession, owner: str, content: bytes, now: datetime, minutes: int
) -> str:
    """Keep an uploaded file for `owner` (a digest naming one browser session); its key."""
    row = await share_file(
        session, f"{UPLOAD_PREFIX}{owner}", "application/octet-stream", content, now, 0
    )
    row.expires_at = now + timedelta(minutes=minutes)
    return row.id


async def held_upload(session: AsyncSession, key: str, owner: str, now: datetime) -> bytes | None:
    """The file kept under `key`, if it is still there and `owner`'s."""
    row = await shared_file(session, key, now) if key and len(key) <= 32 else None
    if row is None or row.name != f"{UPLOAD_PREFIX}{owner}":
        return None
    return row.content


async def drop_upload(session: AsyncSession, key: str) -> None:
    row = await session.get(SharedFile, key)
    if row is not None and row.name.startswith(UPLOAD_PREFIX):
        await session.delete(row)


class LinkCode(SQLModel, table=True):
    __tablename__ = "link_codes"

    code: str = Field(primary_key=True, max_length=12)
    member_id: int = Field(foreign_key="members.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def new_link_code(
    session: AsyncSession, member_id: int, now: datetime, minutes: int = 15
) -> str:
    """A fresh 6-digit code; the member's earlier unused codes stop working."""
    await session.exec(
        delete(LinkCode).where(
            col(LinkCode.member_id) == member_id, col(LinkCode.used_at).is_(None)
        )
    )
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        if await session.get(LinkCode, code) is None:
            break
    session.add(
        LinkCode(
            code=code,
            member_id=member_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return code


async def use_link_code(session: AsyncSession, code: str, now: datetime) -> int | None:
    """The member a valid code belongs to (the code is then spent), or None."""
    row = await session.get(LinkCode, code)
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    row.used_at = now
    session.add(row)
    return row.member_id
