"""Telling a redelivery from a fresh update: Telegram's update_id restarts with a new token (and
may jump after a quiet week), so a fresh message that happens to reuse an old update_id is
handled, while a true redelivery is still handled once."""

from __future__ import annotations

import copy

from tests.fakes.telegram import FakeTelegram
from tests.tg import LAN, Bot, handled


async def test_reused_update_id_with_a_new_message_is_handled(fake: FakeTelegram, bot: Bot) -> None:
    first = fake.user_sends(LAN, "/dangky SCT-VP")
    await fake.wait_for(LAN, contains="Bước 2/8")
    # the counter restarted: a new message arrives under the old update_id
    fresh = copy.deepcopy(first)
    fresh["message"]["message_id"] += 1000
    fresh["message"]["text"] = "Nguyễn Thị Lan"
    fresh["message"].pop("entities", None)
    fake.queue_raw_update(fresh)
    await fake.wait_for(LAN, contains="Bước 3/8")
    # a true redelivery of the first message is still dropped
    fake.queue_raw_update(first)
    await handled(bot, fake)
    assert len([m for m in fake.messages_to(LAN) if "Bước 2/8" in m.body]) == 1
    assert len([m for m in fake.messages_to(LAN) if "Bước 3/8" in m.body]) == 1
