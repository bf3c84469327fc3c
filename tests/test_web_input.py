"""The web server under bad input: odd download links, malformed or hostile webhook bodies and
oversized ones get 400/403/413, never a 500, and the bot goes on answering."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.runtime import build_app
from bot.web import MAX_BODY_BYTES, build_web_app
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.tg import LAN

SECRET = "s3cret-webhook-value"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def update(update_id: int, text: str, **message: Any) -> dict[str, Any]:
    body = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": LAN, "type": "private"},
        "from": {"id": LAN, "is_bot": False, "first_name": "Lan"},
        "text": text,
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": {**body, **message}}


@pytest.fixture
async def web(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, App]]:
    settings = make_settings(
        tmp_path,
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "mode": "webhook",
            "webhook_url": "https://bot.example.org/telegram/webhook",
            "webhook_secret": SECRET,
        },
    )
    app = await build_app(settings, clock)
    adapter = TelegramAdapter(app, settings.telegram)
    app.add_adapter(adapter)
    await adapter.start(polling=False)
    transport = httpx.ASGITransport(app=build_web_app(adapter, SECRET, app=app))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client, app
    await adapter.stop()
    await app.db.dispose()


@pytest.mark.parametrize(
    "query",
    [
        "exp=%C2%B2&sig=abc",  # "²" passes str.isdigit()
        "exp=%D9%A3%D9%A3&sig=abc",  # Arabic-Indic digits
        "exp=99999999999999999999999999&sig=abc",
        "exp=9999999999&sig=%C3%A9%C3%A9",  # a non-ASCII signature
        "exp=&sig=",
    ],
)
async def test_odd_download_links_are_refused(
    web: tuple[httpx.AsyncClient, App], query: str
) -> None:
    client, _app = web
    answer = await client.get(f"/f/abc123/file.xlsx?{query}")
    assert answer.status_code == 403


async def test_hostile_webhook_bodies_get_4xx_and_the_bot_goes_on(
    web: tuple[httpx.AsyncClient, App], fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    client, _app = web
    deep = b"[" * 100_000 + b"]" * 100_000
    bodies: list[bytes | dict[str, Any]] = [
        {"update_id": 1, "message": "x"},
        {"update_id": "2", "message": {}},
        {"update_id": 3, "message": {"message_id": 1, "chat": None, "date": "x"}},
        deep,
        b"\xff\xfe not utf-8",
        b"[]",
    ]
    for body in bodies:
        if isinstance(body, bytes):
            answer = await client.post("/telegram/webhook", content=body, headers=HEADERS)
        else:
            answer = await client.post("/telegram/webhook", json=body, headers=HEADERS)
        assert answer.status_code == 400, body if isinstance(body, dict) else body[:20]
    # a message with no sender is accepted and ignored
    nobody = update(10, "/trogiup", **{"from": None})
    assert (await client.post("/telegram/webhook", json=nobody, headers=HEADERS)).status_code == 200
    # a body past the cap is refused before it is read whole
    huge = b'{"update_id": 4, "x": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}'
    answer = await client.post("/telegram/webhook", content=huge, headers=HEADERS)
    assert answer.status_code == 413
    # the bot still answers the next real update, and nothing failed on the way
    caplog.set_level(logging.ERROR)
    ok = await client.post("/telegram/webhook", json=update(11, "/trogiup"), headers=HEADERS)
    assert ok.status_code == 200
    await fake.wait_for(LAN, contains="Các lệnh anh/chị có thể dùng")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
