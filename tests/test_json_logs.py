"""`[logging] format = "json"`: one JSON object a line with the update's event id, platform and
handler; secrets masked in the message and in the exception's text; a file that rotates."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.clock import FakeClock
from tests.fakes.telegram import FakeTelegram
from tests.tg import LAN, start_bot, stop_bot, tg_settings

SECRET = "zalo-secret-token-value-1234"
TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # a Telegram token's shape


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """logs.setup replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = saved
    root.setLevel(level)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_json_line_carries_the_event_and_masks_secrets(
    tmp_path: Path, root_handlers: None
) -> None:
    file = tmp_path / "logs" / "congdoan.log"
    logs.setup([SECRET], file=file, json_lines=True)
    log = logging.getLogger("bot.test")
    with (
        logs.about(logs.EVENT_ID, "m1:501:77"),
        logs.about(logs.PLATFORM, "zalo"),
        logs.about(logs.HANDLER, "/hoso"),
    ):
        try:
            raise RuntimeError(f"refused {SECRET} at https://api.telegram.org/bot{TOKEN}/getMe")
        except RuntimeError:
            log.exception("call failed with %s", SECRET)
    log.warning("outside any update")
    text = file.read_text(encoding="utf-8")
    assert SECRET not in text and TOKEN not in text
    first, second = lines(file)
    assert first["level"] == "ERROR" and first["logger"] == "bot.test"
    assert first["message"] == "call failed with ***"
    assert (first["event_id"], first["platform"], first["handler"]) == (
        "m1:501:77",
        "zalo",
        "/hoso",
    )
    assert (
        "RuntimeError: refused *** at https://api.telegram.org/bot***/getMe" in first["exception"]
    )
    assert first["time"].endswith("+00:00")
    assert second["message"] == "outside any update" and "event_id" not in second


def test_the_log_file_rotates(tmp_path: Path, root_handlers: None) -> None:
    file = tmp_path / "congdoan.log"
    logs.setup([], file=file, json_lines=True, max_bytes=10_000, backup_count=2)
    log = logging.getLogger("bot.test")
    for n in range(600):
        log.info("line %d %s", n, "x" * 60)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["congdoan.log", "congdoan.log.1", "congdoan.log.2"]
    assert all(p.stat().st_size <= 10_000 for p in tmp_path.iterdir())
    assert lines(file)[-1]["message"].startswith("line 599 ")


async def test_lines_written_while_handling_an_update_name_it(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock, root_handlers: None
) -> None:
    file = tmp_path / "congdoan.log"
    bot = await start_bot(tg_settings(tmp_path, fake), clock)
    try:
        logs.setup([fake.token], file=file, json_lines=True)
        # A refused board command is logged (the router's access rule) with the update's ids.
        update = fake.user_sends(LAN, "/choduyet", first_name="Lan")
        await fake.wait_for(LAN, contains="Ban Chấp hành")
    finally:
        await stop_bot(bot)
    denied = [line for line in lines(file) if line["message"].startswith("access denied")]
    assert len(denied) == 1
    message_id = update["message"]["message_id"]
    bot_id = fake.token.split(":")[0]
    assert denied[0]["event_id"] == f"m{bot_id}:{LAN}:{message_id}"
    assert (denied[0]["platform"], denied[0]["handler"]) == ("telegram", "/choduyet")
    assert fake.token not in file.read_text(encoding="utf-8")
