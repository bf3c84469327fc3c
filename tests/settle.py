"""Waiting for the background to settle: every fan-out expanded, nothing due left to send."""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlmodel import col, select

from bot.app import App
from models.outbox import QUEUED, SENDING, DeliveryJob, OutboxItem


async def settled(app: App, timeout: float = 10.0) -> None:
    """Until no job waits for expansion and no row is queued (due now) or in flight."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.session() as session:
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
        if not busy and not expanding:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("deliveries did not settle")


async def reminders_settled(app: App, timeout: float = 10.0) -> None:
    """Until no reminder is due and still pending (the scheduler has fired or skipped them)."""
    from models.reminders import PENDING, Reminder

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.session() as session:
            due = (
                await session.exec(
                    select(func.count())
                    .select_from(Reminder)
                    .where(Reminder.state == PENDING, col(Reminder.due_at) <= app.clock.now())
                )
            ).one()
        if not due:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("due reminders were not handled")
