"""A board member's chat at its pace holds up no update: the notices to it wait in the
background, and none is lost.

Telegram allows about one message a second in a private chat. When 40 people send their
registrations within a second, the board member gets 40 approval cards. If each person's update
waited for its card's turn, the waiting updates would fill every slot python-telegram-bot has
for concurrent updates (64), and then nobody would be answered."""

from __future__ import annotations

import asyncio

from bot.ratelimit import Limits, RateLimiter, Slot
from tests.fakes.telegram import FakeTelegram
from tests.tg import ADMIN, Bot, say
from tests.tg_flows import register_in_private

PEOPLE = {601: "Nguyễn Văn An", 602: "Trần Thị Bình", 603: "Lê Văn Cường"}
CARD = "Yêu cầu đăng ký đoàn viên mới"


class BoardChatAtItsPace(RateLimiter):
    """The bot's limiter, with one chat at its own limit until `opened` is set."""

    def __init__(self, limits: Limits, chat_id: str) -> None:
        super().__init__(limits)
        self.chat_id = chat_id
        self.opened = asyncio.Event()
        self.waiting = 0  # sends to that chat waiting for their turn

    def chat_would_wait(self, chat_id: str, *, is_group: bool = False, urgent: bool = True) -> bool:
        if chat_id == self.chat_id and not self.opened.is_set():
            return True
        return super().chat_would_wait(chat_id, is_group=is_group, urgent=urgent)

    async def acquire(self, chat_id: str, *, is_group: bool = False, urgent: bool = False) -> Slot:
        if chat_id == self.chat_id:
            self.waiting += 1
            await self.opened.wait()
            self.waiting -= 1
        return await super().acquire(chat_id, is_group=is_group, urgent=urgent)


async def test_registrations_are_answered_while_the_board_chat_is_at_its_pace(
    fake: FakeTelegram, bot: Bot
) -> None:
    pace = BoardChatAtItsPace(bot.adapter.limiter.limits, str(ADMIN))
    bot.adapter.limiter = pace
    try:
        mark = fake.mark()
        for person, name in PEOPLE.items():
            await say(fake, person, "/dangky SCT-VP", "Bước 2/8")
            await register_in_private(fake, person, name, f"0912000{person}")

        # Every update was handled to its end (not only answered) while no card could go out.
        await asyncio.wait_for(bot.adapter.application.update_queue.join(), timeout=10)
        assert pace.waiting == len(PEOPLE)
        assert cards(fake) == []

        # Someone else is answered at once, too.
        await say(fake, 604, "/trogiup", "/dangky")
    finally:
        pace.opened.set()  # (a failing test must not leave the bot stuck at its stop)

    # The board chat's turn comes: every card arrives, none twice.
    for name in PEOPLE.values():
        await fake.wait_for(ADMIN, contains=name, since=mark)
    await bot.app.wait_background()
    assert len(cards(fake)) == len(PEOPLE)


def cards(fake: FakeTelegram) -> list[str]:
    return [m.body for m in fake.messages_to(ADMIN) if CARD in m.body]
