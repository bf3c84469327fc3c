"""The console as a chat: its own words follow the person's language, log lines stay out of the
chat (they go to a file), and the start banner greets the registered member by name."""

from __future__ import annotations

import io
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from tests.cli import run_cli, write_config
from tests.conftest import ConsoleUser
from tests.people import add_member


async def test_console_hints_follow_english(console: ConsoleUser) -> None:
    out = await console.say("/ngonngu")
    assert "(gõ số để chọn)" in out
    assert "Switched to English" in await console.say("2")
    out = await console.say("/ngonngu")
    assert "(type a number to choose)" in out and "gõ số" not in out
    out = await console.say(":trogiup")
    assert "Console commands" in out and "Lệnh console" not in out
    out = await console.say(":nguoi")
    assert "Usage" in out and "Cách dùng" not in out


async def test_banner_and_switch_show_the_registered_name(app: App, tmp_path: Path) -> None:
    member = await add_member(app, "Nguyễn Thị Lan", "SCT-VP", "+84912345678")
    async with app.db.session() as session:
        from models import members

        ident = await members.ensure_identity(session, "console", "2001", "Khách")
        ident.member_id = member.id
        await session.commit()
    out = io.StringIO()
    adapter = ConsoleAdapter(app, "2001", "Khách", out=out, export_dir=tmp_path / "exports")
    app.add_adapter(adapter)
    await adapter.run(io.StringIO(":nguoi 1 Quản trị\n:nguoi 2001\n:thoat\n"))
    text = out.getvalue()
    assert "console:2001 (Nguyễn Thị Lan)" in text.splitlines()[0], text
    assert "console:1 (Quản trị)" in text
    assert text.count("console:2001 (Nguyễn Thị Lan)") == 2, text


def test_console_keeps_log_lines_out_of_the_chat(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_cli(
        "--config",
        str(config),
        "console",
        "--user",
        "1001",
        "--name",
        "Lan",
        cwd=tmp_path,
        stdin="/doanvien\n/start\n:thoat\n",
    )
    assert result.returncode == 0, result.stderr
    assert "chỉ dành cho Ban Chấp hành" in result.stdout
    chat = result.stdout + result.stderr
    assert "WARNING" not in chat and "INFO" not in chat and "access denied" not in chat, chat
    log = (tmp_path / "data" / "console.log").read_text(encoding="utf-8")
    assert "access denied: console:1001 tried /doanvien" in log
    assert "data/console.log" in result.stdout  # the banner says where the log goes
