"""Emulation over a year of changes, on Telegram: collective titles registered by a tổ trưởng
and decided by the board, a campaign edited after members registered (deadline moved, a
title taken out), members who move units or leave the union, and the review summary."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import FakeClock
from models import roles, units
from models.emulation import Pledge
from models.members import Member
from models.reminders import Reminder
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.people import seed, set_join_dates
from tests.tg import ADMIN, Bot, press, received, say
from tests.tg_flows import launch


async def pledge(fake: FakeTelegram, chat: int, *titles: str) -> SentMessage:
    choices = await say(fake, chat, "/thidua", "Đăng ký thi đua")
    for title in titles:
        fake.user_presses(chat, choices, choices.button(title))
        await fake.wait_for_edit(chat, contains=f"✅ {title}")
    ask = await press(fake, chat, choices, "Tiếp tục", "cam kết")
    return await press(fake, chat, ask, "Bỏ qua", "Đã ghi nhận")


async def report(fake: FakeTelegram) -> tuple[str, object]:
    mark = fake.mark()
    fake.user_sends(ADMIN, "/thidua_baocao", first_name="Admin")
    text = await fake.wait_for(ADMIN, contains="ĐĂNG KÝ THI ĐUA NĂM", since=mark)
    sheet = await fake.wait_for(ADMIN, contains="Danh sách đăng ký thi đua", since=mark)
    return text.body, load_workbook(io.BytesIO(sheet.document[1]))  # type: ignore[index]


async def test_collective_title_registered_by_leader_and_decided_by_board(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    async with bot.app.db.session() as session:
        leader = (await session.exec(select(Member).order_by(Member.id))).first()  # type: ignore[arg-type]
        unit = await units.by_code(session, "SCT-VP")
        assert leader is not None and unit is not None
        await roles.grant(session, leader.id, roles.TO_TRUONG, unit, "test")  # type: ignore[arg-type]
        await session.commit()
    await launch(fake)
    await say(fake, chats[1], "/thidua_tapthe", "dành cho tổ trưởng công đoàn")
    card = await say(fake, chats[0], "/thidua_tapthe", "Tổ công đoàn Văn phòng — danh hiệu tập thể")
    fake.user_presses(chats[0], card, card.button("Tổ công đoàn vững mạnh"))
    await fake.wait_for_edit(chats[0], contains="✅ Tổ công đoàn vững mạnh")
    text, wb = await report(fake)
    assert "• Tổ công đoàn vững mạnh: Tổ công đoàn Văn phòng" in text
    assert next(iter(wb["Tập thể"].iter_rows(min_row=2, values_only=True)))[:3] == (
        "SCT-VP",
        "Tổ công đoàn Văn phòng",
        "Tổ công đoàn vững mạnh",
    )
    # after the deadline the leader can no longer change it
    clock.set(datetime.fromisoformat("2027-12-10T03:00:00+00:00"))
    mark = fake.mark()
    fake.user_presses(chats[0], card, card.button("Tổ công đoàn vững mạnh"))
    await fake.wait_for(chats[0], contains="hết hạn đăng ký", since=mark)
    # the board decides at the review; a member pressing the decision button is refused
    listing = await say(fake, ADMIN, "/thidua_xet", "Bình xét thi đua năm 2027")
    units_list = await press(fake, ADMIN, listing, "Bình xét danh hiệu tập thể", "tập thể năm 2027")
    assert "Tổ công đoàn Văn phòng — Tổ công đoàn vững mạnh: chưa có" in units_list.body
    await press(fake, ADMIN, units_list, "✅ Tổ công đoàn Văn phòng", "vững mạnh: Đạt")
    mark = fake.mark()
    fake.user_presses(chats[0], card, units_list.button("❌ Tổ công đoàn Văn phòng"))
    await fake.wait_for(chats[0], contains="chỉ dành cho Ban Chấp hành", since=mark)
    _, wb = await report(fake)
    assert next(iter(wb["Tập thể"].iter_rows(min_row=2, values_only=True)))[4] == "Đạt"


async def test_campaign_edited_after_registrations(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 3)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    await pledge(fake, chats[0], "Lao động tiên tiến", "Đoàn viên công đoàn xuất sắc")
    # the deadline moves: reminders are re-planned, the unregistered are told
    menu = await say(fake, ADMIN, "/thidua_sua", "Sửa phong trào thi đua năm 2027")
    await press(fake, ADMIN, menu, "Đổi hạn chót", "Hạn chót đăng ký mới")
    await say(fake, ADMIN, "20/11/2026", "Thời điểm này đã qua")
    await say(fake, ADMIN, "15/02/2028", "trong năm 2027")
    done = await say(fake, ADMIN, "15/02/2027", "Đã đổi hạn chót thành")
    assert "Đang báo cho 2 đoàn viên" in done.body
    await fake.wait_until(
        lambda: sum(received(fake, chats, "được đổi thành chậm nhất ngày").values()) == 2,
        what="the new deadline to the two who have not registered",
    )
    async with bot.app.db.session() as session:
        timers = (
            await session.exec(select(Reminder).where(Reminder.kind == "emulation_deadline"))
        ).all()
    pending = sorted(r.due_at.date().isoformat() for r in timers if r.state == "pending")
    assert pending == ["2027-02-08", "2027-02-14"]  # 7 and 1 days before 15/02
    assert all(r.state == "skipped" for r in timers if r.state != "pending")
    # and back again to the first date: reminders are planned anew, not lost
    clock.advance(minutes=1)
    menu = await say(fake, ADMIN, "/thidua_sua", "Sửa phong trào")
    await press(fake, ADMIN, menu, "Đổi hạn chót", "Hạn chót đăng ký mới")
    await say(fake, ADMIN, "31/01/2027", "Đã đổi hạn chót thành")
    async with bot.app.db.session() as session:
        timers = (
            await session.exec(select(Reminder).where(Reminder.kind == "emulation_deadline"))
        ).all()
    pending = sorted(r.due_at.date().isoformat() for r in timers if r.state == "pending")
    assert pending == ["2027-01-24", "2027-01-30"]
    # a title others depend on cannot go; a title with pledges goes, its pledges stay flagged
    menu = await say(fake, ADMIN, "/thidua_sua", "Sửa phong trào")
    titles = await press(fake, ADMIN, menu, "Thêm/bỏ danh hiệu", "bấm để thêm/bỏ")
    await press(fake, ADMIN, titles, "✅ Lao động tiên tiến", "Chưa bỏ được")
    await press(fake, ADMIN, titles, "✅ Đoàn viên công đoàn xuất sắc", "1 đăng ký đã có")
    choices = await say(fake, chats[1], "/thidua", "Đăng ký thi đua")
    assert "Đoàn viên công đoàn xuất sắc" not in choices.body
    text, wb = await report(fake)
    assert "Đoàn viên công đoàn xuất sắc (đã bỏ khỏi phong trào): 1/3" in text
    assert "đạt «Đoàn viên công đoàn xuất sắc»" not in text  # its target no longer applies
    legend = {r[0]: r[2] for r in wb["Danh hiệu"].iter_rows(min_row=2, values_only=True)}
    assert legend["DVXS"] == "Đoàn viên công đoàn xuất sắc (đã bỏ khỏi phong trào)"
    # the member who pledged it keeps it when changing other choices
    await pledge(fake, chats[0], "Lao động giỏi, lao động sáng tạo")
    async with bot.app.db.session() as session:
        codes = {p.title_code for p in (await session.exec(select(Pledge))).all()}
    assert codes == {"LDTT", "DVXS", "LDGLDST"}


async def open_card(fake: FakeTelegram, name: str) -> SentMessage:
    listing = await say(fake, ADMIN, "/doanvien", "(trang 1/1)")
    return await press(fake, ADMIN, listing, name, "Trạng thái")


async def test_members_who_move_or_leave(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 3)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    await pledge(fake, chats[0], "Lao động tiên tiến")
    await pledge(fake, chats[1], "Lao động tiên tiến")
    card = await open_card(fake, "Đoàn Viên Số A0")
    where = await press(fake, ADMIN, card, "Chuyển đơn vị", "sang đơn vị nào")
    await press(fake, ADMIN, where, "Tổ công đoàn Kỹ thuật", "1 đăng ký thi đua chưa bình xét")
    card = await open_card(fake, "Đoàn Viên Số B1")
    sure = await press(fake, ADMIN, card, "Đã rời công đoàn", "ra khỏi công đoàn?")
    await press(fake, ADMIN, sure, "Xác nhận", "đã rời công đoàn")
    text, wb = await report(fake)
    assert "Tổng số đoàn viên: 2" in text
    assert "Lao động tiên tiến: 1/2 (50\u00a0%)" in text
    assert "Đã rời công đoàn sau khi đăng ký: 1 người" in text
    assert "• Tổ công đoàn Kỹ thuật: 1 ĐV · LĐTT 1" in text
    people = {r[1]: r for r in wb["Đoàn viên"].iter_rows(min_row=2, values_only=True)}
    assert people["Đoàn Viên Số A0"][2] == "SCT-KT"
    assert people["Đoàn Viên Số B1"][6] == "Đã rời công đoàn (không tính)"  # after the commitment
    review = list(wb["Bình xét"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in review] == ["SCT-KT"]  # only units with pledges by current members
    # taken back (found by search, the list shows only active members): counted again
    found = await say(fake, ADMIN, "/timkiem B1", "Tìm thấy 1")
    card = await press(fake, ADMIN, found, "Đoàn Viên Số B1", "Trạng thái")
    await press(fake, ADMIN, card, "Sinh hoạt trở lại", "sinh hoạt trở lại")
    text, _ = await report(fake)
    assert "Lao động tiên tiến: 2/3 (67\u00a0%)" in text
