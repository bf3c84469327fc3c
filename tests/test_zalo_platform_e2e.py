"""Zalo as its official documentation describes it, against the fake Zalo Bot API: the error
table (400/404 final, 401 stops Zalo, 403/408 retried, 429 a quota), bots that may not join
groups (getMe's can_join_groups), webhook calls without an update, and `congdoan check`."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot import admin_cli
from bot.clock import FakeClock
from bot.web import MAX_BODY_BYTES, build_web_app
from models import groups, units
from models.outbox import OutboxItem
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.people import seed
from tests.settle import until
from tests.tg import ADMIN, GROUP, press, say
from tests.tg_flows import compose
from tests.zl import (
    PUBLIC_URL,
    ZADMIN,
    ZBot,
    reports_to,
    run_clock_until,
    start_zbot,
    stop_zbot,
    zalo_settings,
    zbroadcast,
    zhandled,
    zsay,
    zseed,
)


async def _states(bot: ZBot) -> Counter[str]:
    async with bot.app.db.session() as session:
        return Counter((await session.exec(select(OutboxItem.state))).all())


async def test_408_on_a_send_is_retried_400_and_404_fail_at_once(
    zfake: FakeZalo, zbot: ZBot, clock: FakeClock
) -> None:
    """408 "Request timeout" on a send was final before; the table lists it as a timeout
    on Zalo's side: retried with backoff. 400 and 404 are the message's own fault: no retry."""
    people = await zseed(zbot.app, 3)
    zfake.fail_next("sendMessage", 408, chat_id=people[0], times=2)
    zfake.fail_next("sendMessage", 400, chat_id=people[1])
    zfake.fail_next("sendMessage", 404, chat_id=people[2])
    await zbroadcast(zfake, "Họp tổ sáng thứ Hai.")
    await run_clock_until(zbot.app, clock, reports_to(zfake, ZADMIN), what="the report")
    report = await zfake.wait_for(ZADMIN, contains="đã gửi xong")
    assert "1/3 đã nhận — 2 lỗi" in report.body
    tried = Counter(b["chat_id"] for b in zfake.calls_of("sendMessage") if b["chat_id"] in people)
    assert tried == {people[0]: 3, people[1]: 1, people[2]: 1}
    assert await _states(zbot) == {"sent": 1, "failed": 2}


async def test_401_stops_zalo_with_a_plain_message_and_keeps_rows_queued(
    fake: FakeTelegram,
    zfake: FakeZalo,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = zalo_settings(
        tmp_path,
        zfake,
        telegram=fake,
        admin_chat=f"telegram:{ADMIN}",
        zalo_delivery={"concurrency": 1},
    )
    bot = await start_zbot(settings, clock)
    try:
        people = await zseed(bot.app, 3)
        zfake.fail_next("sendMessage", 401, chat_id=people[0])
        with caplog.at_level(logging.ERROR):
            await zbroadcast(zfake, "Kế hoạch nghỉ mát.")
            worker = next(w for w in bot.app.workers if getattr(w, "platform", "") == "zalo")
            await until(
                bot.app,
                lambda _s: _true(worker.halted is not None and not bot.zalo.polling),
                timeout=10,
                failure="Zalo did not stop on 401",
            )
        assert bot.zalo.halted is not None and "zalo***" in bot.zalo.halted
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "Token Zalo bị từ chối (401" in logged and "Zalo refused the bot token" in logged
        assert zfake.token not in logged
        # nothing was failed or marked unreachable: the rows wait for a fixed token
        states = await _states(bot)
        assert set(states) <= {"queued", "sent"} and states["queued"] >= 1
        assert not [m for m in zfake.messages_to(people[0]) if "nghỉ mát" in m.body]
        told = await fake.wait_for(ADMIN, contains="Zalo từ chối token của bot (401")
        assert "vẫn chờ trong hàng đợi" in told.body and zfake.token not in told.body
    finally:
        await stop_zbot(bot)


async def _true(value: bool) -> bool:
    return value


async def test_401_while_polling_stops_the_polling(zfake: FakeZalo, zbot: ZBot) -> None:
    zfake.fail_next("getUpdates", 401)
    await until(
        zbot.app, lambda _s: _true(not zbot.zalo.polling), timeout=10, failure="still polling"
    )
    assert zbot.zalo.halted is not None


async def test_used_up_quota_pauses_zalo_tells_the_board_and_resumes_telegram_goes_on(
    fake: FakeTelegram, zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    settings = zalo_settings(
        tmp_path,
        zfake,
        telegram=fake,
        admin_chat=f"telegram:{ADMIN}",
        zalo_delivery={
            "quota_first_pause_seconds": 10,
            "quota_max_pause_minutes": 2,
            "quota_pause_after_minutes": 1,
        },
    )
    bot = await start_zbot(settings, clock)
    try:
        chats = await seed(bot.app, 3)
        zusers = await zseed(bot.app, 4)
        zfake.quota_left = 1  # then every send is refused: "Quota exceeded"
        preview = await compose(fake, "Đại hội công đoàn ngày 20/12.", "Tất cả đoàn viên")
        assert "Sẽ gửi tới: 7 đoàn viên" in preview.body
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))

        def told(text: str) -> bool:
            return any(text in m.body for m in fake.sent[mark:] if m.chat_id == ADMIN)

        await run_clock_until(
            bot.app, clock, lambda: told("Bot tạm ngừng gửi tin qua Zalo"), what="the notice"
        )
        notice = await fake.wait_for(ADMIN, contains="Zalo báo đã hết hạn mức gửi tin", since=mark)
        assert "không tin nào bị mất" in notice.body
        # the progress message says it too, under the figures
        await fake.wait_for_edit(ADMIN, contains="các tin qua Zalo đang chờ trong hàng đợi")
        # Telegram went on meanwhile; on Zalo one got it, the rest wait in the queue
        for chat in chats:
            await fake.wait_for(chat, contains="Đại hội công đoàn", since=mark)
        zgot = [len([m for m in zfake.messages_to(u) if "Đại hội" in m.body]) for u in zusers]
        assert sum(zgot) == 1
        assert (await _states(bot))["queued"] == 3
        # a new day: Zalo takes messages again and the rest goes out by itself, once each
        zfake.quota_left = None
        await run_clock_until(
            bot.app, clock, lambda: told("đã gửi xong"), step=30, what="the report"
        )
        zgot = [len([m for m in zfake.messages_to(u) if "Đại hội" in m.body]) for u in zusers]
        assert zgot == [1, 1, 1, 1]
        assert told("Zalo đã nhận tin trở lại")
        report = await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        assert "7/7 đã nhận" in report.body
        assert zfake.quota_refusals <= 12  # a few probes, not every row again and again
    finally:
        await stop_zbot(bot)


async def test_zalo_without_groups_offers_no_group_features(
    fake: FakeTelegram, zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    """getMe says can_join_groups false (ordinary bots): a group message gets one polite
    line and changes nothing; announcements "to the linked groups" skip Zalo groups and the
    preview says so. (The tests that link and poll Zalo groups set it True.)"""
    bot = await start_zbot(zalo_settings(tmp_path, zfake, telegram=fake), clock)
    try:
        assert bot.zalo.can_join_groups is False
        mention = "@" + bot.zalo.username + " "
        note = await zsay(
            zfake,
            ZADMIN,
            mention + "/lienketnhom SCT-VP",
            "chưa hoạt động được trong nhóm",
            chat_id="zg-9",
            group=True,
        )
        assert "nhắn riêng cho bot" in note.body
        zfake.user_sends(
            ZADMIN, mention + "/binhchon Đi đâu? | Biển | Núi", chat_id="zg-9", group=True
        )
        await zhandled(zfake, bot.zalo, bot.app)
        assert len(zfake.messages_to("zg-9")) == 1  # told once; no poll, no link
        async with bot.app.db.session() as session:
            assert await groups.find(session, "zalo", "zg-9") is None
            # a Zalo group linked earlier (when bots could join, say) stays out of sends
            unit = await units.by_code(session, "SCT-VP")
            assert unit is not None
            old = await groups.seen(session, "zalo", "zg-old", "Tổ Văn phòng (Zalo)")
            old.unit_id = unit.id
            await session.commit()
        fake.bot_added_to_group(GROUP, by_user_id=ADMIN, title="Tổ Văn phòng")
        await say(
            fake,
            ADMIN,
            "/lienketnhom SCT-VP",
            "đã được liên kết",
            chat_id=GROUP,
            chat_type="group",
            chat_title="Tổ Văn phòng",
        )
        await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
        units_msg = await say(fake, ADMIN, "Thông báo cho các nhóm", "Gửi cho đơn vị nào")
        aud = await press(fake, ADMIN, units_msg, "Tổ công đoàn Văn phòng", "Gửi cho ai")
        when = await press(fake, ADMIN, aud, "Các nhóm chat", "Gửi ngay hay hẹn giờ")
        pin = await press(fake, ADMIN, when, "Gửi ngay", "Ghim thông báo")
        preview = await press(fake, ADMIN, pin, "Không ghim", "Sẽ gửi tới: 1 nhóm chat")
        assert "1 nhóm Zalo sẽ không nhận được" in preview.body
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        await fake.wait_for(GROUP, contains="Thông báo cho các nhóm", since=mark)
        assert not zfake.messages_to("zg-old")
        async with bot.app.db.session() as session:
            rows = (await session.exec(select(OutboxItem.platform, OutboxItem.chat_id))).all()
        assert [tuple(r) for r in rows] == [("telegram", str(GROUP))]
    finally:
        await stop_zbot(bot)


def start_update(user: str, message_id: str) -> dict[str, object]:
    """A webhook's update: `user` types /start in private."""
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": user, "display_name": "Hà", "is_bot": False},
            "chat": {"id": user, "chat_type": "PRIVATE"},
            "text": "/start",
            "message_id": message_id,
            "date": 1750316131602,
        },
    }


async def test_hostile_zalo_webhook_bodies_get_4xx_or_are_ignored(
    zfake: FakeZalo, zbot: ZBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Zalo's webhook under the bodies that gave 500s on Telegram's (issue 12, item 6): JSON
    nested thousands deep is 400, a body past the cap 413 without being read whole, JSON that
    is not an update (a list, a string, a message that is text) is answered and ignored; nothing
    is logged at ERROR and the next real update is handled."""
    zbot.settings.zalo.webhook_secret = SecretStr("s3cret-zalo-hook")
    web = build_web_app(None, "", zalo=zbot.zalo, app=zbot.app)
    headers = {"X-Bot-Api-Secret-Token": "s3cret-zalo-hook"}
    caplog.set_level(logging.WARNING)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        deep = b"[" * 100_000 + b"]" * 100_000
        answer = await client.post("/zalo/webhook", content=deep, headers=headers)
        assert answer.status_code == 400
        huge = b'{"result": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}'
        answer = await client.post("/zalo/webhook", content=huge, headers=headers)
        assert answer.status_code == 413
        for body in (
            [1, 2],
            "x",
            {"result": {"event_name": "message.text.received", "message": "x"}},
            {"result": {"event_name": "message.text.received", "message": {"from": None}}},
            {"ok": True, "result": [{"message": {"chat": None}}]},
        ):
            answer = await client.post("/zalo/webhook", json=body, headers=headers)
            assert answer.status_code == 200, body
        update = start_update("5102", "m-webhook-2")  # bare, as Zalo may push it
        assert (await client.post("/zalo/webhook", json=update, headers=headers)).status_code == 200
    await zfake.wait_for("5102", contains="Bước 1/8")
    await zbot.zalo.drain()
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_webhook_calls_without_an_update_are_answered_200(
    zfake: FakeZalo, zbot: ZBot
) -> None:
    """Zalo's docs name no probe, retry or timeout; their sample answers 200 once the secret
    matches. An empty body used to get 400."""
    zbot.settings.zalo.webhook_secret = SecretStr("s3cret-zalo-hook")  # the route checks it
    web = build_web_app(None, "", zalo=zbot.zalo, app=zbot.app)
    headers = {"X-Bot-Api-Secret-Token": "s3cret-zalo-hook"}
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        empty = await client.post("/zalo/webhook", content=b"", headers=headers)
        assert empty.status_code == 200
        bare = await client.post("/zalo/webhook", json={}, headers=headers)
        assert bare.status_code == 200
        wrong_secret = {"X-Bot-Api-Secret-Token": "nope-nope"}
        wrong = await client.post("/zalo/webhook", content=b"", headers=wrong_secret)
        assert wrong.status_code == 403
        garbage = await client.post("/zalo/webhook", content=b"<html>", headers=headers)
        assert garbage.status_code == 400
        # a real update is still handled (after the answer)
        update = {"ok": True, "result": start_update("5101", "m-webhook-1")}
        assert (await client.post("/zalo/webhook", json=update, headers=headers)).status_code == 200
    await zfake.wait_for("5101", contains="Bước 1/8")
    await zbot.zalo.drain()
    # the calls without an update did nothing: only /start's answer (the greeting with the
    # form's link, then the first step)
    texts = [m.text for m in zfake.messages_to("5101")]
    assert len(texts) == 2
    assert texts[0].startswith("Chào anh/chị") and texts[1].startswith("Bước 1/8")


async def test_check_shows_can_join_groups_and_warns_about_polling_with_a_public_url(
    zfake: FakeZalo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = zalo_settings(tmp_path, zfake)
    assert await admin_cli.check(settings) == 0
    out = capsys.readouterr().out
    assert "can_join_groups = false" in out
    assert "Zalo đang chạy kiểu polling dù đã có web.public_url" in out
    assert f"{PUBLIC_URL}/zalo/webhook" in out
    zfake.bot_info["can_join_groups"] = True
    settings.zalo.mode = "webhook"
    assert await admin_cli.check(settings) == 0
    out = capsys.readouterr().out
    assert "Zalo cho bot vào nhóm" in out and "polling" not in out


async def test_check_tells_a_refused_token_from_a_server_error(
    zfake: FakeZalo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = zalo_settings(tmp_path, zfake)
    zfake.fail_next("getMe", 403)
    assert await admin_cli.check(settings) == 1
    assert "Zalo trả lỗi 403 (Internal server error)" in capsys.readouterr().out
    zfake.fail_next("getMe", 401)
    assert await admin_cli.check(settings) == 1
    assert "Token Zalo bị từ chối (401" in capsys.readouterr().out
