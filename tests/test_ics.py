"""Tests for handlers/meetings/ics.py: RFC 5545 output, parsed back line by line."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.meetings.ics import PRODID, ics_filename, meeting_ics

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 20, 14, 0, tzinfo=TZ)
END = datetime(2026, 12, 20, 16, 30, tzinfo=TZ)


def build(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "uid": "meeting-42@congdoan-bot",
        "sequence": 0,
        "title": "Sinh hoạt tổ công đoàn",
        "starts_at": START,
        "ends_at": END,
        "now": NOW,
    }
    args.update(overrides)
    return meeting_ics(**args)


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    # No bare CR or LF anywhere: every line break is CRLF.
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    return lines


def unfold(data: bytes) -> list[str]:
    """Content lines: a physical line starting with a space continues the previous one."""
    out: list[bytes] = []
    for line in physical_lines(data):
        if line.startswith(b" "):
            out[-1] += line[1:]
        else:
            out.append(line)
    return [line.decode("utf-8") for line in out]


def props(data: bytes) -> dict[str, list[str]]:
    """Property name (with parameters) -> raw values, in order."""
    found: dict[str, list[str]] = {}
    for line in unfold(data):
        name, _, value = line.partition(":")
        found.setdefault(name, []).append(value)
    return found


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def test_publish_structure() -> None:
    data = build(location="Phòng họp 2", description="Họp tổ", url="https://example.org/m/42")
    lines = unfold(data)
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    assert PRODID == "-//congdoan-bot//VI"
    assert lines[-2:] == ["END:VEVENT", "END:VCALENDAR"]
    assert lines.count("BEGIN:VEVENT") == 1
    p = props(data)
    assert p["UID"] == ["meeting-42@congdoan-bot"]
    assert p["SEQUENCE"] == ["0"]
    assert p["DTSTAMP"] == ["20261123T020000Z"]
    assert p["DTSTART"] == ["20261220T070000Z"]  # 14:00 in Vietnam
    assert p["DTEND"] == ["20261220T093000Z"]
    assert p["SUMMARY"] == ["Sinh hoạt tổ công đoàn"]
    assert p["LOCATION"] == ["Phòng họp 2"]
    assert p["DESCRIPTION"] == ["Họp tổ"]
    assert p["URL"] == ["https://example.org/m/42"]
    assert p["STATUS"] == ["CONFIRMED"]
    assert "VALARM" not in data.decode()
    assert "ORGANIZER" not in data.decode()


def test_optional_properties_omitted_when_empty() -> None:
    p = props(build())
    for name in ("LOCATION", "DESCRIPTION", "URL"):
        assert name not in p


def test_utf8_bytes() -> None:
    data = build()
    assert isinstance(data, bytes)
    assert "Sinh hoạt tổ công đoàn".encode() in data.replace(b"\r\n ", b"")


def test_escaping_round_trip() -> None:
    text = "Họp; bàn việc, chia quà\\thưởng\nDòng 2\r\nDòng 3\rDòng 4"
    p = props(build(title=text, description=text, location="A, B; C"))
    assert p["SUMMARY"][0] == ("Họp\\; bàn việc\\, chia quà\\\\thưởng\\nDòng 2\\nDòng 3\\nDòng 4")
    assert (
        unescape(p["DESCRIPTION"][0]) == "Họp; bàn việc, chia quà\\thưởng\nDòng 2\nDòng 3\nDòng 4"
    )
    assert unescape(p["LOCATION"][0]) == "A, B; C"


def test_control_characters_cannot_inject_properties() -> None:
    data = build(title="x\x00\x1b\nEND:VEVENT", description="a\x0bb")
    lines = unfold(data)
    assert lines.count("END:VEVENT") == 1
    assert props(data)["SUMMARY"] == ["x\\nEND:VEVENT"]
    assert props(data)["DESCRIPTION"] == ["ab"]


def test_url_is_percent_encoded_not_escaped() -> None:
    p = props(build(url="https://meet.example.org/r?a=1&b=x,y;z#top"))
    assert p["URL"] == ["https://meet.example.org/r?a=1&b=x,y;z#top"]  # URI: no TEXT escapes
    data = build(url=" https://example.org/phòng họp\r\nATTACH:x ")
    assert props(data)["URL"] == ["https://example.org/ph%C3%B2ng%20h%E1%BB%8Dp%0D%0AATTACH:x"]
    assert "ATTACH" not in props(data)


def test_none_optionals_are_tolerated() -> None:
    p = props(build(location=None, description=None, url=None, reminders_minutes=None))
    assert not {"LOCATION", "DESCRIPTION", "URL", "TRIGGER"} & set(p)


def test_folding_limits_octets_and_keeps_characters_whole() -> None:
    long_vi = "Hội nghị đại biểu công đoàn cơ sở nhiệm kỳ 2026–2031, thảo luận: " * 6
    data = build(title=long_vi, description=long_vi, location="Ở " + "ạ" * 200)
    lines = physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    assert any(len(line) >= 73 for line in lines)  # lines are filled, not folded early
    assert sum(line.startswith(b" ") for line in lines) > 10
    for line in lines:
        line.decode("utf-8")  # raises if a multi-byte character was split
    p = props(data)
    assert unescape(p["SUMMARY"][0]) == long_vi
    assert p["LOCATION"] == ["Ở " + "ạ" * 200]


def test_line_of_exactly_75_octets_is_not_folded() -> None:
    title = "a" * (75 - len("SUMMARY:"))
    lines = physical_lines(build(title=title))
    assert f"SUMMARY:{title}".encode() in lines


def test_four_byte_characters_fold_cleanly() -> None:
    title = "🎉" * 40
    lines = physical_lines(build(title=title))
    assert max(len(line) for line in lines) <= 75
    assert props(build(title=title))["SUMMARY"] == [title]


def test_alarms() -> None:
    data = build(reminders_minutes=[60, 1440, 60, 15])
    lines = unfold(data)
    assert lines.count("BEGIN:VALARM") == 3
    assert lines.count("END:VALARM") == 3
    assert props(data)["TRIGGER"] == ["-PT1440M", "-PT60M", "-PT15M"]
    assert props(data)["ACTION"] == ["DISPLAY"] * 3
    # DISPLAY alarms need a DESCRIPTION; the event itself has none here.
    assert props(data)["DESCRIPTION"] == ["Sinh hoạt tổ công đoàn"] * 3
    # Alarms sit inside the VEVENT.
    first_alarm = lines.index("BEGIN:VALARM")
    assert lines.index("BEGIN:VEVENT") < first_alarm < lines.index("END:VEVENT")


def test_cancellation() -> None:
    data = build(sequence=3, cancelled=True, reminders_minutes=[60])
    lines = unfold(data)
    p = props(data)
    assert p["METHOD"] == ["CANCEL"]
    assert p["STATUS"] == ["CANCELLED"]
    assert p["SEQUENCE"] == ["3"]
    assert p["UID"] == ["meeting-42@congdoan-bot"]
    assert "BEGIN:VALARM" not in lines
    assert "METHOD:PUBLISH" not in lines


def test_organizer() -> None:
    p = props(build(organizer_name='Ban chấp hành "CĐ"; tổ 1'))
    [name] = [k for k in p if k.startswith("ORGANIZER")]
    assert name == "ORGANIZER;CN=\"Ban chấp hành 'CĐ'; tổ 1\""
    assert p[name] == ["mailto:noreply@congdoan-bot.invalid"]


def test_dtstamp_from_aware_local_now() -> None:
    p = props(build(now=datetime(2026, 11, 23, 9, 0, 5, tzinfo=TZ)))
    assert p["DTSTAMP"] == ["20261123T020005Z"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"starts_at": datetime(2026, 12, 20, 14, 0)},
        {"now": datetime(2026, 11, 23, 2, 0)},
        {"ends_at": START},
        {"sequence": -1},
        {"reminders_minutes": [0]},
    ],
)
def test_invalid_arguments(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build(**overrides)


# ------------------------------------------------------------------------------ ics_filename


def test_filename() -> None:
    assert ics_filename("Sinh hoạt tổ", START) == "hop-2026-12-20-sinh-hoat-to.ics"
    assert ics_filename("Đại hội Công đoàn!", START) == "hop-2026-12-20-dai-hoi-cong-doan.ics"
    assert ics_filename("🎉 ", START) == "hop-2026-12-20.ics"


def test_filename_date_in_given_zone() -> None:
    early = datetime(2026, 12, 20, 6, 0, tzinfo=TZ)  # 19/12 23:00 UTC
    assert ics_filename("Họp", early.astimezone(UTC)).startswith("hop-2026-12-19")
    assert ics_filename("Họp", early.astimezone(UTC), tz=TZ) == "hop-2026-12-20-hop.ics"


def test_filename_long_title() -> None:
    name = ics_filename("Hội nghị đại biểu công đoàn cơ sở nhiệm kỳ 2026 2031 " * 3, START)
    assert len(name) <= 60
    assert name.isascii()
    assert re.fullmatch(r"hop-2026-12-20-[a-z0-9]+(-[a-z0-9]+)*\.ics", name)
    assert name.startswith("hop-2026-12-20-hoi-nghi-dai-bieu")
