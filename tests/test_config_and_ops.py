"""Configuration validation, secrets in logs, the message catalog and the admin CLI."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_settings
from bot.i18n import CATALOGS, placeholders
from bot.logs import RedactSecrets
from tests.cli import ROOT, cli_env, run_cli, write_config
from tests.databases import database_url, on_postgresql


def test_example_config_is_valid_and_defaults_are_sane() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.bot.language == "vi"
    assert settings.bot.timezone == "Asia/Ho_Chi_Minh"
    assert settings.database.url.endswith("/data/congdoan.db")
    assert not settings.telegram.enabled


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"telegram": {"mode": "push"}}, "telegram.mode"),
        ({"bot": {"timezone": "Mars/Base"}}, "bot.timezone"),
        ({"bot": {"langauge": "vi"}}, "bot.langauge"),
        ({"bot": {"admins": ["123"]}}, "bot.admins"),
        ({"units": [{"code": "A", "name": "x"}]}, "units.0.code"),
        ({"units": [{"code": "AB", "name": "Tổ", "parent": "ZZ"}]}, "units[0].parent"),
        ({"telegram": {"token": "1:x", "mode": "webhook"}}, "telegram.webhook_url"),
    ],
)
def test_bad_config_names_the_key(data: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    assert named in str(caught.value)


def test_secrets_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGDOAN_TELEGRAM_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ123")
    settings = parse_settings({})
    assert settings.telegram.enabled
    assert "ABCDEFGHIJ" not in repr(settings)  # SecretStr hides it even in reprs


def test_tokens_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets(["supersecretwebhook"]))
    with caplog.at_level(logging.INFO):
        logger.info("POST https://api.telegram.org/bot%s/getUpdates", token)
        logger.info("secret is %s", "supersecretwebhook")
    assert token not in caplog.text and "supersecretwebhook" not in caplog.text
    assert "***" in caplog.text


def test_catalogs_have_same_keys_and_placeholders() -> None:
    vi, en = CATALOGS["vi"], CATALOGS["en"]
    assert vi.keys() == en.keys()
    assert [k for k in vi if placeholders(vi[k]) != placeholders(en[k])] == []


def test_every_message_key_used_in_code_exists() -> None:
    import re

    used: set[str] = set()
    for folder in ("bot", "handlers"):
        for file in (ROOT / folder).rglob("*.py"):
            used |= set(
                re.findall(r"""t\(\s*["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", file.read_text())
            )
    missing = sorted(k for k in used if k not in CATALOGS["vi"])
    assert missing == []


def query_one(tmp_path: Path, sql: str) -> object:
    """One value from the database the CLI wrote to (config.toml's in tmp_path)."""
    from sqlalchemy import create_engine, text

    from models.db import sync_url

    url = database_url(tmp_path) if on_postgresql() else f"sqlite:///{tmp_path}/data/congdoan.db"
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_cli_check_db_units_and_console(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Cấu hình hợp lệ" in result.stdout
    assert re.search(r"phiên bản (\w+) \(mới nhất \1\)", result.stdout)  # migrated to head
    # relative to config.toml; on PostgreSQL the environment's URL wins
    assert (tmp_path / "data" / "congdoan.db").exists() is not on_postgresql()
    result = run_cli(
        "--config",
        str(config),
        "units",
        "add",
        "--code",
        "SCT-TC",
        "--name",
        "Tổ công đoàn Tài chính",
        "--parent",
        "SCT",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_cli("--config", str(config), "units", cwd=tmp_path)
    assert "SCT-VP" in result.stdout and "  SCT-TC" in result.stdout
    result = run_cli(
        "--config",
        str(config),
        "console",
        "--user",
        "1001",
        "--name",
        "Lan",
        cwd=tmp_path,
        stdin="/start\nNguyễn Thị Lan\n:thoat\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Bước 1/8" in result.stdout


def test_cli_reports_bad_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "\n[extra]\nkey = 1\n")
    result = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "extra" in result.stderr


def test_cli_import_and_export(tmp_path: Path) -> None:
    from openpyxl import Workbook, load_workbook

    config = write_config(tmp_path)
    roster = tmp_path / "ds.xlsx"
    wb = Workbook()
    wb.active.append(["Họ và tên", "Số điện thoại", "Mã đơn vị"])
    wb.active.append(["Nguyễn Thị Lan", "0912345678", "SCT-VP"])
    wb.save(roster)
    result = run_cli("--config", str(config), "members", "import", str(roster), cwd=tmp_path)
    assert "1 mới" in result.stdout, result.stdout + result.stderr
    out = tmp_path / "out.xlsx"
    result = run_cli("--config", str(config), "members", "export", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(load_workbook(out).active.iter_rows(min_row=4, values_only=True))
    assert [(r[1], r[4], r[7]) for r in rows] == [("Nguyễn Thị Lan", "0912 345 678", "SCT-VP")]


def test_cli_opens_a_campaign_from_a_file(tmp_path: Path) -> None:
    from datetime import date, timedelta

    config = write_config(tmp_path)
    deadline = date.today() + timedelta(days=40)
    example = (ROOT / "docs" / "thidua-2027.example.toml").read_text(encoding="utf-8")
    campaign = example.replace("year = 2027", f"year = {deadline.year}").replace(
        "deadline = 2027-01-31", f"deadline = {deadline.isoformat()}"
    )

    def open_with(text: str) -> subprocess.CompletedProcess[str]:
        file = tmp_path / "thidua.toml"
        file.write_text(text, encoding="utf-8")
        return run_cli("--config", str(config), "thidua", "mo", "--file", str(file), cwd=tmp_path)

    result = open_with(campaign.replace('"TCDVM", ', '"TCDVM", "KHONGCO", '))
    assert result.returncode == 2 and "titles: không có danh hiệu KHONGCO" in result.stdout
    result = open_with(campaign.replace('title = "SANGKIEN"', 'title = "LDGLDST"'))
    assert result.returncode == 2 and "targets[2].title" in result.stdout
    result = open_with(campaign.replace(deadline.isoformat(), "2020-01-31"))
    assert result.returncode == 2 and "deadline" in result.stdout
    result = open_with(campaign)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 danh hiệu, 3 chỉ tiêu" in result.stdout
    result = open_with(campaign)
    assert result.returncode == 2 and "đã có phong trào thi đua" in result.stdout
    titles = query_one(tmp_path, "SELECT titles_json FROM emulation_campaigns")
    timers = query_one(tmp_path, "SELECT count(*) FROM reminders WHERE kind='emulation_deadline'")
    assert "Có sáng kiến được công nhận" in str(titles) and timers == 2


async def test_cli_run_serves_zalo_and_stops_cleanly(tmp_path: Path) -> None:
    """`congdoan run` with only Zalo configured: answers on Zalo, serves /healthz, and a wrong
    token stops it with a plain message."""
    import asyncio
    import signal
    import socket

    import httpx

    from tests.fakes.zalo import FakeZalo

    fake = FakeZalo()
    await fake.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = config.replace("[zalo]\n# Bot token", f'[zalo]\nbase_url = "{fake.base_url}"\n# Bot')
    config = config.replace('base_url = "https://bot-api.zaloplatforms.com"\n', "")
    config = config.replace('public_url = ""', 'public_url = "https://congdoan.test"')
    config = config.replace(
        'listen = "0.0.0.0"\nport = 8080', f'listen = "127.0.0.1"\nport = {port}'
    )
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    env = {**cli_env(tmp_path), "CONGDOAN_ZALO_TOKEN": fake.token}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(tmp_path / "config.toml"),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.user_sends("4242", "/start")
        try:
            reply = await fake.wait_for("4242", contains="Bước 1/8", timeout=30)
        except AssertionError:
            if process.returncode is not None:
                raise AssertionError((await process.communicate())[1].decode()) from None
            raise
        assert "Trả lời 1" in reply.body
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200, health.text  # every part well
        assert health.json()["apps"]["apps"]["zalo"]["mode"] == "polling"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
        await fake.stop()
    assert process.returncode == 0, err.decode()
    assert fake.token not in err.decode()  # the token never reaches the log
    env["CONGDOAN_ZALO_TOKEN"] = "wrong-token"
    fake2 = FakeZalo()
    await fake2.start()
    try:
        config2 = config.replace(fake.base_url, fake2.base_url)
        (tmp_path / "config.toml").write_text(config2, encoding="utf-8")
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "--config", str(tmp_path / "config.toml"), "run"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        await fake2.stop()
    assert result.returncode == 2 and "Token Zalo bị từ chối" in result.stderr
