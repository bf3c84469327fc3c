"""Waiting for the background to settle: every fan-out expanded, nothing due left to send, no
reminder left due. Each wait re-reads the database until its condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from models.outbox import QUEUED, SENDING, DeliveryJob, OutboxItem
from models.reminders import PENDING, Reminder


async def until(
    app: App, holds: Callable[[AsyncSession], Awaitable[bool]], *, timeout: float, failure: str
) -> None:
    """Re-check `holds` in a fresh session every 20 ms until it is true; AssertionError with
    `failure` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.session() as session:
            if await holds(session):
                return
        await asyncio.sleep(0.02)
    raise AssertionError(failure)


async def settled(app: App, timeout: float = 10.0) -> None:
    """Until no job waits for expansion and no row is queued (due now) or in flight."""

    async def quiet(session: AsyncSession) -> bool:
        busy = (
            await session.exec(
                select(func.count())
                .select_from(OutboxItem)
                .where(
                    col(OutboxItem.state).in_([QUEUED, SENDING]),
                    col(OutboxItem.not_before) <= app.clock.now(),
                )
            )
        ).one()
        expanding = (
            await session.exec(
                select(func.count())
                .select_from(DeliveryJob)
                .where(
                    col(DeliveryJob.audience_json).is_not(None),
                    col(DeliveryJob.expanded_at).is_(None),
                    col(DeliveryJob.cancelled_at).is_(None),
                )
            )
        ).one()
        return not busy and not expanding

    await until(app, quiet, timeout=timeout, failure="deliveries did not settle")


async def reminders_settled(app: App, timeout: float = 10.0) -> None:
    """Until no reminder is due and still pending (the scheduler has fired or skipped them)."""

    async def none_due(session: AsyncSession) -> bool:
        due = (
            await session.exec(
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.state == PENDING, col(Reminder.due_at) <= app.clock.now())
            )
        ).one()
        return not due

    await until(app, none_due, timeout=timeout, failure="due reminders were not handled")
