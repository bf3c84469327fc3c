"""Choosing emulation titles: after a refusal the selection is kept and shown again, and in the
console "1,4" presses two numbered choices, as on Zalo."""

from __future__ import annotations

from datetime import date

import pytest

from bot.app import App
from bot.chat import Button, Event, Message
from tests.conftest import ConsoleUser
from tests.fakes.telegram import FakeTelegram
from tests.people import seed, set_join_dates
from tests.tg import Bot, say
from tests.tg_flows import launch


async def test_refusal_keeps_the_selection_and_shows_the_choices_again(
    fake: FakeTelegram, bot: Bot
) -> None:
    chats = await seed(bot.app, 3)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
    fake.user_presses(chats[0], choices, choices.button("Chiến sĩ thi đua"))
    await fake.wait_for_edit(chats[0], contains="✅ Chiến sĩ thi đua")
    mark = fake.mark()
    fake.user_presses(chats[0], choices, choices.button("Tiếp tục"))
    again = await fake.wait_for(chats[0], contains="cần đăng ký kèm", since=mark)
    # the choices come again with what was ticked, ready to add the missing title
    assert "✅ Chiến sĩ thi đua" in again.body
    assert again.button("Lao động tiên tiến") is not None
    fake.user_presses(chats[0], again, again.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[0], contains="✅ Lao động tiên tiến")


async def test_console_presses_several_numbers(
    app: App, console: ConsoleUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = [[Button(label, f"v1:x:{label}")] for label in ("A", "B", "C", "D")]
    await console.adapter.send("1001", Message("Chọn", buttons=options))
    pressed: list[str | None] = []

    async def record(event: Event) -> None:
        pressed.append(event.payload)

    monkeypatch.setattr(app, "handle", record)
    await console.say("1,4")
    assert pressed == ["v1:x:A", "v1:x:D"]
    pressed.clear()
    await console.say("1, 9")  # a number that is not offered: plain text, nothing pressed
    assert pressed == [None]
