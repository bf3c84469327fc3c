"""Reading dates, times, durations and reminder offsets the way Vietnamese users type them.

Matching is case- and accent-insensitive ("thứ Sáu" = "thu sau"), and numbers must be typed as
ASCII digits 0-9 ("٣" or "１" are not read as 3 or 1). Every function returns a value or raises
:class:`bot.textutil.InvalidInput` with a stable message-catalog key plus params (``int``
values only).

``parse_local_datetime(text, now=, tz=)`` -> aware UTC datetime
  Day and time may come in either order, optionally joined by "lúc", "vào", "ngày", "hôm",
  "buổi", commas: "14h thứ Sáu", "thứ Sáu 14h", "mai 8h", "8h sáng mai", "20/12 lúc 14h".

  Time (24-hour clock first):
  - "14:00", "9:05", "14h", "14h30", "14h 30", "7g30", "14 giờ", "14 giờ 30", "14 giờ 30 phút",
    "2 giờ rưỡi" (= 2:30).
  - A part of the day after or anywhere around the time: "sáng" keeps 0-11 ("8h sáng");
    "trưa" keeps 11, 12, 13 and makes 1, 2 into 13, 14 ("12h trưa" = 12:00);
    "chiều" and "tối" add 12 to 1-11 ("2 giờ chiều" = 14:00, "7h tối" = 19:00) and keep 13-23
    ("14h chiều"). "12h sáng", "12h tối", "0h chiều" and other contradictions are rejected
    as ambiguous.
  Day (at most one):
  - "hôm nay" / "nay"; "mai" / "ngày mai"; "ngày kia" / "mốt" / "ngày mốt" (in two days).
  - A weekday: "thứ Hai".."thứ Bảy", "thứ 2".."thứ 7", "T2".."T7", "chủ nhật" / "CN",
    optionally followed by "này" or (accented) "tới" / "sắp tới", which change nothing:
    the next such day, i.e. today when the time is still ahead today, otherwise within the
    coming 6 days (next week's when it is today's weekday and the time has passed).
  - A weekday with "tuần sau" / "tuần tới" / "tuần kế": that weekday in the next calendar
    week (weeks run Monday to Sunday), so 1-13 days ahead. With "tuần này": that weekday in
    the current calendar week, which may already be past.
  - A date: "20/12/2026", "20-12-2026", "20.12.2026", "20/12" or "ngày 20 tháng 12 [năm 2026]".
    Without a year: the next such date from today on (this year if not yet past, else next
    year; 29/02 therefore only works when the next 29 February is within a year).
  - No day: today (a time already past today is rejected, never moved to tomorrow).
  Without accents "toi" is read as "tối" (evening): "thu 6 toi 8h" is Friday 20:00, whereas
  "thứ 6 tới 8h" is Friday 08:00.

``parse_duration_or_end(text, start=, tz=)`` -> aware UTC end time
  - End time on the start's local day: "16:30", "16h30", "16 giờ 30", "5h chiều", or any time
    after "đến" / "tới" / "lúc" / "kết thúc" ("đến 17h").
  - Duration: "2 tiếng", "90 phút", "90p", "1h30p", "1 tiếng 30", "1 tiếng 30 phút",
    "1 tiếng rưỡi", "1,5 tiếng", "nửa tiếng" / "nửa giờ" (30 min), "nửa ngày" (4 hours);
    "trong" / "khoảng" / "kéo dài" may come first.
  - Text that reads both ways, a whole number of hours with or without "rưỡi" / "N phút"
    ("2h", "2 giờ", "2 giờ rưỡi", "16 giờ 30 phút"), is the end time when that time is
    later than the start on the same day, otherwise a duration: after a 14:00 start "17h" ends
    at 17:00; after a 09:00 start "2h" lasts 2 hours. "1h30" / "1:30" are always clock times.

``parse_offsets(text)`` -> reminder offsets in minutes, unique, largest first
  Items of number + unit separated by spaces, commas, "và", optionally followed by "trước":
  "1 ngày, 1 giờ", "2d 3h 30m" (three reminders), "30 phút", "1 tuần", "1 tiếng rưỡi".
  Units: tuần/w, ngày/d, giờ/tiếng/h, phút/ph/p/m. Duplicates are merged.

Reason keys (params in parentheses):
- ``invalid.datetime.format`` -- ``parse_local_datetime``: not readable as a day and a time
  (unknown words, two days or two times, "tuần sau" without a weekday, ...).
- ``invalid.datetime.no_time`` -- ``parse_local_datetime``: a day (or "sáng"/"chiều"...) but
  no clock time.
- ``invalid.datetime.impossible`` (day, month, year, shown) -- no such calendar day, e.g.
  31/02; ``year`` is the year that was tried when none was typed; ``shown`` is the day as
  people write it ("31/02", with the year for 29/02: "29/02/2027").
- ``invalid.datetime.bad_time`` (hour, minute) -- hour above 23, minute above 59, or a part of
  the day that contradicts the hour ("14h sáng", "12h tối"); the numbers are as typed.
- ``invalid.datetime.past`` -- ``parse_local_datetime``: not strictly after now.
- ``invalid.datetime.duration_format`` -- ``parse_duration_or_end``: neither an end time nor
  a duration.
- ``invalid.datetime.end_before_start`` -- ``parse_duration_or_end``: the end is not strictly
  after the start.
- ``invalid.datetime.too_long`` (max_days) -- ``parse_duration_or_end``: a duration of more
  than ``max_days`` days (also one of absurdly many digits).
- ``invalid.offsets.format`` -- ``parse_offsets``: empty, or an item is not number + unit.
- ``invalid.offsets.too_many`` (max) -- more than ``max`` different offsets.
- ``invalid.offsets.range`` (min_minutes, max_days) -- an offset is shorter than
  ``min_minutes`` minutes or longer than ``max_days`` days.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.textutil import InvalidInput, search_key

__all__ = [
    "DURATION_MAX_DAYS",
    "HALF_DAY_MINUTES",
    "OFFSETS_MAX_ITEMS",
    "OFFSET_MAX_MINUTES",
    "OFFSET_MIN_MINUTES",
    "parse_duration_or_end",
    "parse_local_datetime",
    "parse_offsets",
]

OFFSETS_MAX_ITEMS = 5
DURATION_MAX_DAYS = 7  # a meeting (a congress included) lasts at most a week
DURATION_MAX_MINUTES = DURATION_MAX_DAYS * 24 * 60
OFFSET_MIN_MINUTES = 5
OFFSET_MAX_DAYS = 30
OFFSET_MAX_MINUTES = OFFSET_MAX_DAYS * 24 * 60
HALF_DAY_MINUTES = 4 * 60  # "nửa ngày" = a half working day, not 12 hours

# ---------------------------------------------------------------------------- normalisation

# "tới" (coming / until) and "tối" (evening) both fold to "toi"; tell them apart while the
# accents are still there. "tuần tới" means next week; a lone "tới" becomes "đến" (until),
# which parse_local_datetime ignores ("thứ Sáu tới" = the coming Friday).
_NEXT_WEEK_ACCENTED = re.compile(r"(?<!\w)tuần\s+tới(?!\w)")
_TOI_ACCENTED = re.compile(r"(?<!\w)tới(?!\w)")


def _normalize(text: str) -> str:
    lowered = unicodedata.normalize("NFC", text).lower()
    lowered = _NEXT_WEEK_ACCENTED.sub("tuần sau", lowered)
    lowered = _TOI_ACCENTED.sub("đến", lowered)
    return search_key(lowered)


def _take(pattern: re.Pattern[str], s: str, error: str) -> tuple[re.Match[str] | None, str]:
    """Remove the single match of ``pattern`` from ``s``; two matches are ambiguous."""
    matches = list(pattern.finditer(s))
    if len(matches) > 1:
        raise InvalidInput(error)
    if not matches:
        return None, s
    m = matches[0]
    # A space keeps the neighbours apart ("thu 6 14h" must not become "14h" glued to "6").
    return m, s[: m.start()] + " " + s[m.end() :]


_PUNCTUATION = re.compile(r"[\s,.;!?\-]+")


def _only_fillers(s: str, fillers: re.Pattern[str] | None = None) -> bool:
    return not _PUNCTUATION.sub("", fillers.sub(" ", s) if fillers else s)


def _skip(pattern: re.Pattern[str], s: str, pos: int) -> int:
    """End of the (possibly empty) run of separators at ``pos``."""
    m = pattern.match(s, pos)
    return m.end() if m else pos


# ------------------------------------------------------------------------------ components

_DATE_NUMERIC = re.compile(
    r"(?<![\w:/.\-])([0-9]{1,2})\s*[/.\-]\s*([0-9]{1,2})(?:\s*[/.\-]\s*([0-9]{4}))?"
    r"(?![\w/\-]|\.[0-9])"
)
_DATE_WORDS = re.compile(
    r"(?<!\w)([0-9]{1,2})\s+thang\s+([0-9]{1,2})(?:\s+nam\s+([0-9]{4}))?(?!\w)"
)
_WEEKDAY_WORDS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}
_WEEKDAY = re.compile(
    r"(?<!\w)(?:thu\s*(?P<word>hai|ba|tu|nam|sau|bay|[2-7])|t(?P<short>[2-7])"
    r"|(?P<sun>chu\s*nhat|cn))"
    r"(?:\s+nay)?(?!\w)"  # "thứ Sáu này" = the coming Friday, same as a bare weekday
)
_WEEK = re.compile(r"(?<!\w)tuan\s+(sau|toi|ke|nay)(?!\w)")
_RELATIVE_DAYS = {
    "hom nay": 0,
    "nay": 0,
    "ngay mai": 1,
    "mai": 1,
    "ngay kia": 2,
    "ngay mot": 2,
    "mot": 2,
}
_RELATIVE = re.compile(r"(?<!\w)(hom\s+nay|ngay\s+mai|ngay\s+kia|ngay\s+mot|nay|mai|mot)(?!\w)")
_PERIOD = re.compile(r"(?<!\w)(sang|trua|chieu|toi)(?!\w)")
_TIME = re.compile(
    r"""
    (?<![\w:/.\-])(?P<hour>[0-9]{1,2})\s*
    (?:
        :\s*(?P<colon>[0-9]{2})
      | (?:gio|h|g)
        (?:
            # minutes, unless they are really the day of a date ("14h 20/12")
            \s*(?P<minute>[0-9]{1,2})(?!\s*[/.\-]\s*[0-9])(?P<unit>\s*(?:phut|ph|p)(?![a-z]))?
          | \s*(?P<half>ruoi)
        )?
    )
    (?![\w:])
    """,
    re.VERBOSE,
)
_DATETIME_FILLERS = re.compile(r"(?<!\w)(?:luc|vao|ngay|hom|buoi|den|sap)(?!\w)")


@dataclass(frozen=True)
class _Clock:
    hour: int  # as typed, before applying the part of the day
    minute: int
    period: str | None


def _clock_from(m: re.Match[str], period: str | None) -> _Clock:
    minute = 30 if m.group("half") else int(m.group("colon") or m.group("minute") or 0)
    return _Clock(int(m.group("hour")), minute, period)


def _to_time(clock: _Clock) -> time:
    """Apply the part of the day; raises bad_time for out-of-range or contradictory input."""
    hour, minute, period = clock.hour, clock.minute, clock.period
    bad = InvalidInput("invalid.datetime.bad_time", hour=hour, minute=minute)
    if hour > 23 or minute > 59:
        raise bad
    if period == "sang":
        ok = hour <= 11
    elif period == "trua":
        ok = hour in (11, 12, 13, 1, 2)
        hour = hour + 12 if hour in (1, 2) else hour
    elif period == "chieu":
        # "12 giờ chiều" is noon; "0 giờ chiều" means nothing.
        ok = hour != 0
        hour = hour + 12 if 1 <= hour <= 11 else hour
    elif period == "toi":
        # "12 giờ tối" is midnight to some and noon by the +12 rule: refuse to guess.
        ok = hour not in (0, 12)
        hour = hour + 12 if 1 <= hour <= 11 else hour
    else:
        ok = True
    if not ok:
        raise bad
    return time(hour, minute)


def _explicit_date(m: re.Match[str], today: date) -> date:
    day, month = int(m.group(1)), int(m.group(2))
    if m.group(3):
        year = int(m.group(3))
    else:
        # The next such date from today on: this year unless that day is already behind us.
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    try:
        return date(year, month, day)
    except ValueError:
        # "31/02"; with the year where it decides (29/02 of a year that has none)
        shown = f"{day:02d}/{month:02d}" + (f"/{year}" if (day, month) == (29, 2) else "")
        raise InvalidInput(
            "invalid.datetime.impossible", day=day, month=month, year=year, shown=shown
        ) from None


def _weekday_index(m: re.Match[str]) -> int:
    if m.group("sun"):
        return 6
    token = m.group("word") or m.group("short")
    return int(token) - 2 if token.isdigit() else _WEEKDAY_WORDS[token]


# ------------------------------------------------------------------------ parse_local_datetime


def parse_local_datetime(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """Read a day and a time (see the module docstring); return it as an aware UTC datetime.

    Raises InvalidInput with "invalid.datetime.format" | ".no_time" | ".impossible" |
    ".bad_time" | ".past".
    """
    fmt = "invalid.datetime.format"
    s = _normalize(text)
    # Order matters: dates before times (so "20" in "14h 20/12" is not minutes), weekdays
    # before relative days ("thu 6 nay"), "tuan toi" before the part of the day "toi".
    date_m, s = _take(_DATE_NUMERIC, s, fmt)
    words_m, s = _take(_DATE_WORDS, s, fmt)
    weekday_m, s = _take(_WEEKDAY, s, fmt)
    week_m, s = _take(_WEEK, s, fmt)
    relative_m, s = _take(_RELATIVE, s, fmt)
    time_m, s = _take(_TIME, s, fmt)
    period_m, s = _take(_PERIOD, s, fmt)
    if not _only_fillers(s, _DATETIME_FILLERS):
        raise InvalidInput(fmt)
    explicit_m = date_m or words_m
    days_given = sum(m is not None for m in (date_m, words_m, weekday_m, relative_m))
    if days_given > 1 or (week_m and not weekday_m):
        raise InvalidInput(fmt)
    if time_m is None:
        if days_given or period_m:
            raise InvalidInput("invalid.datetime.no_time")
        raise InvalidInput(fmt)

    local_now = now.astimezone(tz)
    today = local_now.date()
    when_date = _explicit_date(explicit_m, today) if explicit_m else today
    when_time = _to_time(_clock_from(time_m, period_m.group(1) if period_m else None))
    if relative_m:
        offset = _RELATIVE_DAYS[" ".join(relative_m.group(1).split())]
        when_date = today + timedelta(days=offset)
    elif weekday_m:
        wanted = _weekday_index(weekday_m)
        monday = today - timedelta(days=today.weekday())
        week = week_m.group(1) if week_m else None
        if week == "nay":
            when_date = monday + timedelta(days=wanted)
        elif week:
            when_date = monday + timedelta(days=7 + wanted)
        else:
            ahead = (wanted - today.weekday()) % 7
            if ahead == 0 and datetime.combine(today, when_time, tzinfo=tz) <= local_now:
                ahead = 7
            when_date = today + timedelta(days=ahead)

    local = datetime.combine(when_date, when_time, tzinfo=tz)
    if local <= local_now:
        raise InvalidInput("invalid.datetime.past")
    return local.astimezone(UTC)


# ---------------------------------------------------------------------- parse_duration_or_end

_HOUR_UNITS = ("tieng", "gio", "h", "g")
_DURATION_MAX_DIGITS = 9
_DURATION_ITEM = re.compile(
    r"(?P<value>[0-9]+(?:[.,][0-9]+)?)\s*(?P<unit>tieng|gio|phut|ph|h|g|p|m)(?![a-z])"
    r"(?:\s*(?P<half>ruoi)(?!\w))?"
)
# "1 tiếng 30": minutes without a unit, only after "tiếng" (never a clock time) and only when
# no unit follows ("1 tiếng 30 phút" is two items).
_TIENG_MINUTES = re.compile(r"\s*([0-9]{1,2})(?!\w)(?!\s*(?:tieng|gio|phut|ph|h|g|p|m)(?![a-z]))")
_HALF_OF = re.compile(r"nua\s+(ngay|tieng|gio)(?!\w)")
_HALF_MINUTES = {"ngay": HALF_DAY_MINUTES, "tieng": 30, "gio": 30}
_CLOCK_MARKERS = re.compile(r"(?<!\w)(?:ket\s+thuc|den|luc)(?!\w)")
_DURATION_MARKERS = re.compile(r"(?<!\w)(?:trong|khoang|keo\s+dai)(?!\w)")
_SEPARATORS = re.compile(r"(?:[\s,;+]|(?<!\w)va(?!\w))*")


def _read_duration(s: str) -> int | None:
    """Minutes of a duration made of items, or None if ``s`` is not one."""
    total = 0.0
    pos = _skip(_SEPARATORS, s, 0)
    if pos == len(s):
        return None
    while pos < len(s):
        if half := _HALF_OF.match(s, pos):
            total += _HALF_MINUTES[half.group(1)]
            pos = half.end()
        elif m := _DURATION_ITEM.match(s, pos):
            if len(m.group("value")) > _DURATION_MAX_DIGITS:
                return DURATION_MAX_MINUTES + 1  # float() of 400 digits is infinite
            value = float(m.group("value").replace(",", "."))
            pos = m.end()
            if m.group("unit") in _HOUR_UNITS:
                total += value * 60 + (30 if m.group("half") else 0)
                extra = _TIENG_MINUTES.match(s, pos) if m.group("unit") == "tieng" else None
                if extra:
                    total += int(extra.group(1))
                    pos = extra.end()
            elif m.group("half"):
                return None  # "30 phút rưỡi" means nothing
            else:
                total += value
        else:
            return None
        pos = _skip(_SEPARATORS, s, pos)
    return round(total)


def _read_clock(s: str) -> _Clock | None:
    time_m, rest = _take(_TIME, s, "invalid.datetime.duration_format")
    period_m, rest = _take(_PERIOD, rest, "invalid.datetime.duration_format")
    if time_m is None or not _only_fillers(rest):
        return None
    return _clock_from(time_m, period_m.group(1) if period_m else None)


def parse_duration_or_end(text: str, *, start: datetime, tz: ZoneInfo) -> datetime:
    """Read an end time or a duration after ``start``; return the end as an aware UTC datetime.

    Raises InvalidInput with "invalid.datetime.duration_format" | ".bad_time" |
    ".end_before_start" | ".too_long" (max_days).
    """
    fmt = "invalid.datetime.duration_format"
    s = _normalize(text)
    clock_marked = bool(_CLOCK_MARKERS.search(s))
    duration_marked = bool(_DURATION_MARKERS.search(s))
    if clock_marked and duration_marked:
        raise InvalidInput(fmt)
    s = " ".join(_DURATION_MARKERS.sub(" ", _CLOCK_MARKERS.sub(" ", s)).split())
    local_start = start.astimezone(tz)
    duration = None if clock_marked else _read_duration(s)
    clock = None if duration_marked else _read_clock(s)
    end: datetime | None = None
    if clock is not None:
        try:
            local_end = datetime.combine(local_start.date(), _to_time(clock), tzinfo=tz)
        except InvalidInput:
            if duration is None:
                raise
        else:
            # Text that reads both ways ("2h", "16 giờ 30 phút") is the end time only when
            # that makes sense: "17h" after a 14:00 start, but "2h" after 09:00 is 2 hours.
            if duration is None or local_end > local_start:
                end = local_end.astimezone(UTC)
    if end is None:
        if duration is None:
            raise InvalidInput(fmt)
        if duration > DURATION_MAX_MINUTES:
            raise InvalidInput("invalid.datetime.too_long", max_days=DURATION_MAX_DAYS)
        end = start + timedelta(minutes=duration)
    if end <= start:
        raise InvalidInput("invalid.datetime.end_before_start")
    return end.astimezone(UTC)


# ----------------------------------------------------------------------------- parse_offsets

_OFFSET_ITEM = re.compile(
    r"(?P<value>[0-9]+)\s*(?P<unit>tuan|ngay|tieng|gio|phut|ph|w|d|h|p|m)(?![a-z])"
    r"(?:\s*(?P<half>ruoi)(?!\w))?"
)
_OFFSET_UNITS = {
    "tuan": 7 * 24 * 60,
    "w": 7 * 24 * 60,
    "ngay": 24 * 60,
    "d": 24 * 60,
    "tieng": 60,
    "gio": 60,
    "h": 60,
    "phut": 1,
    "ph": 1,
    "p": 1,
    "m": 1,
}
_OFFSET_SEPARATORS = re.compile(r"(?:[\s,;+]|(?<!\w)(?:va|truoc)(?!\w))*")


def parse_offsets(text: str) -> list[int]:
    """Read reminder offsets; return minutes, unique, largest first.

    Raises InvalidInput with "invalid.offsets.format" | ".too_many" (max) |
    ".range" (min_minutes, max_days).
    """
    s = _normalize(text)
    values: set[int] = set()
    pos = _skip(_OFFSET_SEPARATORS, s, 0)
    while pos < len(s):
        m = _OFFSET_ITEM.match(s, pos)
        if m is None:
            raise InvalidInput("invalid.offsets.format")
        unit = _OFFSET_UNITS[m.group("unit")]
        if m.group("half") and unit == 1:
            raise InvalidInput("invalid.offsets.format")  # "30 phút rưỡi"
        minutes = int(m.group("value")) * unit + (unit // 2 if m.group("half") else 0)
        if not OFFSET_MIN_MINUTES <= minutes <= OFFSET_MAX_MINUTES:
            raise InvalidInput(
                "invalid.offsets.range", min_minutes=OFFSET_MIN_MINUTES, max_days=OFFSET_MAX_DAYS
            )
        values.add(minutes)
        pos = _skip(_OFFSET_SEPARATORS, s, m.end())
    if not values:
        raise InvalidInput("invalid.offsets.format")
    if len(values) > OFFSETS_MAX_ITEMS:
        raise InvalidInput("invalid.offsets.too_many", max=OFFSETS_MAX_ITEMS)
    return sorted(values, reverse=True)
