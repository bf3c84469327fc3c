"""The backup file: naming, the manifest, packing and unpacking, and the retention count.

congdoan-20261202-023000Z.tar.gz
    manifest.json        what is inside (backend, migration revision, time)
    database.sqlite3     or database.pgdump (pg_dump --format=custom)
    exports/…            the files of [backup] exports_dir
"""

from __future__ import annotations

import errno
import io
import json
import tarfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from bot.backup.errors import BackupError, RestoreRefused

PREFIX, SUFFIX = "congdoan-", ".tar.gz"
MANIFEST = "manifest.json"
EXPORTS = "exports"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    format: int
    backend: str  # "sqlite" or "postgresql"
    revision: str | None  # alembic revision of the copy
    created_at: str  # ISO 8601, UTC
    database: str  # the member holding the database
    exports: int  # how many exported files are included


def backup_name(now: datetime) -> str:
    return f"{PREFIX}{now.strftime('%Y%m%d-%H%M%S')}Z{SUFFIX}"


def new_path(directory: Path, now: datetime) -> Path:
    """A name for a backup taken `now` that no other backup in `directory` has."""
    path = directory / backup_name(now)
    counter = 2
    while path.exists():
        path = directory / backup_name(now).replace(SUFFIX, f"-{counter}{SUFFIX}")
        counter += 1
    return path


def backups_in(directory: Path) -> list[Path]:
    """Finished backups in `directory`, oldest first (the names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX)
    )


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; the deleted paths. Other files stay."""
    old = backups_in(directory)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def export_files(exports_dir: Path) -> list[Path]:
    if not exports_dir.is_dir():
        return []
    return sorted(p for p in exports_dir.rglob("*") if p.is_file())


def pack(
    target: Path, manifest: Manifest, database: Path, exports_dir: Path, exports: list[Path]
) -> None:
    """Write the archive to `target` (the caller renames it into place when it is complete)."""
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        data = json.dumps(asdict(manifest), indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(datetime.fromisoformat(manifest.created_at).timestamp())
        tar.addfile(info, io.BytesIO(data))
        tar.add(database, arcname=manifest.database)
        for path in exports:
            tar.add(path, arcname=f"{EXPORTS}/{path.relative_to(exports_dir).as_posix()}")


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            raw = json.loads(member.read())
        manifest = Manifest(**raw)
    except FileNotFoundError:
        raise RestoreRefused(f"Không tìm thấy tệp {archive}.") from None
    except (tarfile.TarError, OSError, EOFError, KeyError, ValueError, TypeError) as exc:
        raise RestoreRefused(
            f"{archive.name} không phải bản sao lưu của congdoan hoặc đã hỏng "
            f"({type(exc).__name__})."
        ) from None
    if manifest.format != FORMAT or manifest.backend not in DATABASE_FILES:
        raise RestoreRefused(
            f"{archive.name}: định dạng sao lưu {manifest.format}/{manifest.backend} "
            "không được phiên bản này hỗ trợ."
        )
    return manifest


def unpack(archive: Path, into: Path) -> None:
    """Extract every member into `into` (members are checked: no absolute paths, no `..`)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RestoreRefused(f"{archive.name} bị hỏng, không giải nén được: {exc}") from None


def ensure_dir(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise BackupError(f"{directory} là một tệp, không phải thư mục (xem [backup] dir).")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Không tạo được thư mục sao lưu {directory}: {os_reason(exc)}") from None


def os_reason(exc: OSError) -> str:
    """The usual reasons in Vietnamese; others as the system says them."""
    reasons = {
        errno.EACCES: "không có quyền ghi",
        errno.EPERM: "không có quyền ghi",
        errno.EROFS: "ổ đĩa chỉ cho đọc",
        errno.ENOSPC: "ổ đĩa đã đầy",
        errno.ENOTDIR: "một phần của đường dẫn là tệp, không phải thư mục",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))
