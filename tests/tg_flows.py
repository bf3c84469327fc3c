"""Walks through the board's Telegram dialogs up to a point, for tests that start from there."""

from __future__ import annotations

from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.tg import ADMIN, press, say


async def launch(fake: FakeTelegram) -> SentMessage:
    years = await say(fake, ADMIN, "/thidua_mo", "Phát động thi đua năm nào")
    await press(fake, ADMIN, years, "2027", "Hạn chót đăng ký")
    titles = await say(fake, ADMIN, "31/01/2027", "Chọn các danh hiệu")
    preview = await press(fake, ADMIN, titles, "Tiếp tục", "Phát động thi đua năm 2027")
    assert "Giỏi việc nước, đảm việc nhà" in preview.body and "Chỉ tiêu" in preview.body
    return await press(fake, ADMIN, preview, "Phát động", "Đã phát động thi đua năm 2027")


async def plan(
    fake: FakeTelegram,
    *,
    start: str = "25/11 14h",
    offsets: str | None = None,
    repeat: str = "Không lặp lại",
    audience: str = "Tất cả đoàn viên",
) -> SentMessage:
    """The board member walks through /hop up to the preview."""
    kinds = await say(fake, ADMIN, "/hop", "loại họp")
    titles = await press(fake, ADMIN, kinds, "Sinh hoạt tổ", "Tên cuộc họp")
    await press(fake, ADMIN, titles, "Dùng tên", "Họp lúc nào")
    await say(fake, ADMIN, start, "Họp trong bao lâu")
    durations = fake.messages_to(ADMIN)[-1]
    await press(fake, ADMIN, durations, "2 giờ", "Địa điểm")
    agenda = await say(fake, ADMIN, "Hội trường tầng 3", "Nội dung, chương trình")
    unit_msg = await press(fake, ADMIN, agenda, "Bỏ qua", "Cuộc họp của đơn vị nào")
    aud = await press(fake, ADMIN, unit_msg, "Tổ công đoàn Văn phòng", "Mời những ai")
    offs = await press(fake, ADMIN, aud, audience, "Nhắc lịch trước bao lâu")
    if offsets is None:
        rep = await press(fake, ADMIN, offs, "1 ngày và 1 giờ", "có lặp lại")
    else:
        rep = await say(fake, ADMIN, offsets, "có lặp lại")
    return await press(fake, ADMIN, rep, repeat, "Xem trước cuộc họp")


async def send_invitations(fake: FakeTelegram, preview: SentMessage) -> None:
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Gửi thư mời"))
    await fake.wait_for(ADMIN, contains="Đã lên lịch", since=mark)


async def compose(
    fake: FakeTelegram, text: str, audience: str, *, when: str = "Gửi ngay"
) -> SentMessage:
    """A board member writes an announcement and reaches the preview."""
    await say(fake, ADMIN, "/thongbao", "nội dung thông báo")
    units_msg = await say(fake, ADMIN, text, "Gửi cho đơn vị nào")
    aud = await press(
        fake, ADMIN, units_msg, "Toàn bộ Công đoàn cơ sở Sở Công Thương", "Gửi cho ai"
    )
    when_msg = await press(fake, ADMIN, aud, audience, "Gửi ngay hay hẹn giờ")
    if when == "Gửi ngay":
        return await press(fake, ADMIN, when_msg, "Gửi ngay", "Xem trước")
    await press(fake, ADMIN, when_msg, "Hẹn giờ", "thời điểm gửi")
    repeat = await say(fake, ADMIN, when, "Lặp lại không")
    return await press(fake, ADMIN, repeat, "Chỉ một lần", "Xem trước")


async def register_in_private(
    fake: FakeTelegram,
    user: int,
    name: str,
    phone: str,
    *,
    first: str = "Bước 2/8",
    expect: str = "Đã gửi yêu cầu",
) -> SentMessage:
    """Someone whose registration has reached the name step (the unit already chosen) fills
    it in and sends it; returns the bot's answer (`expect`)."""
    await fake.wait_for(user, contains=first)
    await say(fake, user, name, "Bước 3/8")
    gender = fake.messages_to(user)[-1]
    await press(fake, user, gender, "Nữ", "Bước 4/8")
    await say(fake, user, "05/09/1990", "Bước 5/8")
    await say(fake, user, phone, "Bước 6/8")
    await say(fake, user, "Kế toán viên", "Bước 7/8")
    card = await press(fake, user, fake.messages_to(user)[-1], "Bỏ qua", "Bước 8/8")
    summary = await press(fake, user, card, "Bỏ qua", "Thông tin đã đúng chưa")
    mark = fake.mark()
    fake.user_presses(user, summary, summary.button("Gửi đăng ký"))
    return await fake.wait_for(user, contains=expect, since=mark)
