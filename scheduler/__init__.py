"""Timed work (meeting reminders, scheduled announcements, deadlines): APScheduler wake-ups
rebuilt from the database at start. Jobs stay thin: find what is due, enqueue deliveries."""
