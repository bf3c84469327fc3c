"""`congdoan run` when it cannot start: a rejected token, an unreachable API server or a
read-only database give one plain line and exit code 2, and no secret reaches the output."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import logs
from bot.adapters.telegram import TelegramAdapter
from bot.clock import FakeClock
from bot.runtime import build_app
from bot.startup_errors import explain
from tests.fakes.telegram import FakeTelegram
from tests.tg import LAN, tg_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def write_config(tmp_path: Path, base_url: str) -> Path:
    config = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = config.replace('base_url = "https://api.telegram.org/bot"', f'base_url = "{base_url}"')
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


def run(tmp_path: Path, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "CONGDOAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/congdoan.db",
            **env,
        },
    )


async def test_rejected_token_is_one_plain_line(tmp_path: Path, fake: FakeTelegram) -> None:
    config = write_config(tmp_path, fake.base_url)
    result = await asyncio.to_thread(run, tmp_path, config, CONGDOAN_TELEGRAM_TOKEN=TOKEN)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Telegram từ chối token" in result.stderr
    assert "Traceback" not in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_unreachable_api_is_one_plain_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/bot")  # nothing listens on port 9
    result = run(tmp_path, config, CONGDOAN_TELEGRAM_TOKEN=TOKEN)
    assert result.returncode == 2, result.stderr
    assert "Không kết nối được tới máy chủ Telegram" in result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


def test_read_only_database_is_one_plain_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "congdoan.db"
    sqlite3.connect(database).execute("CREATE TABLE placeholder (x)").connection.close()
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(database)]).returncode != 0:
        pytest.skip("cannot make a file read-only for root here (chattr +i)")
    try:
        config = write_config(tmp_path, "http://127.0.0.1:9/bot")
        result = run(tmp_path, config, CONGDOAN_TELEGRAM_TOKEN=TOKEN)
    finally:
        subprocess.run([chattr, "-i", str(database)])
    assert result.returncode == 2, result.stderr
    assert "cơ sở dữ liệu chỉ đọc" in result.stderr and "Traceback" not in result.stderr


def test_tracebacks_in_logs_are_masked() -> None:
    redactor = logs.RedactSecrets(["s3cret-webhook-value"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.RedactingFormatter(redactor, "%(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"The token '{TOKEN}' was rejected (s3cret-webhook-value)")
        except RuntimeError:
            logger.exception("start failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "was rejected" in text
    assert TOKEN not in text and "s3cret-webhook-value" not in text


def test_uncaught_tracebacks_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """An exception no one catches (a bug at start-up) prints its traceback through the hook
    logs.setup installs: the traceback stays, the token and secrets do not."""
    saved = sys.excepthook
    try:
        logs.install_excepthook(logs.RedactSecrets(["s3cret-webhook-value"]))
        try:
            raise RuntimeError(f"The token '{TOKEN}' was rejected (s3cret-webhook-value)")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = saved
    text = capsys.readouterr().err
    assert "Traceback" in text and "was rejected" in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "s3cret-webhook-value" not in text


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (sqlite3.OperationalError("database or disk is full"), "cơ sở dữ liệu đầy ổ đĩa"),
        (OSError(28, "No space left on device"), "cơ sở dữ liệu đầy ổ đĩa"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "chỉ đọc"),
        (PermissionError(13, "Permission denied"), "không có quyền ghi"),
    ],
)
def test_a_full_or_unwritable_database_disk_is_one_plain_line(
    error: BaseException, said: str
) -> None:
    """What `congdoan run` prints (exit code 2) when the database's disk is full or cannot be
    written; wrapped as SQLAlchemy wraps it. Filling a real disk is not done here."""
    try:
        try:
            raise error
        except BaseException as inner:
            raise RuntimeError("migration failed") from inner
    except RuntimeError as outer:
        line = explain(outer)
    assert line is not None and said in line and "\n" not in line
    assert explain(RuntimeError("a bug")) is None


async def test_failed_command_menus_do_not_stop_the_start(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    fake.fail_next("setMyCommands", error_code=500, description="Internal Server Error")
    settings = tg_settings(tmp_path, fake)
    app = await build_app(settings, clock)
    adapter = TelegramAdapter(app, settings.telegram, settings.delivery.telegram.limits())
    adapter.menu_retry_base = 0.01
    app.add_adapter(adapter)
    await adapter.start(polling=True, poll_timeout=1)
    try:
        mark = fake.mark()
        fake.user_sends(LAN, "/trogiup")
        await fake.wait_for(LAN, contains="Các lệnh anh/chị có thể dùng", since=mark)
        # the menus arrive a moment later, from the background retry
        await fake.wait_until(
            lambda: bool(fake.commands_for({"type": "all_private_chats"})), what="menus set"
        )
    finally:
        await adapter.stop()
        await app.db.dispose()
