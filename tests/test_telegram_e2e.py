"""End to end on Telegram: the real python-telegram-bot Application long-polls a fake Bot API
server on loopback, and the tests act as people tapping and typing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.adapters.telegram import TelegramAdapter
from bot.clock import FakeClock
from bot.runtime import build_app
from bot.web import build_web_app
from models.audit import AuditEntry
from models.groups import ChatGroup
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.tg import ADMIN, GROUP, LAN, Bot, handled, press, say, start_bot, stop_bot, tg_settings


async def test_registration_with_restart_and_approval(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    bot = await start_bot(settings, clock)
    msg = await say(fake, LAN, "/start", "Bước 1/8")
    fake.user_presses(LAN, msg, msg.button("Sở Công Thương"))
    await fake.wait_for_edit(LAN, contains="Bước 1/8")  # the picker redraws in place
    assert msg.button("Chọn: Công đoàn cơ sở Sở Công Thương") == "v1:reg:unit:=1"
    msg = await press(fake, LAN, msg, "Văn phòng", "Bước 2/8")
    await say(fake, LAN, "Nguyễn Thị Lan", "Bước 3/8")
    msg = fake.messages_to(LAN)[-1]
    await press(fake, LAN, msg, "Nữ", "Bước 4/8")
    mark = fake.mark()
    await say(fake, LAN, "05/09/1990", "Bước 5/8")
    keyboard = await fake.wait_for(LAN, contains="⬇️", since=mark)
    assert keyboard.keyboard() == ["📱 Gửi số điện thoại"]

    # the process dies in the middle of the dialog and comes back
    await stop_bot(bot)
    bot = await start_bot(settings, clock)
    mark = fake.mark()
    fake.user_sends_contact(LAN, "+84912345678")
    noted = await fake.wait_for(LAN, contains="Đã ghi nhận số điện thoại 0912 345 678", since=mark)
    assert noted.reply_markup == {"remove_keyboard": True}  # the share-phone keyboard goes away
    await fake.wait_for(LAN, contains="Bước 6/8", since=mark)
    await say(fake, LAN, "Kế toán viên", "Bước 7/8")
    msg = fake.messages_to(LAN)[-1]
    msg = await press(fake, LAN, msg, "Bỏ qua", "Bước 8/8")
    summary = await press(fake, LAN, msg, "Bỏ qua", "Thông tin đã đúng chưa")
    assert "Nguyễn Thị Lan" in summary.body and "05/09/1990" in summary.body
    mark = fake.mark()
    fake.user_presses(LAN, summary, summary.button("Gửi đăng ký"))
    await fake.wait_for(LAN, contains="Đã gửi yêu cầu", since=mark)
    request = await fake.wait_for(ADMIN, contains="Yêu cầu đăng ký đoàn viên mới", since=mark)
    assert "0912 345 678" in request.body  # the board sees the details in private

    mark = fake.mark()
    fake.user_presses(ADMIN, request, request.button("Duyệt"))
    await fake.wait_for(LAN, contains="đã được Ban Chấp hành duyệt", since=mark)
    await fake.wait_for_edit(ADMIN, contains="Đã duyệt đoàn viên Nguyễn Thị Lan")
    # pressing the same (old) button again is answered, not repeated
    mark = fake.mark()
    fake.user_presses(ADMIN, request, "v1:appr:ok:1")
    await fake.wait_for(ADMIN, contains="đã được xử lý trước đó", since=mark)
    assert len([m for m in fake.messages_to(LAN) if "được Ban Chấp hành duyệt" in m.body]) == 1

    msg = await say(fake, LAN, "/hoso", "Hồ sơ đoàn viên")
    assert "Kế toán viên" in msg.body
    await stop_bot(bot)


async def test_duplicate_update_and_outdated_button(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.user_sends(LAN, "/dangky SCT-VP")
    await fake.wait_for(LAN, contains="Bước 2/8")
    fake.queue_raw_update(update)  # Telegram redelivers the same update
    await handled(bot, fake)
    assert len([m for m in fake.messages_to(LAN) if "Bước 2/8" in m.body]) == 1
    msg = fake.messages_to(LAN)[-1]
    mark = fake.mark()
    fake.user_presses(LAN, msg, "v0:reg:back")  # a payload from an older bot version
    await fake.wait_for(LAN, contains="Lựa chọn này đã cũ", since=mark)


async def test_group_link_greeting_and_deep_link(fake: FakeTelegram, bot: Bot) -> None:
    mark = fake.mark()
    fake.bot_added_to_group(GROUP, by_user_id=ADMIN, title="Tổ Văn phòng")
    await fake.wait_for(GROUP, contains="/lienketnhom", since=mark)
    # a plain user may not link the group
    await say(
        fake,
        LAN,
        "/lienketnhom SCT-VP",
        "chỉ dành cho Ban Chấp hành",
        chat_id=GROUP,
        chat_type="group",
        chat_title="Tổ Văn phòng",
    )
    msg = await say(
        fake,
        ADMIN,
        "/lienketnhom SCT-VP",
        "đã được liên kết",
        chat_id=GROUP,
        chat_type="group",
        chat_title="Tổ Văn phòng",
    )
    assert msg.button("Đăng ký") == "https://t.me/congdoan_test_bot?start=SCT-VP"
    # someone joins: greeted with a link to register in private, nothing personal in the group
    mark = fake.mark()
    fake.user_joins_group(GROUP, 777, first_name="Bình", title="Tổ Văn phòng")
    welcome = await fake.wait_for(GROUP, contains="Chào mừng Bình", since=mark)
    assert welcome.button("Đăng ký").endswith("?start=SCT-VP")
    # registration commands in the group answer with a private link
    msg = await say(
        fake, 777, "/dangky", "chỉ dùng trong chat riêng", chat_id=GROUP, chat_type="group"
    )
    assert msg.button("Nhắn riêng").startswith("https://t.me/congdoan_test_bot")
    # ordinary chatter in a group gets no answer
    mark = fake.mark()
    fake.user_sends(777, "chào cả nhà", chat_id=GROUP, chat_type="group")
    await handled(bot, fake)
    assert all(m.chat_id != GROUP for m in fake.sent[mark:])
    # the deep link opens the private chat with the unit preselected
    await say(fake, 777, "/start SCT-VP", "Bước 2/8")
    # the group becomes a supergroup, then the bot is removed
    fake.group_migrates(GROUP, -1009990001, title="Tổ Văn phòng")
    await handled(bot, fake)
    fake.bot_removed_from_group(-1009990001, by_user_id=ADMIN, title="Tổ Văn phòng")
    await handled(bot, fake)
    async with bot.app.db.session() as session:
        group = (await session.exec(select(ChatGroup))).one()
        assert group.chat_id == "-1009990001" and group.unit_id is not None
        assert group.active is False
        actions = {a.action for a in (await session.exec(select(AuditEntry))).all()}
    assert {"group_linked", "group_migrated", "group_bot_removed", "access_denied"} <= actions


async def test_command_menus_per_scope(fake: FakeTelegram, bot: Bot) -> None:
    private = [c["command"] for c in fake.commands_for({"type": "all_private_chats"})]
    group = [c["command"] for c in fake.commands_for({"type": "all_group_chats"})]
    board = [c["command"] for c in fake.commands_for({"type": "chat", "chat_id": ADMIN})]
    assert "dangky" in private and "xuatds" not in private
    assert "lienketnhom" in group and "hoso" not in group
    assert {"xuatds", "choduyet", "hoso"} <= set(board)
    english = fake.commands_for({"type": "all_private_chats"}, "en")
    assert any("register" in c["description"].lower() for c in english)


async def test_export_arrives_as_document(fake: FakeTelegram, bot: Bot) -> None:
    mark = fake.mark()
    fake.user_sends(ADMIN, "/xuatds", first_name="Admin")
    sent = await fake.wait_for(ADMIN, contains="Danh sách đoàn viên", since=mark)
    assert sent.document is not None
    name, content = sent.document
    assert name.startswith("doan-vien-") and name.endswith(".xlsx") and content[:2] == b"PK"


async def test_crash_gives_apology_and_report_without_personal_data(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tg_settings(tmp_path, fake, admin_chat="telegram:-100777")
    bot = await start_bot(settings, clock)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret detail Nguyễn Thị Lan 0912345678")

    import handlers.members.registration as registration

    monkeypatch.setattr(registration, "_advance", broken)
    await say(fake, LAN, "/dangky SCT-VP", "Bước 2/8")
    await say(fake, LAN, "Nguyễn Thị Lan", "bot vừa gặp sự cố")
    report = await fake.wait_for(-100777, contains="RuntimeError")
    assert "Nguyễn" not in report.body and "0912" not in report.body
    monkeypatch.undo()
    # nothing already saved was lost: the dialog is still at the name step
    await say(fake, LAN, "Nguyễn Thị Lan", "Bước 3/8")
    await stop_bot(bot)


async def test_long_text_is_split_on_lines(fake: FakeTelegram, bot: Bot) -> None:
    from bot.chat import Message

    text = "\n".join(f"Dòng {i}: " + "x" * 90 for i in range(120))  # ~12,000 characters
    await bot.adapter.send(str(LAN), Message(text))
    parts = fake.messages_to(LAN)
    assert len(parts) == 3 and all(len(p.body) <= 4096 for p in parts)  # as full as they go
    assert "\n".join(p.body for p in parts) == text


async def test_webhook_checks_secret(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(
        tmp_path,
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "mode": "webhook",
            "webhook_url": "https://bot.example.org/telegram/webhook",
            "webhook_secret": "s3cret-webhook-value",
        },
    )
    app = await build_app(settings, clock)
    adapter = TelegramAdapter(app, settings.telegram)
    app.add_adapter(adapter)
    await adapter.start(polling=False)
    assert fake.calls_of("setWebhook")[-1]["secret_token"] == "s3cret-webhook-value"
    web = build_web_app(adapter, "s3cret-webhook-value")
    update = {
        "update_id": 5000,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": LAN, "type": "private"},
            "from": {"id": LAN, "is_bot": False, "first_name": "Lan"},
            "text": "/trogiup",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://bot"
    ) as client:
        wrong = await client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        assert wrong.status_code == 403
        bad = await client.post(
            "/telegram/webhook",
            content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook-value"},
        )
        assert bad.status_code == 400
        ok = await client.post(
            "/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook-value"},
        )
        assert ok.status_code == 200
        webhook = (await client.get("/healthz")).json()["apps"]["apps"]["telegram"]
        assert webhook["mode"] == "webhook" and webhook["last_ok"] is not None
    await fake.wait_for(LAN, contains="Các lệnh anh/chị có thể dùng")
    await adapter.stop()
    await app.db.dispose()
