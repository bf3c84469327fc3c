"""What other features do when the board decides on a registration (approved or rejected).

Registration calls `member_decided`; features that wait on the decision (a request to join a
group) register with `on_member_decided`, so registration imports none of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from models.members import Member

Listener = Callable[[Context, Member, bool], Awaitable[None]]
_listeners: list[Listener] = []


def on_member_decided(listener: Listener) -> Listener:
    _listeners.append(listener)
    return listener


async def member_decided(ctx: Context, member: Member, *, approved: bool) -> None:
    for listener in _listeners:
        await listener(ctx, member, approved)
