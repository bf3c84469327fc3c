"""Pickers on Zalo and in the console, where buttons are numbered lines: a page of a 1,000-tổ
list is a short message ("Trang 1/126"), "Trang sau" is a number like any other, and typed
words search."""

from __future__ import annotations

import io
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.clock import FakeClock
from bot.runtime import build_app
from handlers.common.pickers import PAGE_SIZE
from tests.big_units import DEEP, ROOT, TO_COUNT, big_units
from tests.conftest import ConsoleUser, make_settings
from tests.fakes.zalo import FakeZalo
from tests.zl import ZADMIN, start_zbot, stop_zbot, zalo_settings, zchoose, zsay

PAGES = -(-(TO_COUNT + 3) // PAGE_SIZE)


def numbered(body: str) -> list[str]:
    return [line for line in body.splitlines() if line[:1].isdigit() and ". " in line]


async def test_zalo_unit_picker_pages_by_number_and_searches(
    zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    settings = zalo_settings(tmp_path, zfake).model_copy(update={"units": big_units()})
    bot = await start_zbot(settings, clock)
    try:
        await zsay(zfake, ZADMIN, "/thongbao", "nội dung thông báo")
        first = await zsay(zfake, ZADMIN, "Tổng kết cuối năm.", "Gửi cho đơn vị nào")
        lines = numbered(first.body)
        assert lines[0] == f"1. Toàn bộ {ROOT}" and len(lines) == PAGE_SIZE + 2
        assert lines[-2:] == [f"{PAGE_SIZE + 1}. Trang sau →", f"{PAGE_SIZE + 2}. ✖ Hủy"]
        assert f"Trang 1/{PAGES}" in first.body and "Gõ vài chữ" in first.body
        assert len(first.body) < 1000  # one short message, not 1,002 lines
        second = await zchoose(zfake, ZADMIN, first, "Trang sau", f"Trang 2/{PAGES}")
        assert numbered(second.body)[0] == "1. Tổ công đoàn số 6"
        back = await zchoose(zfake, ZADMIN, second, "Trang trước", f"Trang 1/{PAGES}")
        assert numbered(back.body)[0] == f"1. Toàn bộ {ROOT}"
        found = await zsay(zfake, ZADMIN, "hoa chat", "Tìm thấy 1 kết quả")
        assert numbered(found.body)[0] == f"1. {DEEP} (Phân xưởng Nhuộm)"
        await zchoose(zfake, ZADMIN, found, DEEP, f"Gửi cho ai trong {DEEP}")
    finally:
        await stop_zbot(bot)


async def test_console_registration_pages_and_searches(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path).model_copy(update={"units": big_units()})
    app = await build_app(settings, clock)
    try:
        out = io.StringIO()
        adapter = ConsoleAdapter(app, "5001", "Minh", out=out, export_dir=tmp_path / "exports")
        app.add_adapter(adapter)
        console = ConsoleUser(adapter, out)
        text = await console.say("/dangky")
        assert f"[1] {ROOT}" in text
        text = await console.say("1")
        assert (
            f"[1] ✔ Chọn: {ROOT}" in text and f"Trang 1/{-(-(TO_COUNT + 1) // PAGE_SIZE)}" in text
        )
        assert "Trang sau →" in text and text.count("\n  [") <= PAGE_SIZE + 5
        text = await console.say(str(PAGE_SIZE + 2))  # Trang sau →
        assert "Trang 2/" in text and "[2] Tổ công đoàn số 8" in text
        text = await console.say("to 999")
        assert "Tìm thấy 1 kết quả" in text and "[1] Tổ công đoàn số 999" in text
        text = await console.say("1")
        assert "Đơn vị: Tổ công đoàn số 999." in text and "Bước 2/8" in text
    finally:
        await app.db.dispose()
