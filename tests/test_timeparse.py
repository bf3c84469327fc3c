"""Tests for bot.timeparse: date/time, end-time/duration and reminder-offset parsing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import timeparse as tp
from bot.textutil import InvalidInput
from bot.timeparse import parse_duration_or_end, parse_local_datetime, parse_offsets

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 23/11/2026 09:00 in Vietnam


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a Vietnam wall-clock time (what the parsers must return)."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def parse(text: str, now: datetime = NOW) -> datetime:
    return parse_local_datetime(text, now=now, tz=TZ)


def error(func: Callable[..., object], *args: object, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        func(*args, **kwargs)
    return info.value


def test_every_raised_key_is_documented() -> None:
    doc = tp.__doc__ or ""
    source = Path(tp.__file__).read_text(encoding="utf-8")
    raised = set(re.findall(r'"(invalid\.[a-z_.]+)"', source))
    assert len(raised) == 11, raised
    for key in raised:
        assert f"``{key}``" in doc, key


# ------------------------------------------------------------------- existing explicit forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20/12/2026 14:00", local(2026, 12, 20, 14)),
        ("20/12 14:00", local(2026, 12, 20, 14)),
        ("20/12/2026 14h30", local(2026, 12, 20, 14, 30)),
        ("14h 20/12", local(2026, 12, 20, 14)),
        ("20-12-2026 9:05", local(2026, 12, 20, 9, 5)),
        ("20.12.2026 9:05", local(2026, 12, 20, 9, 5)),
        ("24/11 7h30", local(2026, 11, 24, 7, 30)),
        ("20/12 lúc 14h", local(2026, 12, 20, 14)),
        ("20/12 luc 14h", local(2026, 12, 20, 14)),
        ("ngày 20/12 lúc 14h", local(2026, 12, 20, 14)),
        ("ngày 20 tháng 12 lúc 9h", local(2026, 12, 20, 9)),
        ("9h ngay 20 thang 12 nam 2027", local(2027, 12, 20, 9)),
        ("  20/12/2026   14:00  ", local(2026, 12, 20, 14)),
        ("20/12. 9h", local(2026, 12, 20, 9)),
    ],
)
def test_explicit_dates(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_result_is_aware_utc() -> None:
    result = parse("20/12/2026 14:00")
    assert result.tzinfo is UTC
    assert result == datetime(2026, 12, 20, 7, 0, tzinfo=UTC)


def test_date_without_year_rolls_to_next_year_once_passed() -> None:
    assert parse("22/11 10h") == local(2027, 11, 22, 10)  # yesterday -> next year
    assert parse("23/11 10h") == local(2026, 11, 23, 10)  # today, still ahead
    assert parse("1/1 8h") == local(2027, 1, 1, 8)


def test_today_with_past_time_is_past_not_next_year() -> None:
    assert error(parse, "23/11 8h").key == "invalid.datetime.past"


# ------------------------------------------------------------------------------- time forms


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("14:00", 14, 0),
        ("14h", 14, 0),
        ("14H", 14, 0),
        ("14h30", 14, 30),
        ("14h 30", 14, 30),
        ("14 h", 14, 0),
        ("14 giờ", 14, 0),
        ("14 gio", 14, 0),
        ("14 giờ 30", 14, 30),
        ("14 giờ 30 phút", 14, 30),
        ("14h30p", 14, 30),
        ("2 giờ chiều", 14, 0),
        ("2 gio chieu", 14, 0),
        ("2h chiều", 14, 0),
        ("2 giờ rưỡi chiều", 14, 30),
        ("14h chiều", 14, 0),
        ("12h trưa", 12, 0),
        ("12h trua", 12, 0),
        ("11h trưa", 11, 0),
        ("1h trưa", 13, 0),
        ("7h tối", 19, 0),
        ("7h toi", 19, 0),
        ("19h tối", 19, 0),
        ("11h sáng", 11, 0),
        ("7g30 tối", 19, 30),
        ("15g30", 15, 30),
        ("lúc 14h", 14, 0),
        ("chiều 3h", 15, 0),
        ("buổi chiều lúc 3h", 15, 0),
        ("23:59", 23, 59),
    ],
)
def test_time_alone_is_today(text: str, hour: int, minute: int) -> None:
    assert parse(text) == local(2026, 11, 23, hour, minute)


@pytest.mark.parametrize("text", ["8h sáng", "8h sang", "7g30", "9:00", "9h", "0h", "8h30"])
def test_time_alone_already_passed_is_past_not_tomorrow(text: str) -> None:
    assert error(parse, text).key == "invalid.datetime.past"


def test_time_one_minute_ahead_is_accepted() -> None:
    assert parse("9:01") == local(2026, 11, 23, 9, 1)


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("25h", 25, 0),
        ("24:00", 24, 0),
        ("14:75", 14, 75),
        ("14h sáng", 14, 0),
        ("12h sáng", 12, 0),
        ("12h tối", 12, 0),
        ("0h chiều", 0, 0),
        ("5h trưa", 5, 0),
    ],
)
def test_bad_time(text: str, hour: int, minute: int) -> None:
    exc = error(parse, "mai " + text)
    assert exc.key == "invalid.datetime.bad_time"
    assert exc.params == {"hour": hour, "minute": minute}


# -------------------------------------------------------------------------- relative days


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hôm nay 14h", local(2026, 11, 23, 14)),
        ("hom nay 14h", local(2026, 11, 23, 14)),
        ("nay 14h", local(2026, 11, 23, 14)),
        ("chiều nay 3h", local(2026, 11, 23, 15)),
        ("tối nay 7h", local(2026, 11, 23, 19)),
        ("mai 8h", local(2026, 11, 24, 8)),
        ("Mai 8h", local(2026, 11, 24, 8)),
        ("ngày mai 8h", local(2026, 11, 24, 8)),
        ("ngay mai 8h", local(2026, 11, 24, 8)),
        ("8h sáng mai", local(2026, 11, 24, 8)),
        ("8h sang mai", local(2026, 11, 24, 8)),
        ("sáng mai 8h", local(2026, 11, 24, 8)),
        ("chiều mai 2h", local(2026, 11, 24, 14)),
        ("8h mai", local(2026, 11, 24, 8)),
        ("ngày kia 9h", local(2026, 11, 25, 9)),
        ("ngay kia 9h", local(2026, 11, 25, 9)),
        ("mốt 9h", local(2026, 11, 25, 9)),
        ("mot 9h", local(2026, 11, 25, 9)),
        ("ngày mốt 9h", local(2026, 11, 25, 9)),
        ("mai, 8h", local(2026, 11, 24, 8)),
    ],
)
def test_relative_days(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_today_past_time_is_past() -> None:
    assert error(parse, "hôm nay 8h").key == "invalid.datetime.past"


# -------------------------------------------------------------------------------- weekdays

# NOW is Monday 23/11 09:00: Tuesday is 24/11 ... Sunday 29/11, next Monday 30/11.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thứ Ba 14h", local(2026, 11, 24, 14)),
        ("thu ba 14h", local(2026, 11, 24, 14)),
        ("thứ Tư 14h", local(2026, 11, 25, 14)),
        ("thứ tư 14h", local(2026, 11, 25, 14)),
        ("thứ Năm 14h", local(2026, 11, 26, 14)),
        ("thứ Sáu 14h", local(2026, 11, 27, 14)),
        ("thu sau 14h", local(2026, 11, 27, 14)),
        ("THỨ SÁU 14H", local(2026, 11, 27, 14)),
        ("14h thứ Sáu", local(2026, 11, 27, 14)),
        ("thứ Sáu, 14h", local(2026, 11, 27, 14)),
        ("thứ Sáu lúc 14h", local(2026, 11, 27, 14)),
        ("thứ Bảy 8h", local(2026, 11, 28, 8)),
        ("thu bay 8h", local(2026, 11, 28, 8)),
        ("thứ 2 10h", local(2026, 11, 23, 10)),
        ("thứ 3 14h", local(2026, 11, 24, 14)),
        ("thứ 4 14h", local(2026, 11, 25, 14)),
        ("thứ 5 14h", local(2026, 11, 26, 14)),
        ("thứ 6 14h", local(2026, 11, 27, 14)),
        ("thu 7 14h", local(2026, 11, 28, 14)),
        ("T3 14h", local(2026, 11, 24, 14)),
        ("t6 14h", local(2026, 11, 27, 14)),
        ("T7 14h", local(2026, 11, 28, 14)),
        ("chủ nhật 9h", local(2026, 11, 29, 9)),
        ("chu nhat 9h", local(2026, 11, 29, 9)),
        ("CN 9h", local(2026, 11, 29, 9)),
        ("8h tối thứ Sáu", local(2026, 11, 27, 20)),
        ("thứ Sáu này 9h", local(2026, 11, 27, 9)),
        ("thu 6 nay 9h", local(2026, 11, 27, 9)),
        ("thứ Sáu tới 9h", local(2026, 11, 27, 9)),  # accented "tới" = coming
        ("thứ Sáu sắp tới 9h", local(2026, 11, 27, 9)),
        ("thu 6 toi 8h", local(2026, 11, 27, 20)),  # unaccented "toi" = tối (evening)
    ],
)
def test_weekday_next_occurrence(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_todays_weekday_is_today_while_time_ahead() -> None:
    assert parse("thứ Hai 14h") == local(2026, 11, 23, 14)
    assert parse("thứ hai 9:01") == local(2026, 11, 23, 9, 1)
    assert parse("T2 10h") == local(2026, 11, 23, 10)


def test_todays_weekday_rolls_to_next_week_once_time_passed() -> None:
    assert parse("thứ Hai 8h") == local(2026, 11, 30, 8)
    assert parse("thu 2 9h") == local(2026, 11, 30, 9)  # exactly now is not ahead


def test_weekday_from_sunday_evening() -> None:
    sunday_evening = local(2026, 11, 29, 20)
    assert parse("thứ Hai 8h", sunday_evening) == local(2026, 11, 30, 8)
    assert parse("CN 19h", sunday_evening) == local(2026, 12, 6, 19)
    assert parse("CN 21h", sunday_evening) == local(2026, 11, 29, 21)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Next calendar week = Monday 30/11 .. Sunday 06/12.
        ("thứ Sáu tuần sau 14h", local(2026, 12, 4, 14)),
        ("thu sau tuan sau 14h", local(2026, 12, 4, 14)),
        ("thứ Sáu tuần tới 14h", local(2026, 12, 4, 14)),
        ("thu 6 tuan toi 14h", local(2026, 12, 4, 14)),
        ("14h thứ 6 tuần kế", local(2026, 12, 4, 14)),
        ("tuần sau thứ Sáu 14h", local(2026, 12, 4, 14)),
        ("thứ Hai tuần sau 8h", local(2026, 11, 30, 8)),
        ("thứ Hai tuần sau 14h", local(2026, 11, 30, 14)),  # not today even though ahead
        ("chủ nhật tuần sau 9h", local(2026, 12, 6, 9)),
        ("CN tuần tới 9h", local(2026, 12, 6, 9)),
        ("thứ 2 tuần này 10h", local(2026, 11, 23, 10)),
        ("chủ nhật tuần này 10h", local(2026, 11, 29, 10)),
    ],
)
def test_weekday_with_week(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_next_week_is_the_next_calendar_week() -> None:
    # From Sunday 29/11 "next week's Monday" is tomorrow, and its Sunday is 7 days away.
    sunday = local(2026, 11, 29, 10)
    assert parse("thứ Hai tuần sau 9h", sunday) == local(2026, 11, 30, 9)
    assert parse("CN tuần sau 9h", sunday) == local(2026, 12, 6, 9)
    # From Friday 27/11 the bare weekday and "tuần sau" differ by a week.
    friday = local(2026, 11, 27, 10)
    assert parse("thứ Hai 9h", friday) == local(2026, 11, 30, 9)
    assert parse("thứ Hai tuần sau 9h", friday) == local(2026, 11, 30, 9)
    assert parse("thứ Năm 9h", friday) == local(2026, 12, 3, 9)


def test_this_week_weekday_already_gone_is_past() -> None:
    friday = local(2026, 11, 27, 10)
    assert error(parse, "thứ Hai tuần này 9h", friday).key == "invalid.datetime.past"


# ------------------------------------------------------------------------- invalid dates


@pytest.mark.parametrize(
    ("text", "day", "month", "year"),
    [
        ("31/02 14h", 31, 2, 2027),  # 31/02 is "behind" 23/11, so next year is tried
        ("31/02/2027 14h", 31, 2, 2027),
        ("29/02/2027 10h", 29, 2, 2027),
        ("29/02 10h", 29, 2, 2027),  # the next 29 February (2028) is more than a year away
        ("31/11/2026 10h", 31, 11, 2026),
        ("12/13 10h", 12, 13, 2026),  # (13, 12) is not behind (11, 23)
        ("0/12/2026 10h", 0, 12, 2026),
    ],
)
def test_impossible_dates(text: str, day: int, month: int, year: int) -> None:
    exc = error(parse, text)
    assert exc.key == "invalid.datetime.impossible"
    assert {k: exc.params[k] for k in ("day", "month", "year")} == {
        "day": day,
        "month": month,
        "year": year,
    }
    leap = "/2027" if (day, month) == (29, 2) else ""  # the year decides only for 29/02
    assert exc.params["shown"] == f"{day:02d}/{month:02d}{leap}"


def test_leap_day() -> None:
    assert parse("29/02/2028 10h") == local(2028, 2, 29, 10)
    assert parse("29/02 10h", local(2027, 12, 1, 9)) == local(2028, 2, 29, 10)


@pytest.mark.parametrize(
    "text",
    ["20/12", "20/12/2026", "mai", "ngày mai", "thứ Sáu", "thu 6 tuan sau", "CN", "chiều mai"],
)
def test_date_without_time(text: str) -> None:
    assert error(parse, text).key == "invalid.datetime.no_time"


def test_past() -> None:
    assert error(parse, "20/11/2026 14:00").key == "invalid.datetime.past"
    assert error(parse, "23/11/2026 09:00").key == "invalid.datetime.past"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "20/12 14:00 nhé bạn",
        "20/12/26 9h",  # two-digit year
        "tuần sau 9h",  # a week without a weekday
        "mai thứ Sáu 9h",  # two days
        "20/12 mai 9h",
        "14h 15h",  # two times
        "thứ 8 9h",
        "thứ 9h",
        "14",
        "2 giờ sáng chiều",
    ],
)
def test_unreadable(text: str) -> None:
    assert error(parse, text).key == "invalid.datetime.format"


def test_other_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # NOW is Monday 11:00 in Tokyo.
    got = parse_local_datetime("mai 8h", now=NOW, tz=tokyo)
    assert got == datetime(2026, 11, 24, 8, tzinfo=tokyo).astimezone(UTC)


# ------------------------------------------------------------------- parse_duration_or_end

START = local(2026, 12, 20, 9)  # Sunday 20/12/2026 09:00 in Vietnam
AFTERNOON = local(2026, 12, 20, 14)


def end(text: str, start: datetime = START) -> datetime:
    return parse_duration_or_end(text, start=start, tz=TZ)


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("16:30", 16, 30),
        ("16h30", 16, 30),
        ("16 giờ 30", 16, 30),
        ("16g30", 16, 30),
        ("đến 16h30", 16, 30),
        ("den 17h", 17, 0),
        ("tới 10h", 10, 0),
        ("lúc 11h", 11, 0),
        ("kết thúc lúc 11h", 11, 0),
        ("5h chiều", 17, 0),
        ("5 gio chieu", 17, 0),
        ("10h", 10, 0),  # later than the 09:00 start: a clock time
        ("16 giờ 30 phút", 16, 30),
        # durations
        ("2 giờ", 11, 0),
        ("2 gio", 11, 0),
        ("2h", 11, 0),
        ("2 tiếng", 11, 0),
        ("2 tieng", 11, 0),
        ("90 phút", 10, 30),
        ("90 phut", 10, 30),
        ("90p", 10, 30),
        ("45 phút", 9, 45),
        ("1 tiếng rưỡi", 10, 30),
        ("1 tieng ruoi", 10, 30),
        ("1 giờ rưỡi", 10, 30),
        ("1h30p", 10, 30),
        ("1h 30p", 10, 30),
        ("1 tiếng 30", 10, 30),
        ("1 tiếng 30 phút", 10, 30),
        ("1 tiếng và 30 phút", 10, 30),
        ("1,5 tiếng", 10, 30),
        ("1.5 giờ", 10, 30),
        ("nửa tiếng", 9, 30),
        ("nửa giờ", 9, 30),
        ("nửa ngày", 13, 0),
        ("nua ngay", 13, 0),
        ("trong 2 giờ", 11, 0),
        ("khoảng 3 tiếng", 12, 0),
        ("kéo dài 45 phút", 9, 45),
        ("9h", 18, 0),  # not later than 09:00, so 9 hours
    ],
)
def test_end_same_day(text: str, hour: int, minute: int) -> None:
    assert end(text) == local(2026, 12, 20, hour, minute)


def test_bare_hours_depend_on_start() -> None:
    assert end("17h", AFTERNOON) == local(2026, 12, 20, 17)
    assert end("2h", AFTERNOON) == local(2026, 12, 20, 16)
    assert end("2 giờ rưỡi", AFTERNOON) == local(2026, 12, 20, 16, 30)
    assert end("trong 17 giờ", AFTERNOON) == local(2026, 12, 21, 7)  # forced duration


def test_long_duration_crosses_midnight() -> None:
    assert end("20 tiếng") == local(2026, 12, 21, 5)
    assert end("25h") == local(2026, 12, 21, 10)  # not a clock time, so a duration


def test_end_result_is_utc() -> None:
    assert end("16:30").tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["8:00", "8h30", "9:00", "1h30", "1:30", "đến 8h", "den 9h", "0 phút", "7h sáng"]
)
def test_end_before_start(text: str) -> None:
    assert error(end, text).key == "invalid.datetime.end_before_start"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2",
        "2 ngày",
        "30 phút rưỡi",
        "mai 10h",
        "16h 17h",
        "đến trong 2 giờ",
        "nửa",
        "2 tiếng nữa nhé",
    ],
)
def test_duration_unreadable(text: str) -> None:
    assert error(end, text).key == "invalid.datetime.duration_format"


def test_duration_bad_clock_time() -> None:
    exc = error(end, "đến 16:75")
    assert exc.key == "invalid.datetime.bad_time"
    assert exc.params == {"hour": 16, "minute": 75}


# ------------------------------------------------------------------------------ parse_offsets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 ngày, 1 giờ", [1440, 60]),
        ("1 ngay, 1 gio", [1440, 60]),
        ("1 giờ, 1 ngày", [1440, 60]),
        ("2d 3h 30m", [2880, 180, 30]),
        ("2d3h30m", [2880, 180, 30]),
        ("30 phút", [30]),
        ("30p", [30]),
        ("30 ph", [30]),
        ("1 tuần", [10080]),
        ("1w", [10080]),
        ("1 tuần, 1 ngày và 2 tiếng", [10080, 1440, 120]),
        ("1 ngày trước và 1 giờ trước", [1440, 60]),
        ("1 tiếng rưỡi", [90]),
        ("1 ngày rưỡi", [2160]),
        ("1 ngày; 60 phút; 1 giờ", [1440, 60]),  # duplicates merged
        ("5 phút", [5]),
        ("30 ngày", [43200]),
        ("4 tuần 2 ngày", [40320, 2880]),
        ("1 D, 2 H", [1440, 120]),
    ],
)
def test_offsets(text: str, expected: list[int]) -> None:
    assert parse_offsets(text) == expected


@pytest.mark.parametrize(
    "text", ["", "  ", "abc", "1", "1 2 3", "ngày", "1 năm", "30 phút rưỡi", "1 ngày, x", "-1 giờ"]
)
def test_offsets_format(text: str) -> None:
    assert error(parse_offsets, text).key == "invalid.offsets.format"


def test_offsets_too_many() -> None:
    exc = error(parse_offsets, "1d 2d 3d 4d 5d 6d")
    assert exc.key == "invalid.offsets.too_many"
    assert exc.params == {"max": 5}
    # Five different values (after merging duplicates) are fine.
    assert parse_offsets("1d 2d 3d 4d 5d 24h") == [7200, 5760, 4320, 2880, 1440]


@pytest.mark.parametrize("text", ["4 phút", "0 phút", "31 ngày", "5 tuần", "1 ngày, 2m"])
def test_offsets_range(text: str) -> None:
    exc = error(parse_offsets, text)
    assert exc.key == "invalid.offsets.range"
    assert exc.params == {"min_minutes": 5, "max_days": 30}
