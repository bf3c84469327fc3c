"""Broadcasts, meetings, pledges, polls and exports on Zalo, and one member on both apps:
Telegram and Zalo served at once by the same bot."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import FakeClock
from bot.web import build_web_app
from models.members import Member
from models.polls import PollVote
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.people import seed
from tests.tg import ADMIN, GROUP, copies_recorded, press, say, updates_handled
from tests.zl import (
    PUBLIC_URL,
    ZADMIN,
    ZBot,
    number_of,
    start_zbot,
    stop_zbot,
    zalo_settings,
    zbroadcast,
    zchoose,
    zhandled,
    zsay,
    zseed,
)


async def test_broadcast_composed_and_delivered_on_zalo(zfake: FakeZalo, zbot: ZBot) -> None:
    people = await zseed(zbot.app, 3)
    await zbroadcast(zfake, "Họp toàn thể đoàn viên chiều thứ Sáu.")
    for person in people:
        await zfake.wait_for(person, contains="Họp toàn thể đoàn viên chiều thứ Sáu.")
    await zfake.wait_for(ZADMIN, contains="đã gửi xong")
    # a long announcement is split on line boundaries under Zalo's 2,000 characters
    long_text = "\n".join(f"Dòng {i}: " + "nội dung " * 20 for i in range(30))
    assert len(long_text) > 4000
    await zsay(zfake, ZADMIN, "/thongbao", "nội dung thông báo")
    mark = zfake.mark()
    zfake.user_sends(ZADMIN, long_text)
    await zhandled(zfake, zbot.zalo, zbot.app)
    sent = [m for m in zfake.sent[mark:] if m.chat_id == ZADMIN]
    assert all(len(m.body) <= 2000 for m in sent)


async def test_pledge_multi_select_and_poll_by_numbers(
    zfake: FakeZalo, zbot: ZBot, clock: FakeClock
) -> None:
    people = await zseed(zbot.app, 2)
    async with zbot.app.db.session() as session:
        for member in (await session.exec(select(Member))).all():
            member.joined_union_on = date(2015, 6, 1)
        await session.commit()
    years = await zsay(zfake, ZADMIN, "/thidua_mo", "Phát động thi đua năm nào")
    await zchoose(zfake, ZADMIN, years, "2027", "Hạn chót đăng ký")
    titles = await zsay(zfake, ZADMIN, "31/01/2027", "Chọn các danh hiệu")
    preview = await zchoose(zfake, ZADMIN, titles, "Tiếp tục", "Phát động thi đua năm 2027")
    await zchoose(zfake, ZADMIN, preview, "Phát động", "Đã phát động thi đua năm 2027")
    await zfake.wait_for(people[0], contains="phát động phong trào")
    choices = await zsay(zfake, people[0], "/thidua", "Đăng ký thi đua năm 2027")
    picks = (
        f"{number_of(choices, 'Lao động tiên tiến')},{number_of(choices, 'Đoàn viên công đoàn')}"
    )
    mark = zfake.mark()
    zfake.user_sends(people[0], picks)  # multi-select: "1,3" presses both
    redrawn = await zfake.wait_for(
        people[0], contains="✅ Đoàn viên công đoàn xuất sắc", since=mark
    )
    assert "✅ Lao động tiên tiến" in redrawn.body
    ask = await zchoose(zfake, people[0], redrawn, "Tiếp tục", "cam kết")
    receipt = await zchoose(zfake, people[0], ask, "Bỏ qua", "Đã ghi nhận")
    assert "Lao động tiên tiến" in receipt.body
    # a numbered text poll to members, answered by number
    await zsay(zfake, ZADMIN, "/binhchon", "Câu hỏi")
    card = await zsay(zfake, ZADMIN, "Tham quan Đà Lạt hay Nha Trang? | Đà Lạt | Nha Trang", "📊")
    where = await zchoose(zfake, ZADMIN, card, "Gửi tới", "đơn vị nào")
    whom = await zchoose(zfake, ZADMIN, where, "Tổ công đoàn Văn phòng", "Gửi bình chọn của")
    card = await zchoose(zfake, ZADMIN, whom, "Từng đoàn viên", "Gửi riêng")
    await zchoose(zfake, ZADMIN, card, "Gửi bình chọn", "gửi tới 2 đoàn viên")
    poll = await zfake.wait_for(people[1], contains="BÌNH CHỌN: Tham quan")
    assert "Trả lời bằng một số" in poll.body
    # (the engine records each copy right after Zalo's answer; a person reads first)
    await copies_recorded(zbot, 2)  # type: ignore[arg-type]
    await zsay(zfake, people[1], "2", "Đã ghi nhận lựa chọn")
    result = await zsay(zfake, ZADMIN, "/ketqua 1", "Kết quả tạm thời")
    assert "2. Nha Trang — 1 (100%)" in result.body
    # the chart comes as a photo with a signed link on the bot's own server
    photos = [m for m in zfake.messages_to(ZADMIN) if m.photo_url]
    assert photos and photos[-1].photo_url.startswith(f"{PUBLIC_URL}/f/")  # type: ignore[union-attr]


async def test_export_as_signed_link_and_faults(
    zfake: FakeZalo, zbot: ZBot, clock: FakeClock
) -> None:
    await zseed(zbot.app, 2)
    reply = await zsay(zfake, ZADMIN, "/xuatds", "📎")
    url = next(line.split(": ", 1)[1] for line in reply.body.splitlines() if "📎" in line)
    assert url.startswith(f"{PUBLIC_URL}/f/") and ".xlsx" in url
    web = build_web_app(None, "", zalo=zbot.zalo, app=zbot.app)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        ok = await client.get(url.removeprefix(PUBLIC_URL))
        assert ok.status_code == 200
        rows = list(load_workbook(io.BytesIO(ok.content)).active.iter_rows(values_only=True))
        assert any("Zalo Viên A0" in str(r) for r in rows)
        tampered = url.replace("sig=", "sig=0")
        assert (await client.get(tampered.removeprefix(PUBLIC_URL))).status_code == 403
        clock.advance(hours=73)  # links last 72 hours
        assert (await client.get(url.removeprefix(PUBLIC_URL))).status_code == 403
        # the webhook refuses a wrong secret and a malformed body
        bad = await client.post("/zalo/webhook", json={}, headers={"X-Bot-Api-Secret-Token": "x"})
        assert bad.status_code == 403
    # duplicates, stickers where text is expected, unsupported messages, a blocked user
    zfake.user_sends("5002", "/start")
    zfake.duplicate_last()
    # the first answer, then every update handled: the duplicate got no second one
    await zfake.wait_for("5002", contains="Bước 1/8")
    await zhandled(zfake, zbot.zalo, zbot.app)
    assert len([m for m in zfake.messages_to("5002") if "Bước 1/8" in m.body]) == 1
    zfake.user_sends_sticker("5002")
    await zfake.wait_for("5002", contains="Bước 1/8", count=2)
    zfake.user_sends_unsupported("5002")
    await zhandled(zfake, zbot.zalo, zbot.app)


async def test_one_member_on_both_apps_gets_each_message_once(
    fake: FakeTelegram, zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    zfake.bot_info["can_join_groups"] = True  # a Zalo group poll below
    bot = await start_zbot(zalo_settings(tmp_path, zfake, telegram=fake), clock)
    try:
        chats = await seed(bot.app, 2)  # registered on Telegram
        code_msg = await say(fake, chats[0], "/lienket", "Mã liên kết")
        code = code_msg.body.split(": ", 1)[1][:6]
        await zsay(zfake, "8800", "/lienket 000000", "không đúng hoặc đã hết hạn")
        done = await zsay(zfake, "8800", f"/lienket {code}", "Đã liên kết")
        assert "Đoàn Viên Số A0" in done.body and "Telegram" in done.body
        await zsay(zfake, "8801", f"/lienket {code}", "không đúng hoặc đã hết hạn")  # spent
        # guessing is cut short: five wrong codes an hour, then even a right one is refused
        for guess in ("111111", "222222", "333333", "444444"):
            await zsay(zfake, "8802", f"/lienket {guess}", "không đúng hoặc đã hết hạn")
        fresh = await say(fake, chats[1], "/lienket", "Mã liên kết")
        await zsay(zfake, "8802", "/lienket 555555", "không đúng")
        await zsay(
            zfake, "8802", "/lienket " + fresh.body.split(": ", 1)[1][:6], "sai mã quá nhiều"
        )
        # the linked member uses Zalo now: a broadcast reaches them there, once
        clock.advance(minutes=5)
        await zsay(zfake, "8800", "/hoso", "Hồ sơ đoàn viên")
        await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
        units_msg = await say(fake, ADMIN, "Tất niên thứ Bảy 19/12", "Gửi cho đơn vị nào")
        aud = await press(
            fake, ADMIN, units_msg, "Toàn bộ Công đoàn cơ sở Sở Công Thương", "Gửi cho ai"
        )
        when = await press(fake, ADMIN, aud, "Tất cả đoàn viên", "Gửi ngay hay hẹn giờ")
        preview = await press(fake, ADMIN, when, "Gửi ngay", "Xem trước")
        assert "Sẽ gửi tới: 2 đoàn viên" in preview.body
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        await zfake.wait_for("8800", contains="Tất niên thứ Bảy 19/12")
        await fake.wait_for(chats[1], contains="Tất niên thứ Bảy 19/12", since=mark)
        await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        assert not [m for m in fake.sent[mark:] if m.chat_id == chats[0] and "Tất niên" in m.body]
        assert len([m for m in zfake.messages_to("8800") if "Tất niên" in m.body]) == 1
        # a poll in the unit's Telegram group and Zalo group: the linked member votes in both,
        # and counts once (the later answer wins)
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
        mention = "@" + bot.zalo.username + " "
        await zsay(
            zfake,
            ZADMIN,
            mention + "/lienketnhom SCT-VP",
            "đã được liên kết",
            chat_id="zg-1",
            group=True,
        )
        await say(fake, ADMIN, "/binhchon Liên hoan ở đâu? | Nhà hàng | Hội trường", "📊")
        card = fake.messages_to(ADMIN)[-1]
        where = await press(fake, ADMIN, card, "Gửi tới", "đơn vị nào")
        whom = await press(fake, ADMIN, where, "Tổ công đoàn Văn phòng", "Gửi bình chọn của")
        card = await press(fake, ADMIN, whom, "Các nhóm chat", "Gửi tới các nhóm chat")
        await press(fake, ADMIN, card, "Gửi bình chọn", "gửi tới 2 nhóm chat")
        await fake.wait_until(lambda: bool(fake.polls_in(GROUP)), what="the Telegram copy")
        await zfake.wait_for("zg-1", contains="BÌNH CHỌN: Liên hoan")
        await copies_recorded(bot, 2)  # type: ignore[arg-type]
        fake.user_votes(chats[0], fake.polls_in(GROUP)[0], [0])
        assert bot.telegram is not None
        await updates_handled(fake, bot.telegram, bot.app)
        await zsay(zfake, "8800", mention + "2", "Đã ghi nhận", chat_id="zg-1", group=True)
        async with bot.app.db.session() as session:
            votes = (await session.exec(select(PollVote))).all()
        assert [(v.platform, v.choices) for v in votes] == [("zalo", [1])]
    finally:
        await stop_zbot(bot)


async def test_meeting_invitation_answered_by_number_after_a_restart(
    zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    settings = zalo_settings(tmp_path, zfake)
    bot = await start_zbot(settings, clock)
    people = await zseed(bot.app, 2)
    kinds = await zsay(zfake, ZADMIN, "/hop", "loại họp")
    titles = await zchoose(zfake, ZADMIN, kinds, "Sinh hoạt tổ", "Tên cuộc họp")
    await zchoose(zfake, ZADMIN, titles, "Dùng tên", "Họp lúc nào")
    durations = await zsay(zfake, ZADMIN, "25/11 14h", "Họp trong bao lâu")
    await zchoose(zfake, ZADMIN, durations, "2 giờ", "Địa điểm")
    agenda = await zsay(zfake, ZADMIN, "Hội trường tầng 3", "Nội dung, chương trình")
    unit_msg = await zchoose(zfake, ZADMIN, agenda, "Bỏ qua", "Cuộc họp của đơn vị nào")
    aud = await zchoose(zfake, ZADMIN, unit_msg, "Tổ công đoàn Văn phòng", "Mời những ai")
    offs = await zchoose(zfake, ZADMIN, aud, "Tất cả đoàn viên", "Nhắc lịch trước bao lâu")
    rep = await zchoose(zfake, ZADMIN, offs, "1 ngày và 1 giờ", "có lặp lại")
    preview = await zchoose(zfake, ZADMIN, rep, "Không lặp lại", "Xem trước cuộc họp")
    await zchoose(zfake, ZADMIN, preview, "Gửi thư mời", "Đã lên lịch")
    invitation = await zfake.wait_for(people[0], contains="Hội trường tầng 3")
    assert "📎" in invitation.body and ".ics" in invitation.body  # the calendar file as a link
    # the bot restarts before the member answers: the numbered choices were kept
    await stop_zbot(bot)
    bot = await start_zbot(settings, clock)
    try:
        await zchoose(zfake, people[0], invitation, "Tham dự", "Đã ghi nhận: Tham dự")
    finally:
        await stop_zbot(bot)
