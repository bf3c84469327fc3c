"""Timed work: the database says what is due (`models/reminders.py`); APScheduler holds the
wake-ups. Features register what to do for each kind of due row with `@action(kind)`."""

from scheduler.core import LATE_AFTER, Scheduler, action

__all__ = ["LATE_AFTER", "Scheduler", "action"]
