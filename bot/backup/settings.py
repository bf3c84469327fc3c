"""The [backup] section of config.toml: `congdoan backup` and the daily backup."""

from __future__ import annotations

from datetime import time

from pydantic import Field, field_validator

from bot.settings_base import StrictModel, clock_time


class BackupSection(StrictModel):
    """Relative paths are next to config.toml, like the SQLite file (bot/config.py)."""

    # Where backups are written: one .tar.gz each, named by the time it was taken.
    dir: str = "data/backups"
    # The local time of the daily backup, "HH:MM"; empty: no scheduled backup.
    daily_at: time | None = None
    # How many backups to keep in `dir`; older ones are deleted after each new one.
    keep: int = Field(default=14, ge=1, le=10_000)
    # The files the bot writes outside the database (console exports), copied into each backup.
    exports_dir: str = "data/exports"
    # Where pg_dump and pg_restore are; empty: the PATH, then /usr/lib/postgresql/*/bin.
    pg_bin: str = ""

    @field_validator("daily_at", mode="before")
    @classmethod
    def _daily_at(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return clock_time(value)
