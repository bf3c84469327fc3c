"""Backups in one process: what a backup holds, how many are kept, what a restore refuses
and what it keeps aside, and `db copy` to another database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.backup import BackupError, RestoreRefused, archive
from bot.backup.commands import status
from bot.backup.daily import next_time
from bot.backup.db_copy import copy_database
from bot.backup.restore import restore_backup
from bot.backup.take import take_backup
from bot.config import Settings
from bot.runtime import build_app
from models import db as database
from models.members import Member
from models.units import Unit
from tests.backups import drop_databases_set_aside, rows, skip_without_pg_tools
from tests.conftest import make_settings
from tests.databases import database_url, on_postgresql
from tests.people import seed

NOW = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


def site(tmp_path: Path, name: str, **backup: object) -> Settings:
    """Settings for the database of tmp_path/name, backups and exports beside it."""
    directory = tmp_path / name
    return make_settings(
        directory,
        backup={
            "dir": str(directory / "backups"),
            "exports_dir": str(directory / "exports"),
            **backup,
        },
    )


def sqlite_site(tmp_path: Path, name: str, revision: str = "head") -> Settings:
    """Like `site`, on a SQLite file whatever the pass (for what only SQLite can show)."""
    settings = site(tmp_path, name)
    settings.database.url = f"sqlite+aiosqlite:///{tmp_path / name / 'bot.db'}"
    database.upgrade(settings.database.url, revision)
    return settings


async def test_a_backup_holds_the_database_and_the_exports_and_only_keep_remain(
    tmp_path: Path,
) -> None:
    skip_without_pg_tools()
    settings = site(tmp_path, "live", keep=2)
    app = await build_app(settings)
    await seed(app, 3)
    await app.db.dispose()
    exports = Path(settings.backup.exports_dir)
    (exports / "2026").mkdir(parents=True)
    (exports / "2026" / "doan-vien.xlsx").write_bytes(b"PK fake sheet")
    directory = Path(settings.backup.dir)
    directory.mkdir(parents=True)
    (directory / "notes.txt").write_text("not a backup")  # never touched by the retention
    taken = [await take_backup(settings, NOW + timedelta(days=day)) for day in range(3)]
    assert [t.path.name for t in taken] == [
        "congdoan-20261202-023000Z.tar.gz",
        "congdoan-20261203-023000Z.tar.gz",
        "congdoan-20261204-023000Z.tar.gz",
    ]
    assert sorted(p.name for p in directory.iterdir()) == [
        "congdoan-20261203-023000Z.tar.gz",
        "congdoan-20261204-023000Z.tar.gz",
        "notes.txt",
    ]
    assert taken[2].pruned == [taken[0].path]
    assert taken[2].path.stat().st_mode & 0o777 == 0o600  # personal data
    with tarfile.open(taken[2].path) as tar:
        names = sorted(tar.getnames())
    kind = "postgresql" if on_postgresql() else "sqlite"
    assert names == sorted(
        ["manifest.json", archive.DATABASE_FILES[kind], "exports/2026/doan-vien.xlsx"]
    )
    manifest = archive.read_manifest(taken[2].path)
    assert manifest.backend == kind
    assert manifest.revision == database.head_revision(settings.database.url)
    assert manifest.exports == 1


async def test_restore_puts_the_copy_back_and_keeps_the_current_database_aside(
    tmp_path: Path,
) -> None:
    skip_without_pg_tools()
    settings = site(tmp_path, "live")
    app = await build_app(settings)
    await seed(app, 4)
    await app.db.dispose()
    taken = await take_backup(settings, NOW)
    before = await rows(settings.database.url, Member)
    app = await build_app(settings)  # later: one more member, then the restore
    await seed(app, 1, start=30_000)
    await app.db.dispose()
    try:
        done = await restore_backup(settings, taken.path, NOW + timedelta(hours=1))
        assert await rows(settings.database.url, Member) == before
        assert done.aside is not None and not done.level.older
        if on_postgresql():
            assert done.aside.endswith("_before_restore_20261202033000")
        else:
            kept = Path(done.aside)
            assert kept.name == "test.db.before-restore-20261202033000"
            with sqlite3.connect(kept) as conn:  # the database as it was: five members
                assert conn.execute("SELECT count(*) FROM members").fetchone() == (5,)
    finally:
        drop_databases_set_aside()


@pytest.mark.sqlite_only("made on a SQLite file in both passes: the level check is shared")
async def test_an_older_copy_is_restored_and_migrated_at_the_next_start(tmp_path: Path) -> None:
    head = database.head_revision("sqlite://")
    old = sqlite_site(tmp_path, "old", revision="0013")
    taken = await take_backup(old, NOW)
    assert taken.revision == "0013"
    target = sqlite_site(tmp_path, "new")
    done = await restore_backup(target, taken.path, NOW)
    assert done.level.older and done.level.head == head
    assert database.current_revision(target.database.url) == "0013"
    app = await build_app(target)  # what `congdoan run` does first
    await app.db.dispose()
    assert database.current_revision(target.database.url) == head


@pytest.mark.sqlite_only("a SQLite copy is altered by hand")
async def test_restore_refuses_a_newer_a_damaged_or_a_foreign_file(tmp_path: Path) -> None:
    live = sqlite_site(tmp_path, "live")
    taken = await take_backup(live, NOW)
    target = sqlite_site(tmp_path, "target")
    before = Path(target.database.url.split(":///", 1)[1]).read_bytes()

    def altered(name: str, change: object) -> Path:
        """The backup with its database file changed by `change(path)`."""
        work = tmp_path / name
        work.mkdir()
        archive.unpack(taken.path, work)
        copy = work / archive.DATABASE_FILES["sqlite"]
        change(copy)  # type: ignore[operator]
        manifest = archive.read_manifest(taken.path)
        out = tmp_path / f"{name}.tar.gz"
        archive.pack(out, manifest, copy, work / "exports", [])
        return out

    def newer(path: Path) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0099'")

    def damaged(path: Path) -> None:
        data = bytearray(path.read_bytes())
        page = 4096  # SQLite's default page size: pages 2 to 5 (tables' first pages) zeroed
        data[page : 5 * page] = b"\x00" * (4 * page)
        path.write_bytes(bytes(data))

    with pytest.raises(RestoreRefused, match="phiên bản cơ sở dữ liệu 0099, mới hơn"):
        await restore_backup(target, altered("newer", newer), NOW)
    with pytest.raises(RestoreRefused, match="Bản sao lưu SQLite không đọc được"):
        await restore_backup(target, altered("damaged", damaged), NOW)
    not_a_backup = tmp_path / "ds.tar.gz"
    not_a_backup.write_bytes(b"PK\x03\x04 an xlsx renamed")
    with pytest.raises(RestoreRefused, match="không phải bản sao lưu của congdoan"):
        await restore_backup(target, not_a_backup, NOW)
    with pytest.raises(RestoreRefused, match="Không tìm thấy tệp"):
        await restore_backup(target, tmp_path / "missing.tar.gz", NOW)
    postgres = site(tmp_path, "pg")
    postgres.database.url = "postgresql+asyncpg://congdoan@127.0.0.1:1/congdoan"
    with pytest.raises(RestoreRefused, match="sqlite, còn cấu hình đang dùng postgresql"):
        await restore_backup(postgres, taken.path, NOW)
    # nothing changed in the target
    assert Path(target.database.url.split(":///", 1)[1]).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == ["bot.db"]


async def test_a_backup_that_cannot_be_written_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    settings = site(tmp_path, "live")
    (tmp_path / "live").mkdir(parents=True, exist_ok=True)
    blocker = tmp_path / "live" / "backups"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(BackupError, match="là một tệp, không phải thư mục"):
        await take_backup(settings, NOW)
    if on_postgresql():
        settings.backup.dir = str(tmp_path / "live" / "elsewhere")
        settings.backup.pg_bin = str(tmp_path / "no-postgresql-here")
        with pytest.raises(BackupError, match="Không thấy pg_dump trong"):
            await take_backup(settings, NOW)
        assert list(Path(settings.backup.dir).iterdir()) == []


async def test_db_copy_moves_every_row_and_refuses_a_target_with_data(tmp_path: Path) -> None:
    """SQLite → PostgreSQL on the PostgreSQL pass (SQLite → SQLite on the SQLite pass)."""
    source = sqlite_site(tmp_path, "source")
    app = await build_app(source)
    chats = await seed(app, 30)
    async with app.db.session() as session:  # a unit whose parent has a larger id
        late = Unit(code="SCT-MOI", name="Tổ mới", kind="to", path="/")
        session.add(late)
        await session.flush()
        top = Unit(code="KHOI", name="Khối mới", kind="cdbp", path="/")
        session.add(top)
        await session.flush()
        late.parent_id = top.id
        await session.commit()
    await app.db.dispose()
    target_url = database_url(tmp_path / "target")
    counts = await copy_database(source.database.url, target_url)
    assert counts["members"] == 30 and counts["units"] == 7 and counts["identities"] == 30
    for table in (Member, Unit):
        assert await rows(target_url, table) == await rows(source.database.url, table)
    # new rows on the target get ids after the copied ones (sequences moved on)
    target = site(tmp_path, "target")
    app = await build_app(target)
    more = await seed(app, 1, start=chats[-1] + 1)
    async with app.db.session() as session:
        ids = (await session.exec(select(func.max(Member.id)))).one()
    await app.db.dispose()
    assert more and ids == 31
    with pytest.raises(RestoreRefused, match="đã có dữ liệu"):
        await copy_database(source.database.url, target_url)
    shutil.rmtree(tmp_path / "target", ignore_errors=True)


async def test_restore_refuses_a_truncated_or_a_newer_postgresql_archive(tmp_path: Path) -> None:
    if not on_postgresql():
        pytest.skip("PostgreSQL pass only: pg_dump archives")
    skip_without_pg_tools()
    from sqlalchemy import text

    from tests.databases import postgresql

    live = site(tmp_path, "live")
    app = await build_app(live)
    await seed(app, 2)
    taken = await take_backup(live, NOW)
    async with app.db.session() as session:  # as a later version would leave it
        await session.exec(text("UPDATE alembic_version SET version_num = '0099'"))
        await session.commit()
    newer = await take_backup(live, NOW + timedelta(minutes=1))
    await app.db.dispose()
    assert newer.revision == "0099"
    work = tmp_path / "cut"
    work.mkdir()
    archive.unpack(taken.path, work)
    dump = work / archive.DATABASE_FILES["postgresql"]
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    truncated = tmp_path / "truncated.tar.gz"
    archive.pack(truncated, archive.read_manifest(taken.path), dump, work / "exports", [])

    target = site(tmp_path, "target")
    before = await rows(target.database.url, Member)
    with pytest.raises(RestoreRefused, match="Tệp sao lưu PostgreSQL không dùng được"):
        await restore_backup(target, truncated, NOW)
    with pytest.raises(RestoreRefused, match="phiên bản cơ sở dữ liệu 0099, mới hơn"):
        await restore_backup(target, newer.path, NOW)
    assert await rows(target.database.url, Member) == before
    server = postgresql()
    assert server is not None
    aside = server.admin.execute(
        "SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_before\\_restore\\_%'"
    ).fetchone()
    assert aside == (0,)


async def test_check_tells_how_old_the_newest_backup_is(tmp_path: Path) -> None:
    skip_without_pg_tools()
    settings = site(tmp_path, "live", daily_at="02:30")
    await (await build_app(settings)).db.dispose()
    assert status(settings, NOW)[:2] == [
        f"! Chưa có bản sao lưu nào trong {settings.backup.dir} (congdoan backup)",
        "• Sao lưu hằng ngày lúc 02:30, giữ 14 bản",
    ]
    taken = await take_backup(settings, NOW)
    taken_at = NOW.timestamp()
    os.utime(taken.path, (taken_at, taken_at))
    assert status(settings, NOW + timedelta(hours=5))[0] == (
        f"✔ Sao lưu: 1 bản trong {settings.backup.dir}, mới nhất {taken.path.name} (5 giờ trước)"
    )
    assert status(settings, NOW + timedelta(days=3))[0].startswith("! Sao lưu: 1 bản")
    if on_postgresql():
        settings.backup.pg_bin = str(tmp_path / "nowhere")
        assert (
            status(settings, NOW)[2]
            == f"✖ Không thấy pg_dump trong {tmp_path / 'nowhere'} ([backup] pg_bin)."
        )


def test_the_next_daily_backup_is_at_the_set_local_time() -> None:
    class App:
        settings = make_settings(Path("/nonexistent"), backup={"daily_at": "02:30"})

    app = App()
    # 09:00:17.5 in Hà Nội: tomorrow 02:30:00 local, 19:30 UTC today
    assert next_time(app, datetime(2026, 11, 23, 2, 0, 17, 500_000, tzinfo=UTC)) == datetime(
        2026, 11, 23, 19, 30, tzinfo=UTC
    )
    assert next_time(app, datetime(2026, 11, 23, 19, 29, 59, tzinfo=UTC)) == datetime(
        2026, 11, 23, 19, 30, tzinfo=UTC
    )
    assert next_time(app, datetime(2026, 11, 23, 19, 30, tzinfo=UTC)) == datetime(
        2026, 11, 24, 19, 30, tzinfo=UTC
    )
    app.settings.backup.daily_at = None
    assert next_time(app, NOW) is None
