"""The `congdoan backup`, `congdoan restore` and `congdoan db copy` commands: what they print."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bot.backup.errors import BackupError, RestoreRefused
from bot.config import Settings


def status(settings: Settings, now: datetime) -> list[str]:
    """Lines for `congdoan check`: the newest backup, the schedule, pg_dump on PostgreSQL."""
    from bot.backup import archive, pg_tools
    from bot.backup.take import backend_of

    lines = []
    found = archive.backups_in(Path(settings.backup.dir))
    if found:
        newest = found[-1]
        hours = (now.timestamp() - newest.stat().st_mtime) / 3600
        mark = "✔" if hours <= 36 else "!"
        lines.append(
            f"{mark} Sao lưu: {len(found)} bản trong {settings.backup.dir}, mới nhất {newest.name} "
            f"({hours:.0f} giờ trước)"
        )
    else:
        lines.append(f"! Chưa có bản sao lưu nào trong {settings.backup.dir} (congdoan backup)")
    at = settings.backup.daily_at
    lines.append(
        f"• Sao lưu hằng ngày lúc {at:%H:%M}, giữ {settings.backup.keep} bản"
        if at
        else "! Chưa bật sao lưu hằng ngày ([backup] daily_at)"
    )
    try:
        if backend_of(settings.database.url) == "postgresql":
            lines.append(f"✔ pg_dump: {pg_tools.find_tool('pg_dump', settings.backup.pg_bin)}")
    except BackupError as exc:
        lines.append(f"✖ {exc}")
    return lines


async def backup(settings: Settings) -> int:
    from bot.backup.take import take_backup

    try:
        taken = await take_backup(settings)
    except BackupError as exc:
        print(f"✖ Chưa sao lưu được: {exc}", file=sys.stderr)
        return 2
    print(
        f"✔ Đã sao lưu: {taken.path} ({taken.size / 1024:.0f} kB; phiên bản cơ sở dữ liệu "
        f"{taken.revision}; {taken.exports} tệp xuất)"
    )
    if taken.pruned:
        print(f"  Đã xoá {len(taken.pruned)} bản sao lưu cũ (giữ {settings.backup.keep} bản).")
    return 0


async def restore(settings: Settings, file: Path) -> int:
    from bot.backup.restore import restore_backup

    try:
        done = await restore_backup(settings, file)
    except RestoreRefused as exc:
        print(f"✖ Không khôi phục: {exc}", file=sys.stderr)
        return 2
    except BackupError as exc:
        print(f"✖ Khôi phục thất bại: {exc}", file=sys.stderr)
        return 2
    print(f"✔ Đã khôi phục {file.name} (phiên bản cơ sở dữ liệu {done.level.revision}).")
    if done.aside:
        print(f"  Cơ sở dữ liệu trước đó được giữ lại ở: {done.aside}")
    if done.exports:
        print(f"  Đã khôi phục {done.exports} tệp xuất.")
    if done.exports_aside:
        print(f"  Các tệp xuất trước đó được giữ ở: {done.exports_aside}")
    if done.level.older:
        print(
            f"  Bản sao lưu cũ hơn chương trình (mới nhất {done.level.head}): lần khởi động tới, "
            "bot tự nâng cấp cơ sở dữ liệu."
        )
    if done.waiting:
        print(
            f"  Bản sao lưu còn {done.waiting} tin trong hàng đợi: bot gửi tiếp khi khởi động "
            "(tin đã gửi sau thời điểm sao lưu sẽ được gửi lại; xem docs/operations.md)."
        )
    print("  Khởi động lại bot để dùng dữ liệu đã khôi phục.")
    return 0


async def copy(settings: Settings, to: str | None) -> int:
    from bot.backup.db_copy import copy_database

    if not to:
        print("Cần --to postgresql+asyncpg://người_dùng:mật_khẩu@máy/tên_csdl", file=sys.stderr)
        return 2
    try:
        counts = await copy_database(settings.database.url, to)
    except (BackupError, RestoreRefused) as exc:
        print(f"✖ Chưa sao chép: {exc}", file=sys.stderr)
        return 2
    total = sum(counts.values())
    print(f"✔ Đã sao chép {total} dòng của {len(counts)} bảng; số dòng từng bảng đã khớp.")
    print(
        "  Đặt database.url (hoặc CONGDOAN_DATABASE_URL) thành địa chỉ mới rồi khởi động lại bot."
    )
    return 0
