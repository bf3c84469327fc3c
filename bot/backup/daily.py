"""The daily backup: a `backup` row in the scheduler's table at `[backup] daily_at` local time.

The scheduler runs only in the leading process (bot/leader.py), so one backup is taken per
day whatever the number of processes; each run plans the next day's row (its key names the
day and time, so planning twice adds nothing), and one missed while the bot was down is taken
when it is back. A failure is logged and told to the admin chat (`bot.admin_chat`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backup.errors import BackupError
from bot.backup.take import take_backup
from bot.chat import Address, Message
from bot.context import Outgoing
from models import reminders
from models.reminders import Reminder
from scheduler import action

log = logging.getLogger(__name__)

KIND = "backup"


def next_time(app: Any, now: datetime) -> datetime | None:
    """The next daily backup after `now` (UTC), or None when they are off."""
    at = app.settings.backup.daily_at
    if at is None:
        return None
    local = now.astimezone(app.settings.tz)
    due = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)  # same wall-clock time tomorrow
    return due.astimezone(now.tzinfo)


async def plan_next(app: Any, session: AsyncSession, now: datetime) -> bool:
    """Add the next backup row unless it is there; True when added."""
    due = next_time(app, now)
    if due is None:
        return False
    at = app.settings.backup.daily_at
    return await reminders.add(
        session,
        kind=KIND,
        ref_id=0,
        key=f"backup:{due.astimezone(app.settings.tz).strftime('%Y-%m-%dT%H:%M')}",
        arg=at.strftime("%H:%M"),
        due_at=due,
        now=now,
    )


async def ensure_planned(app: Any) -> None:
    """At the start of a leader's term: the next backup is in the table."""
    async with app.db.session() as session:
        if await plan_next(app, session, app.clock.now()):
            await session.commit()


@action(KIND)
async def run_daily(app: Any, session: AsyncSession, row: Reminder, late: bool) -> str | None:
    at = app.settings.backup.daily_at
    if at is None or row.arg != at.strftime("%H:%M"):
        await plan_next(app, session, app.clock.now())
        return "daily backup time changed or turned off"
    try:
        taken = await take_backup(app.settings, app.clock.now())
    except BackupError as exc:
        reason = str(exc)
    except Exception as exc:  # a bug: the admin still hears that there is no backup
        log.exception("daily backup failed")
        reason = type(exc).__name__
    else:
        log.info("daily backup: %s", taken.path.name)
        await plan_next(app, session, app.clock.now())
        return None
    log.error("daily backup failed: %s", reason)
    await plan_next(app, session, app.clock.now())
    await tell_admins(app, row.due_at, reason)
    return f"failed: {reason}"[:200]


async def tell_admins(app: Any, when: datetime, reason: str) -> None:
    target = app.settings.bot.admin_chat
    if not target:
        return
    platform, _, chat_id = target.partition(":")
    t = app.translator()
    local = when.astimezone(app.settings.tz)
    text = t("backup.failed", time=f"{local:%H:%M}", date=t.date(local.date()), reason=reason)
    app.spawn(app.deliver([Outgoing(Address(platform, chat_id), Message(text))]))
