"""`congdoan backup`: a consistent copy of the database and the exported files, while the bot
runs, packed into one timestamped file in `[backup] dir`; then the oldest beyond `keep` go."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.backup import archive, pg_tools, sqlite_copy
from bot.backup.errors import BackupError
from bot.config import Settings
from models import db as database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    path: Path
    size: int
    revision: str | None
    exports: int
    pruned: list[Path]


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in archive.DATABASE_FILES:
        raise BackupError(f"Không sao lưu được cơ sở dữ liệu loại {name}.")
    return name


async def take_backup(settings: Settings, now: datetime | None = None) -> Taken:
    """Write one backup; BackupError (nothing left behind) when it cannot."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    url = settings.database.url
    backend = backend_of(url)
    directory = Path(settings.backup.dir)
    archive.ensure_dir(directory)
    try:
        revision = await asyncio.to_thread(database.current_revision, url)
    except Exception as exc:
        raise BackupError(f"Không đọc được cơ sở dữ liệu: {type(exc).__name__}") from None
    exports_dir = Path(settings.backup.exports_dir)
    exports = archive.export_files(exports_dir)
    target = archive.new_path(directory, now)
    partial = target.with_name(target.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(prefix=".congdoan-backup-", dir=directory) as work:
            copy = Path(work) / archive.DATABASE_FILES[backend]
            if backend == "sqlite":
                source = sqlite_copy.database_path(url)
                await asyncio.to_thread(sqlite_copy.online_copy, source, copy)
            else:
                await pg_tools.dump(url, copy, settings.backup.pg_bin)
            manifest = archive.Manifest(
                format=archive.FORMAT,
                backend=backend,
                revision=revision,
                created_at=now.isoformat(),
                database=copy.name,
                exports=len(exports),
            )
            partial.touch(mode=0o600)  # personal data: readable by the bot's user only
            await asyncio.to_thread(archive.pack, partial, manifest, copy, exports_dir, exports)
        partial.rename(target)  # only a complete file carries the backup name
    except OSError as exc:
        raise BackupError(f"Ghi bản sao lưu thất bại: {archive.os_reason(exc)}") from None
    finally:
        partial.unlink(missing_ok=True)
    pruned = archive.prune(directory, settings.backup.keep)
    log.info(
        "backup written: %s (%d bytes, %d old removed)",
        target.name,
        target.stat().st_size,
        len(pruned),
    )
    return Taken(target, target.stat().st_size, revision, len(exports), pruned)
