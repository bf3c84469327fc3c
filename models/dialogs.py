"""Dialog state per (platform, user): a half-finished registration survives a restart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import UTCDateTime


class DialogState(SQLModel, table=True):
    __tablename__ = "dialog_states"

    platform: str = Field(primary_key=True, max_length=16)
    user_id: str = Field(primary_key=True, max_length=64)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data_json: str = Field(default="{}")
    updated_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json)


# Built once, as every update loads the dialog (see models/events._SEEN); what it loads is in
# the session's identity map, so `save` and `clear` find it there without a query.
_STATE = select(DialogState).where(
    DialogState.platform == bindparam("platform"), DialogState.user_id == bindparam("user_id")
)


async def load(
    session: AsyncSession, platform: str, user_id: str, now: datetime
) -> tuple[DialogState | None, bool]:
    """The user's dialog, and whether an expired one was just dropped."""
    found = await session.exec(_STATE, params={"platform": platform, "user_id": user_id})
    state = found.first()
    if state is not None and state.expires_at <= now:
        await session.delete(state)
        return None, True
    return state, False


async def save(
    session: AsyncSession,
    platform: str,
    user_id: str,
    *,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
    ttl: timedelta,
) -> DialogState:
    state = await session.get(DialogState, (platform, user_id))
    payload = json.dumps(data, ensure_ascii=False, default=str)
    if state is None:
        state = DialogState(
            platform=platform,
            user_id=user_id,
            flow=flow,
            step=step,
            data_json=payload,
            updated_at=now,
            expires_at=now + ttl,
        )
        session.add(state)
    else:
        state.flow, state.step, state.data_json = flow, step, payload
        state.updated_at, state.expires_at = now, now + ttl
    return state


async def clear(session: AsyncSession, platform: str, user_id: str) -> bool:
    state = await session.get(DialogState, (platform, user_id))
    if state is None:
        return False
    await session.delete(state)
    return True
