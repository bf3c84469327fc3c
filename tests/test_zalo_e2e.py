"""Every flow on Zalo, against the fake Zalo Bot API: buttons as numbered choices, files as
signed links, polls as numbered text polls, and the faults Zalo brings."""

from __future__ import annotations

from tests.fake_zalo import FakeZalo
from tests.zl import ZADMIN, ZBot, number_of, zchoose, zsay


async def test_registration_by_numbers_and_approval(zfake: FakeZalo, zbot: ZBot) -> None:
    lan = "5001"
    step = await zsay(zfake, lan, "/dangky SCT-VP", "Bước 2/8")
    step = await zsay(zfake, lan, "Nguyễn Thị Lan", "Bước 3/8")
    assert "Trả lời 1" in step.body
    await zchoose(zfake, lan, step, "Nữ", "Bước 4/8")
    await zsay(zfake, lan, "05/09/1990", "Bước 5/8")
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
