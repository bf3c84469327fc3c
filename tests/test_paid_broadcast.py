"""Paid broadcasts on Telegram (`allow_paid_broadcast`): offered in the preview only where the
config enables them, with the time either way and the most they can cost; sent with the fee
through their own faster lane; and, when Telegram refuses the fee, the rest sent free, the
board told once, nobody left out and nobody reached twice."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.clock import FakeClock
from bot.config import ConfigError, load_settings
from models.broadcasts import Broadcast
from models.outbox import OutboxItem, OutboxMessage
from tests.fakes.telegram import PAID_BROADCAST_REFUSED, FakeTelegram
from tests.people import seed
from tests.settle import settled
from tests.tg import ADMIN, Bot, received, start_bot, stop_bot, tg_settings
from tests.tg_flows import compose

PAID = {"paid_broadcast": True}


def paid_flags(fake: FakeTelegram, chats: list[int]) -> list[bool]:
    wanted = {str(c) for c in chats} | set(chats)
    return [
        p.get("allow_paid_broadcast") in (True, "true")
        for p in fake.calls_of("sendMessage")
        if p.get("chat_id") in wanted
    ]


async def test_preview_offers_paid_sending_with_time_and_cost(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake, delivery=PAID), clock)
    try:
        chats = await seed(bot.app, 40)
        preview = await compose(fake, "Đại hội công đoàn cơ sở ngày 15/12.", "Tất cả đoàn viên")
        assert "⚡ Gửi nhanh (trả phí Telegram)" in preview.body
        # 40 / (30 × 0.975) s and 40 / (1000 × 0.975) s: both under a minute; 40 × 0.1 Star
        assert "xong trong khoảng dưới 1 phút thay vì dưới 1 phút" in preview.body
        assert "tốn tối đa 4 Sao Telegram (0,1 Sao mỗi tin)" in preview.body
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Gửi nhanh (trả phí)"))
        await fake.wait_for(ADMIN, contains="đang được gửi nhanh (trả phí) tới 40", since=mark)
        await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        assert received(fake, chats, "Đại hội công đoàn") == {c: 1 for c in chats}
        assert paid_flags(fake, chats) == [True] * 40
        assert fake.paid_sends == 40
        async with bot.app.db.session() as session:
            item = (await session.exec(select(Broadcast))).one()
        assert item.paid
    finally:
        await stop_bot(bot)


async def test_refused_fee_falls_back_to_the_free_pace_once(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    bot = await start_bot(tg_settings(tmp_path, fake, delivery=PAID), clock)
    try:
        chats = await seed(bot.app, 40)
        fake.stars_tenths = 5  # enough Stars for five paid sends
        preview = await compose(fake, "Lịch nghỉ Tết Nguyên đán.", "Tất cả đoàn viên")
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Gửi nhanh (trả phí)"))
        notice = await fake.wait_for(ADMIN, contains="Telegram không nhận gửi nhanh", since=mark)
        # Telegram's reason, as PTB gives it (without "Bad Request: ")
        reason = PAID_BROADCAST_REFUSED.removeprefix("Bad Request: ").capitalize()
        assert "Thông báo số 1" in notice.body and f"«{reason}»" in notice.body
        assert "Phần còn lại vẫn được gửi đầy đủ" in notice.body
        await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        await settled(bot.app)
        # everyone exactly once: five with the fee, the rest free
        assert received(fake, chats, "Lịch nghỉ Tết") == {c: 1 for c in chats}
        assert fake.paid_sends == 5
        accepted = [
            p for p in fake.calls_of("sendMessage") if "Lịch nghỉ Tết" in str(p.get("text"))
        ]
        free = [p for p in accepted if p.get("allow_paid_broadcast") not in (True, "true")]
        assert len(free) >= 35
        told = [m for m in fake.messages_to(ADMIN) if "Telegram không nhận gửi nhanh" in m.body]
        assert len(told) == 1  # however many sends were refused at once
        async with bot.app.db.session() as session:
            content = (await session.exec(select(OutboxMessage))).one()
            rows = (await session.exec(select(OutboxItem))).all()
        assert not content.paid and content.paid_refusal == reason
        assert sorted(r.state for r in rows) == ["sent"] * 40
        assert all(r.attempts <= 1 for r in rows)  # the refusal used up no attempt
    finally:
        await stop_bot(bot)


async def test_not_offered_when_disabled_and_forged_press_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    chats = await seed(bot.app, 40)
    preview = await compose(fake, "Thông báo thường.", "Tất cả đoàn viên")
    assert "Gửi nhanh" not in preview.body
    assert all("Gửi nhanh" not in label for label, _ in preview.buttons())
    # a press made up from another bot's preview: told, nothing queued
    mark = fake.mark()
    forged = preview.button("Xác nhận gửi").replace(":go", ":gopaid")
    fake.user_presses(ADMIN, preview, forged)
    await fake.wait_for(ADMIN, contains="Gửi nhanh có trả phí hiện không được bật", since=mark)
    async with bot.app.db.session() as session:
        assert (await session.exec(select(Broadcast))).all() == []
    # the preview still works the normal way
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
    assert paid_flags(fake, chats) == [False] * 40


def test_paid_broadcast_is_telegram_only(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[delivery.zalo]\npaid_broadcast = true\n", encoding="utf-8")
    try:
        load_settings(config)
    except ConfigError as exc:
        assert "paid_broadcast chỉ có trên Telegram" in str(exc)
    else:
        raise AssertionError("paid_broadcast on Zalo was accepted")
