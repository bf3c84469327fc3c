"""`congdoan restore FILE`: put a backup back in place of the configured database.

Checked first, before anything changes: the file is a whole backup (SQLite integrity_check;
pg_restore --list), of the same kind of database, at a migration level this code knows (a
newer one is refused; an older one is migrated at the next start), and no bot process is
using the database (bot/backup/running.py). Then the current database is kept aside under a
new name (never deleted) and the copy takes its place; the exported files likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine
from sqlmodel import Session

from bot.backup import archive, pg_tools, sqlite_copy
from bot.backup.errors import BackupError, RestoreRefused
from bot.backup.levels import Level, check_level
from bot.backup.running import running_processes
from bot.backup.take import backend_of
from bot.config import Settings
from models import db as database
from models import outbox


@dataclass(frozen=True)
class Restored:
    level: Level
    aside: str | None  # where the database that was there before now is
    exports: int
    exports_aside: Path | None
    waiting: int  # outbox rows of the copy still to send (queued) or in flight (sending)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d%H%M%S")


async def restore_backup(settings: Settings, file: Path, now: datetime | None = None) -> Restored:
    now = now or datetime.now(UTC)
    manifest = archive.read_manifest(file)
    url = settings.database.url
    backend = backend_of(url)
    if manifest.backend != backend:
        raise RestoreRefused(
            f"{file.name} là bản sao lưu {manifest.backend}, còn cấu hình đang dùng {backend}. "
            "Để chuyển từ SQLite sang PostgreSQL, khôi phục vào SQLite rồi dùng "
            "`congdoan db copy --to …`."
        )
    work_parent = sqlite_copy.database_path(url).parent if backend == "sqlite" else None
    if work_parent is not None:
        work_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".congdoan-restore-", dir=work_parent) as work:
        unpacked = Path(work)
        await asyncio.to_thread(archive.unpack, file, unpacked)
        copy = unpacked / manifest.database
        if not copy.is_file():
            raise RestoreRefused(f"{file.name} thiếu tệp cơ sở dữ liệu {manifest.database}.")
        if backend == "sqlite":
            revision = await asyncio.to_thread(sqlite_copy.check_copy, copy)
        else:
            await _checked(pg_tools.list_archive(copy, settings.backup.pg_bin))
            revision = await _checked(pg_tools.archived_revision(copy, settings.backup.pg_bin))
        level = check_level(revision, url)
        await asyncio.to_thread(_refuse_if_running, url, backend, now)
        stamp = _stamp(now)
        if backend == "sqlite":
            aside = await asyncio.to_thread(
                _replace_sqlite, sqlite_copy.database_path(url), copy, stamp
            )
        else:
            aside = await _replace_postgresql(url, copy, stamp, settings.backup.pg_bin)
        exports, exports_aside = _replace_exports(
            unpacked / archive.EXPORTS, Path(settings.backup.exports_dir), stamp
        )
    waiting = await asyncio.to_thread(_waiting_sends, url)
    return Restored(level, aside, exports, exports_aside, waiting)


def _waiting_sends(url: str) -> int:
    """What the bot will send (or report uncertain) when it starts on the restored copy."""
    engine = create_engine(database.sync_url(url))
    try:
        with Session(engine) as session:
            return int(session.exec(outbox.waiting_query()).one())
    finally:
        engine.dispose()


async def _checked(work: Awaitable[str | None]) -> str | None:
    """A pg_restore step whose failure means the file is not a usable backup."""
    try:
        return await work
    except BackupError as exc:
        raise RestoreRefused(f"Tệp sao lưu PostgreSQL không dùng được: {exc}") from None


def _refuse_if_running(url: str, backend: str, now: datetime) -> None:
    if backend == "sqlite" and not sqlite_copy.database_path(url).exists():
        return  # nothing there yet: nobody can be using it
    try:
        running = running_processes(url, now)
    except Exception as exc:
        if backend == "postgresql" and "does not exist" in str(exc):
            return
        raise RestoreRefused(
            f"Không kiểm tra được cơ sở dữ liệu hiện tại ({type(exc).__name__}); chưa khôi phục."
        ) from None
    if running:
        raise RestoreRefused(
            "Bot đang chạy trên cơ sở dữ liệu này (" + ", ".join(running) + "). Dừng bot và "
            "tiến trình gửi tin trước (systemctl stop congdoan congdoan-worker, hoặc docker "
            "compose stop bot), rồi khôi phục lại. Một tiến trình vừa bị tắt đột ngột sẽ hết "
            "giữ chỗ sau khoảng 30 giây."
        )


def _replace_sqlite(target: Path, copy: Path, stamp: str) -> str | None:
    aside: Path | None = None
    if target.exists():
        # Fold the write-ahead log into the file so the file kept aside is whole by itself.
        conn = sqlite3.connect(target)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        target.rename(aside)
        for extra in ("-wal", "-shm"):
            leftover = target.with_name(target.name + extra)
            if leftover.exists():
                leftover.rename(aside.with_name(aside.name + extra))
    copy.replace(target)
    return str(aside) if aside else None


async def _replace_postgresql(url: str, copy: Path, stamp: str, pg_bin: str) -> str | None:
    import psycopg
    from psycopg import sql

    server = pg_tools.Server.from_url(url)
    name = server.database
    admin = None
    for maintenance in ("postgres", "template1"):
        with contextlib.suppress(psycopg.Error):
            admin = psycopg.connect(**server.connect_kwargs(maintenance), autocommit=True)  # type: ignore[arg-type]
            break
    if admin is None:
        raise RestoreRefused("Không kết nối được máy chủ PostgreSQL (cơ sở dữ liệu postgres).")
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        aside = f"{name[:40]}_before_restore_{stamp}" if exists else None
        try:
            if aside:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(name), sql.Identifier(aside)
                    )
                )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise RestoreRefused(
                f"PostgreSQL từ chối đổi tên hoặc tạo cơ sở dữ liệu {name}: "
                f"{exc.diag.message_primary or type(exc).__name__} (cần quyền CREATEDB)."
            ) from None
        try:
            await pg_tools.restore_into(url, copy, pg_bin)
        except BackupError as exc:  # put the previous database back
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            if aside:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(aside), sql.Identifier(name)
                    )
                )
            raise BackupError(
                f"{exc}. Đã trả lại cơ sở dữ liệu cũ, không có gì thay đổi."
            ) from None
    return aside


def _replace_exports(unpacked: Path, exports_dir: Path, stamp: str) -> tuple[int, Path | None]:
    """The backup's exported files in place of the current ones (kept aside when there are
    any); a backup without exports leaves the directory as it is."""
    files = archive.export_files(unpacked)
    if not files:
        return 0, None
    aside = None
    if archive.export_files(exports_dir):
        aside = exports_dir.with_name(f"{exports_dir.name}.before-restore-{stamp}")
        exports_dir.rename(aside)
    elif exports_dir.exists():
        shutil.rmtree(exports_dir)
    exports_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(unpacked), str(exports_dir))
    return len(files), aside
