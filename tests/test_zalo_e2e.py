"""Every flow on Zalo, against the fake Zalo Bot API: buttons as numbered choices, files as
signed links, polls as numbered text polls, and the faults Zalo brings."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr
from sqlmodel import select

from bot.adapters.zalo import ZaloAdapter, ZaloStartupError
from bot.chat import Document, Message
from bot.clock import FakeClock
from bot.runtime import Background, build_app
from bot.sending import Transient
from bot.web import build_web_app
from models import members
from models.outbox import OutboxItem
from tests.fakes.server import InLoopServer
from tests.fakes.zalo import FakeZalo
from tests.zl import (
    ZADMIN,
    ZBot,
    number_of,
    reports_to,
    run_clock_until,
    zalo_settings,
    zbroadcast,
    zchoose,
    zhandled,
    zsay,
    zseed,
)


async def test_registration_by_numbers_and_approval(zfake: FakeZalo, zbot: ZBot) -> None:
    lan = "5001"
    step = await zsay(zfake, lan, "/dangky SCT-VP", "Bước 2/8")
    step = await zsay(zfake, lan, "Nguyễn Thị Lan", "Bước 3/8")
    assert "Trả lời 1" in step.body
    await zchoose(zfake, lan, step, "Nữ", "Bước 4/8")
    phone = await zsay(zfake, lan, "05/09/1990", "Bước 5/8")
    assert "Gửi số điện thoại" not in phone.body  # no share button on Zalo: not promised
    step = await zsay(zfake, lan, "0912345678", "Bước 6/8")
    step = await zsay(zfake, lan, "Kế toán viên", "Bước 7/8")
    step = await zchoose(zfake, lan, step, "Bỏ qua", "Bước 8/8")
    summary = await zchoose(zfake, lan, step, "Bỏ qua", "Thông tin đã đúng chưa")
    mark = zfake.mark()
    zfake.user_sends(lan, number_of(summary, "Gửi đăng ký"))
    await zfake.wait_for(lan, contains="Đã gửi yêu cầu", since=mark)
    request = await zfake.wait_for(ZADMIN, contains="Yêu cầu đăng ký đoàn viên mới", since=mark)
    await zchoose(zfake, ZADMIN, request, "Duyệt", "Đã duyệt đoàn viên Nguyễn Thị Lan")
    await zfake.wait_for(lan, contains="đã được Ban Chấp hành duyệt")
    profile = await zsay(zfake, lan, "/hoso", "Hồ sơ đoàn viên")
    assert "Kế toán viên" in profile.body


async def test_bad_token_stops_the_start_with_a_clear_message(
    zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    settings = zalo_settings(tmp_path, zfake)
    settings.zalo.token = SecretStr("wrong-token")
    app = await build_app(settings, clock)
    adapter = ZaloAdapter(app, settings)
    with pytest.raises(ZaloStartupError, match="Token Zalo bị từ chối"):
        await adapter.start()
    await adapter.stop()
    await app.db.dispose()


async def test_polling_survives_server_errors_and_a_403_is_retried_never_unreachable(
    zfake: FakeZalo, zbot: ZBot, clock: FakeClock
) -> None:
    """Zalo's table lists 403 as "Internal server error": a send answered 403 is retried with
    backoff, and after the attempts run out the row is `failed` (listed), never `unreachable`
    (the old mapping marked the member unreachable and skipped them from then on)."""
    people = await zseed(zbot.app, 3)
    zfake.fail_next("getUpdates", 502, "Bad Gateway", times=2)
    await zsay(zfake, people[0], "/hoso", "Hồ sơ đoàn viên")  # after the backoff
    zfake.blocked_users.add(people[1])  # 403 on every send
    zfake.fail_next("sendMessage", 403, chat_id=people[2], times=2)  # then it goes through
    await zbroadcast(zfake, "Lịch trực Tết.")
    await run_clock_until(zbot.app, clock, reports_to(zfake, ZADMIN), what="the report")
    report = await zfake.wait_for(ZADMIN, contains="đã gửi xong")
    assert "2/3 đã nhận — 1 lỗi" in report.body
    assert "không liên lạc được" not in report.body
    got = [len([m for m in zfake.messages_to(p) if "Lịch trực Tết" in m.body]) for p in people]
    assert got == [1, 0, 1]
    async with zbot.app.db.session() as session:
        states = Counter((await session.exec(select(OutboxItem.state))).all())
        identity = await members.identity(session, "zalo", people[1])
    assert states == {"sent": 2, "failed": 1}
    assert identity is not None and identity.unreachable_at is None
    assert len([b for b in zfake.calls_of("sendMessage") if b["chat_id"] == people[1]]) == 5


async def test_webhook_mode_group_poll_and_bad_pushes(
    zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    zfake.bot_info["can_join_groups"] = True  # group polls below
    settings = zalo_settings(tmp_path, zfake)
    settings.zalo.mode = "webhook"
    settings.zalo.webhook_url = f"http://127.0.0.1:{port}/zalo/webhook"
    settings.zalo.webhook_secret = SecretStr("s3cret-zalo-hook")
    app = await build_app(settings, clock)
    adapter = ZaloAdapter(app, settings)
    app.add_adapter(adapter)
    await adapter.start(polling=False)
    assert zfake.calls_of("setWebhook")[-1]["secret_token"] == "s3cret-zalo-hook"
    server = InLoopServer(
        uvicorn.Config(
            build_web_app(None, "", zalo=adapter, app=app), lifespan="off", log_level="warning"
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    background = Background(app)
    background.start()
    try:
        people = await zseed(app, 2)
        # pushed wrapped, then bare; the same push twice is handled once
        await zsay(zfake, "5003", "/start", "Bước 1/8")
        zfake.push_wrapped = False
        await zsay(zfake, people[0], "/hoso", "Hồ sơ đoàn viên")
        zfake.duplicate_last()
        await zhandled(zfake, adapter, app)
        assert len([m for m in zfake.messages_to(people[0]) if "Hồ sơ" in m.body]) == 1
        bad = await zfake.push_raw({"event_name": "x"}, secret="wrong-secret")
        assert bad.status == 403
        # no update in it (Zalo's docs name no probe: answered 200 like its sample handler)
        malformed = await zfake.push_raw({"nothing": "useful"}, secret="s3cret-zalo-hook")
        assert malformed.status == 200
        # a poll in a group (the bot sees messages that mention it)
        group, mention = "g-100", "@" + adapter.username + " "
        card = await zsay(
            zfake,
            people[0],
            mention + "/binhchon Ăn trưa ở đâu? | Căng tin | Quán cơm",
            "📊 Bình chọn",
            chat_id=group,
            group=True,
        )
        await zsay(
            zfake,
            people[0],
            mention + number_of(card, "Gửi bình chọn"),
            "BÌNH CHỌN: Ăn trưa",
            chat_id=group,
            group=True,
        )
        # another member opens a poll card and cancels it: their menu is theirs only
        draft = await zsay(
            zfake,
            people[0],
            mention + "/binhchon Nháp? | A | B",
            "📊 Bình chọn",
            chat_id=group,
            group=True,
        )
        assert f"@{adapter.username} 1" in draft.body  # how to answer in a group
        await zsay(
            zfake,
            people[0],
            mention + number_of(draft, "Hủy"),
            "Đã hủy",
            chat_id=group,
            group=True,
        )
        receipt = await zsay(
            zfake, people[1], mention + "2", "Đã ghi nhận một lựa chọn", chat_id=group, group=True
        )
        # the author, whose own card menu is gone now that the poll is out, votes too
        await zsay(
            zfake, people[0], mention + "1", "Đã ghi nhận một lựa chọn", chat_id=group, group=True
        )
        assert "Quán cơm" not in receipt.body  # the group never sees who chose what
        result = await zsay(
            zfake, people[0], mention + "/ketqua", "Kết quả tạm thời", chat_id=group, group=True
        )
        assert "2. Quán cơm — 1 (50%)" in result.body
    finally:
        await background.close()
        server.should_exit = True
        await serving
        await adapter.stop()
        await app.db.dispose()


async def test_a_message_in_parts_is_never_sent_twice(zfake: FakeZalo, zbot: ZBot) -> None:
    """A chart then its text: a 429 on the text waits and goes on; any other failure after
    the first part is "maybe delivered" (never re-sent whole by the delivery engine)."""
    chart = Document("kq.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    zfake.fail_next("sendMessage", 429, retry_after=0.2, chat_id="6001")
    await zbot.zalo.send("6001", Message("Kết quả bình chọn", image=chart), bulk=False)
    sent = zfake.messages_to("6001")
    assert [m.method for m in sent] == ["sendPhoto", "sendMessage"]
    zfake.fail_next("sendMessage", 502, chat_id="6001")
    with pytest.raises(Transient) as failure:
        await zbot.zalo.send("6001", Message("Lần hai", image=chart), bulk=False)
    assert failure.value.maybe_delivered
    # the first part failing is an ordinary, retryable failure
    zfake.fail_next("sendMessage", 502, chat_id="6001")
    with pytest.raises(Transient) as failure:
        await zbot.zalo.send("6001", Message("Chỉ một phần"), bulk=False)
    assert not failure.value.maybe_delivered
