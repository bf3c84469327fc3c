"""Walks through console dialogs, for tests that start from there."""

from __future__ import annotations

from tests.conftest import ConsoleUser


async def register_lan(console: ConsoleUser) -> str:
    out = await console.say("/start")
    assert "Bước 1/8" in out and "Công đoàn cơ sở Sở Công Thương" in out
    out = await console.say("1")  # Công đoàn cơ sở Sở Công Thương (first by name)
    assert "Tổ công đoàn Văn phòng" in out
    out = await console.say("SCT-VP")
    assert "Bước 2/8" in out
    await console.say("nguyễn thị lan")
    await console.say("nữ")
    await console.say("05/09/1990")
    out = await console.say("0912.345.678")
    assert "0912 345 678" in out
    await console.say("Chuyên viên phòng Kế hoạch")
    await console.say("79123456")
    out = await console.say("01/06/2015")
    assert "Nguyễn Thị Lan" in out and "Gửi đăng ký" in out
    return out
