"""The web pages' way in on Telegram, through python-telegram-bot against the fake Bot API:
with an https public address the bot's menu button opens the web home as a Mini App
(setChatMenuButton with a MenuButtonWebApp, https://core.telegram.org/bots/api#setchatmenubutton),
and /dangky offers the form as a `web_app` inline button (InlineKeyboardButton.web_app, allowed
in private chats: https://core.telegram.org/bots/api#inlinekeyboardbutton)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.clock import FakeClock
from tests.fakes.telegram import FakeTelegram
from tests.tg import LAN, start_bot, stop_bot, tg_settings

PUBLIC = "https://congdoan.example.vn"


def _menu_button(call: dict[str, Any]) -> dict[str, Any]:
    value = call["menu_button"]
    return json.loads(value) if isinstance(value, str) else value


async def test_the_menu_button_and_dangky_open_the_mini_app(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake, web={"public_url": PUBLIC}), clock)
    try:
        [call] = fake.calls_of("setChatMenuButton")
        assert _menu_button(call) == {
            "type": "web_app",
            "text": "Mở trang",
            "web_app": {"url": f"{PUBLIC}/web/tg?next=/web"},
        }
        mark = fake.mark()
        fake.user_sends(LAN, "/dangky", first_name="Lan")
        welcome = await fake.wait_for(LAN, contains="Chào anh/chị", since=mark)
        assert welcome.button("Điền biểu mẫu") == f"{PUBLIC}/web/tg?next=/web/dangky"
        markup = welcome.reply_markup
        assert markup is not None
        assert "web_app" in markup["inline_keyboard"][0][0]
    finally:
        await stop_bot(bot)


async def test_without_https_there_is_no_mini_app(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake, web={"public_url": "http://10.0.0.5:8080"})
    bot = await start_bot(settings, clock)
    try:
        assert fake.calls_of("setChatMenuButton") == []
        mark = fake.mark()
        fake.user_sends(LAN, "/dangky", first_name="Lan")
        welcome = await fake.wait_for(LAN, contains="Chào anh/chị", since=mark)
        assert welcome.button("Điền biểu mẫu").startswith("http://10.0.0.5:8080/web/in/")
    finally:
        await stop_bot(bot)
