"""SQLite: a consistent copy of the live file, and checks of a copy.

The copy goes through SQLite's online backup API in one step: it reads one snapshot (in WAL
mode the bot keeps writing meanwhile, and the copy does not see those writes), so it is
consistent whatever the bot is doing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.backup.errors import BackupError, RestoreRefused


def database_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(database)


def online_copy(source: Path, target: Path, *, busy_ms: int = 10_000) -> None:
    """Copy the database at `source` into a new file `target` while others use it."""
    if not source.exists():
        raise BackupError(f"Không thấy tệp cơ sở dữ liệu {source}.")
    try:
        src = sqlite3.connect(source, timeout=busy_ms / 1000)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # pages=-1: the whole file from one snapshot
                # A standalone file: no -wal beside it to lose on the way.
                dst.execute("PRAGMA journal_mode=DELETE")
                result = dst.execute("PRAGMA quick_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Sao chép SQLite thất bại: {exc}") from None
    if not result or result[0] != "ok":
        raise BackupError(f"Bản sao SQLite không toàn vẹn: {result[0] if result else '?'}")


def check_copy(path: Path) -> str | None:
    """Refuse a damaged copy; its alembic revision (None when it has no alembic_version)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise RestoreRefused(
                    "Bản sao lưu SQLite bị hỏng (integrity_check): " + "; ".join(problems[:3])
                )
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                return None
            return str(row[0]) if row else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise RestoreRefused(f"Bản sao lưu SQLite không đọc được: {exc}") from None
