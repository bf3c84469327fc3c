"""A web request acts as the person would in their private chat: the same Context (roles,
access checks, audit), and what it says in chat is sent after the commit, as for an update."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.app import Handled
from bot.chat import Event
from bot.context import Context
from models import transactions

if TYPE_CHECKING:
    from bot.app import App


def web_event(platform: str, user_id: str) -> Event:
    """The request as an event from the person's private chat (answers go there)."""
    return Event(
        platform=platform,
        event_id=f"web-{secrets.token_hex(8)}",
        chat_id=user_id,
        chat_kind="private",
        user_id=user_id,
        user_name="",  # keeps the name the chat app gave
    )


@asynccontextmanager
async def acting_as(
    app: App, platform: str, user_id: str, *, write: bool
) -> AsyncIterator[Context]:
    """A Context for the person inside one transaction; committed when the block ends
    without an exception (or rolled back), then its chat messages are sent. `write`: the
    request may change things (a form sent): it takes the person's turn like a chat update,
    so a form and a message sent at once are handled one after the other."""
    async with (
        app.turn_of(platform, user_id) if write else _nothing(),
        app.db.writer_turn() if write else _nothing(),
        app.db.session() as session,
    ):
        # The router's own way to load a person (identity, member, roles, dialog).
        ctx = await app.context_for(session, web_event(platform, user_id))
        ctx.outgoing.clear()  # nothing about an expired chat dialog on a web page
        try:
            yield ctx
        except BaseException:
            await session.rollback()
            raise
        queued = transactions.queued(session)
        if transactions.wrote(session):
            await session.commit()
    await app.after_commit(
        Handled(ctx.outgoing, queued, ctx.replan, ctx.followups), first_to=(platform, user_id)
    )


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
