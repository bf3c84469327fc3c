"""Backups taken while the bot works, and restored: `congdoan backup` in the middle of a
broadcast and of a registration, `congdoan restore` into a fresh directory, the bot started
again from the copy (issue 15, "Back up and restore")."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backup import RestoreRefused, archive
from bot.backup.restore import restore_backup
from bot.backup.settings import BackupSection
from bot.backup.take import take_backup
from bot.clock import FakeClock
from bot.runtime import build_app
from models.dialogs import DialogState
from models.emulation import Pledge
from models.members import Identity, Member
from models.outbox import SENDING, SENT, UNCERTAIN, OutboxItem
from models.reminders import Reminder
from tests.backups import (
    congdoan,
    drop_databases_set_aside,
    rows,
    skip_without_pg_tools,
    write_site,
)
from tests.conftest import make_settings
from tests.databases import database_url, on_postgresql
from tests.fakes.telegram import FakeTelegram
from tests.people import seed, set_join_dates
from tests.settle import until
from tests.tg import ADMIN, press, received, say, start_bot, stop_bot, tg_settings
from tests.tg_flows import compose, launch

NEWCOMER = 777  # types half of the registration before the backup


async def test_backup_mid_broadcast_and_registration_restores_everything(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    skip_without_pg_tools()
    # the leases the restore looks at are on the wall clock in production: so here too
    clock.set(datetime.now(UTC))
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    write_site(live)
    settings = tg_settings(live, fake, delivery={"concurrency": 1})
    settings.telegram.request_timeout = 60.0  # the stalled send waits for the test, not 1 s
    bot = await start_bot(settings, clock)
    try:
        chats = await seed(bot.app, 12)
        await set_join_dates(bot, chats, date(2015, 6, 1))
        # a pledge
        await launch(fake)
        await fake.wait_until(
            lambda: sum(received(fake, chats, "phát động phong trào").values()) == 12,
            what="the launch notice",
        )
        choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
        fake.user_presses(chats[0], choices, choices.button("Lao động tiên tiến"))
        await fake.wait_for_edit(chats[0], contains="✅ Lao động tiên tiến")
        ask = await press(fake, chats[0], choices, "Tiếp tục", "cam kết")
        await press(fake, chats[0], ask, "Bỏ qua", "Đã ghi nhận")
        # a registration half typed
        msg = await say(fake, NEWCOMER, "/dangky SCT-VP", "Bước 2/8")
        await say(fake, NEWCOMER, "Trần Văn Mới", "Bước 3/8")
        # a broadcast half sent: the sixth send is held by Telegram until the test lets go
        release = asyncio.Event()
        held = fake.stall_next("sendMessage", seconds=120, chat_id=chats[5], release=release)
        preview = await compose(fake, "Họp toàn thể lúc 14:00 thứ Sáu.", "Tất cả đoàn viên")
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        await asyncio.wait_for(held.taken.wait(), timeout=20)

        async def only_the_held_one_in_flight(session: AsyncSession) -> bool:
            states = Counter((await session.exec(select(OutboxItem.state))).all())
            return states[SENDING] == 1 and states[SENT] == 12 + 5  # launch notice + five

        await until(bot.app, only_the_held_one_in_flight, timeout=10, failure="not half sent")
        url = settings.database.url
        before = {
            "members": await rows(url, Member),
            "identities": await rows(url, Identity),
            "pledges": await rows(url, Pledge),
            "dialogs": await rows(
                url, DialogState, "platform", "user_id", "flow", "step", "data_json"
            ),
            "outbox": await rows(url, OutboxItem, "id", "job_id", "chat_id", "state"),
        }
        assert len(before["pledges"]) == 1 and len(before["members"]) == 12
        assert ("telegram", str(NEWCOMER)) in [d[:2] for d in before["dialogs"]]

        made = await congdoan(live, "backup")
        assert made.returncode == 0, made.stderr
        assert "Đã sao lưu" in made.stdout
        [backup] = sorted((live / "backups").glob("congdoan-*.tar.gz"))
        kind = "postgresql" if on_postgresql() else "sqlite"
        assert archive.read_manifest(backup).backend == kind

        # restoring over the running bot's database is refused, and changes nothing
        clock.set(datetime.now(UTC))
        assert bot.background.leader is not None
        await bot.background.leader.tick()
        refused = await congdoan(live, "restore", str(backup))
        assert refused.returncode == 2
        assert "Bot đang chạy" in refused.stderr
        assert await rows(url, Member) == before["members"]
    finally:
        # the bot stops before Telegram answers the held send: nothing more goes out
        bot.background.stop.set()
        release.set()
        await stop_bot(bot)
    assert received(fake, chats, "Họp toàn thể")[chats[5]] == 1  # the held one did arrive

    try:
        write_site(fresh)
        put_back = await congdoan(fresh, "restore", str(backup))
        assert put_back.returncode == 0, put_back.stderr
        assert "Đã khôi phục" in put_back.stdout
        assert "còn 7 tin trong hàng đợi" in put_back.stdout  # six queued, one in flight
        restored = database_url(fresh)
        assert await rows(restored, Member) == before["members"]
        assert await rows(restored, Identity) == before["identities"]
        assert await rows(restored, Pledge) == before["pledges"]
        assert (
            await rows(restored, DialogState, "platform", "user_id", "flow", "step", "data_json")
            == before["dialogs"]
        )
        assert (
            await rows(restored, OutboxItem, "id", "job_id", "chat_id", "state")
            == (before["outbox"])
        )

        # the bot starts again from the copy, once the old processes' leases have run out
        clock.advance(minutes=2)
        again = tg_settings(fresh, fake, delivery={"concurrency": 1})
        bot = await start_bot(again, clock)
        try:
            # the progress message of the broadcast is edited into its report
            report = await fake.wait_for(ADMIN, contains="Thông báo số 1 đã gửi xong", timeout=20)
            got = received(fake, chats, "Họp toàn thể")
            assert got == Counter({chat: 1 for chat in chats})  # everyone, exactly once
            # the one in flight at the backup: maybe delivered, so reported and never resent
            assert "1 chưa chắc đã nhận" in report.body
            async with bot.app.db.session() as session:
                states = Counter(
                    (
                        await session.exec(
                            select(OutboxItem.state).where(col(OutboxItem.job_id) == 2)
                        )
                    ).all()
                )
            assert states == {SENT: 11, UNCERTAIN: 1}
            # the registration goes on from the step it had reached
            msg = fake.messages_to(NEWCOMER)[-1]
            await press(fake, NEWCOMER, msg, "Nam", "Bước 4/8")
            async with bot.app.db.session() as session:
                count = (await session.exec(select(func.count()).select_from(Pledge))).one()
            assert count == 1
        finally:
            await stop_bot(bot)
    finally:
        drop_databases_set_aside()


async def test_the_daily_backup_runs_in_the_leader_and_a_failure_is_told_to_the_admin_chat(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    skip_without_pg_tools()
    settings = tg_settings(tmp_path, fake, admin_chat="telegram:-100777")
    settings.backup = BackupSection(
        dir=str(tmp_path / "backups"),
        daily_at="02:30",
        keep=3,  # type: ignore[arg-type]
    )
    bot = await start_bot(settings, clock)  # 2026-11-23 02:00 UTC = 09:00 in Hà Nội
    try:

        async def planned(session: AsyncSession) -> bool:
            found = (await session.exec(select(Reminder).where(Reminder.kind == "backup"))).all()
            return [r.key for r in found] == ["backup:2026-11-24T02:30"]

        await until(bot.app, planned, timeout=10, failure="the daily backup was not planned")
        assert bot.background.leader is not None and bot.background.leader.is_leader
        assert bot.app.scheduler is not None
        clock.set(datetime(2026, 11, 23, 19, 30, tzinfo=UTC))  # 02:30 on the 24th, local
        assert await bot.app.scheduler.run_due() == 1
        assert [p.name for p in (tmp_path / "backups").iterdir()] == [
            "congdoan-20261123-193000Z.tar.gz"
        ]
        async with bot.app.db.session() as session:
            found = (await session.exec(select(Reminder).where(Reminder.kind == "backup"))).all()
        assert [(r.key, r.state) for r in found] == [
            ("backup:2026-11-24T02:30", "done"),
            ("backup:2026-11-25T02:30", "pending"),
        ]
        # the next night the backup directory cannot be written: the admin chat hears it
        (tmp_path / "backups").rename(tmp_path / "moved")
        (tmp_path / "backups").write_text("a file where the directory was")
        clock.set(datetime(2026, 11, 24, 19, 30, tzinfo=UTC))
        assert await bot.app.scheduler.run_due() == 1
        told = await fake.wait_for(-100777, contains="sao lưu dữ liệu tự động")
        assert "lúc 02:30 ngày 25/11/2026 không thành công" in told.body
        assert "backups là một tệp, không phải thư mục" in told.body
        assert "congdoan backup" in told.body
        async with bot.app.db.session() as session:
            found = (await session.exec(select(Reminder).where(Reminder.kind == "backup"))).all()
        assert [(r.key, r.state) for r in found][1:] == [
            ("backup:2026-11-25T02:30", "skipped"),
            ("backup:2026-11-26T02:30", "pending"),  # and it tries again the next night
        ]
    finally:
        await stop_bot(bot)


async def test_db_copy_on_the_command_line(tmp_path: Path, clock: FakeClock) -> None:
    """From a SQLite file to the test's database (PostgreSQL on the PostgreSQL pass)."""
    source = tmp_path / "site"
    write_site(source)
    sqlite_url = f"sqlite+aiosqlite:///{source / 'bot.db'}"
    only_sqlite = {"CONGDOAN_DATABASE_URL": sqlite_url}
    settings = make_settings(source)
    settings.database.url = sqlite_url
    app = await build_app(settings, clock)
    await seed(app, 5)
    await app.db.dispose()
    target = database_url(tmp_path / "target")
    copied = await congdoan(source, "db", "copy", "--to", target, env=only_sqlite)
    assert copied.returncode == 0, copied.stderr
    assert "số dòng từng bảng đã khớp" in copied.stdout
    assert await rows(target, Member) == await rows(sqlite_url, Member)
    again = await congdoan(source, "db", "copy", "--to", target, env=only_sqlite)
    assert again.returncode == 2
    assert "Cơ sở dữ liệu đích đã có dữ liệu" in again.stderr
    missing = await congdoan(source, "db", "copy", env=only_sqlite)
    assert missing.returncode == 2
    assert "Cần --to postgresql+asyncpg://" in missing.stderr


@pytest.mark.sqlite_only("another process holding the SQLite file open")
async def test_restore_refuses_while_another_process_has_the_sqlite_file_open(
    tmp_path: Path,
) -> None:
    """Seen without any lease: e.g. an intake-only `congdoan run --no-delivery`."""
    live = make_settings(tmp_path / "live")
    live.backup.dir = str(tmp_path / "backups")
    app = await build_app(live)
    await seed(app, 2)
    await app.db.dispose()
    taken = await take_backup(live)
    path = live.database.url.split(":///", 1)[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"open"
        with pytest.raises(RestoreRefused, match=f"tiến trình {holder.pid} đang mở tệp"):
            await restore_backup(live, taken.path)
    finally:
        holder.communicate(b"")
    done = await restore_backup(live, taken.path)  # once it is gone
    assert done.aside is not None


# Another process with the database open and idle: it says "open", then waits for stdin.
HOLD_OPEN = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM members").fetchone()
print("open", flush=True)
sys.stdin.read()
"""
