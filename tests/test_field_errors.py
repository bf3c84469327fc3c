"""A text that does not fit says which field it is about, not just "Nội dung dài quá"."""

from __future__ import annotations

import re

from tests.conftest import ConsoleUser


def pick(output: str, label: str) -> str:
    for number, text in re.findall(r"\[(\d+)\] (.+)", output):
        if label in text:
            return number
    raise AssertionError(f"no choice {label!r} in:\n{output}")


async def test_long_meeting_title_names_the_field(console: ConsoleUser) -> None:
    await console.as_user("1", "Quản trị")
    out = await console.say("/hop")
    out = await console.say(pick(out, "Sinh hoạt tổ"))
    assert "Tên cuộc họp?" in out
    out = await console.say("Họp " + "rất " * 70)
    assert "Tên cuộc họp dài quá (" in out and "tối đa 200" in out, out
    assert "Nội dung dài quá" not in out
    out = await console.say("Họp tổ tháng 12")
    out = await console.say("20/12 14:00")
    out = await console.say(pick(out, "2 giờ"))
    out = await console.say("x")  # the place is at least 2 characters
    assert "Địa điểm ngắn quá" in out, out


async def test_long_job_title_names_the_field(console: ConsoleUser) -> None:
    await console.say("/dangky SCT-VP")
    await console.say("Nguyễn Thị Lan")
    await console.say("nữ")
    await console.say("05/09/1990")
    await console.say("0912345678")
    out = await console.say("Chuyên viên " * 20)
    assert "Chức vụ, công việc dài quá (" in out, out
