"""Backups of the bot's data and putting one back (`congdoan backup`, `congdoan restore`,
`congdoan db copy`, the daily backup).

A backup is one `congdoan-<UTC time>.tar.gz` in `[backup] dir`: a manifest, the database
(an online SQLite copy, or a `pg_dump` custom-format archive) and the exported files. See
docs/operations.md.
"""

from bot.backup.errors import BackupError, RestoreRefused

__all__ = ["BackupError", "RestoreRefused"]
