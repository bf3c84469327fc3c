"""Reading a date and time the way Vietnamese users type it, in the local time zone.

Accepted: "20/12/2026 14:00", "20/12 14:00", "20/12/2026 14h30", "14h 20/12", "20-12-2026 9:05".
The year may be left out (the next such date from today on). Returns an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.textutil import InvalidInput

_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}))?")
_TIME = re.compile(r"(\d{1,2})\s*(?:[:h]\s*(\d{2})?|giờ\s*(\d{2})?)", re.IGNORECASE)


def parse_local_datetime(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """Raises InvalidInput("invalid.datetime.format" | "invalid.datetime.impossible" |
    "invalid.datetime.past")."""
    cleaned = " ".join(text.strip().lower().split())
    date_match = _DATE.search(cleaned)
    rest = _DATE.sub(" ", cleaned, count=1) if date_match else cleaned
    time_match = _TIME.search(rest)
    if not date_match or not time_match:
        raise InvalidInput("invalid.datetime.format")
    local_now = now.astimezone(tz)
    day, month = int(date_match.group(1)), int(date_match.group(2))
    year = int(date_match.group(3)) if date_match.group(3) else local_now.year
    hour = int(time_match.group(1))
    minute = int(time_match.group(2) or time_match.group(3) or 0)
    try:
        when_date = date(year, month, day)
        when_time = time(hour, minute)
    except ValueError:
        raise InvalidInput("invalid.datetime.impossible") from None
    if not date_match.group(3) and when_date < local_now.date():
        try:
            when_date = when_date.replace(year=year + 1)
        except ValueError:  # 29/02 with no leap year ahead
            raise InvalidInput("invalid.datetime.impossible") from None
    local = datetime.combine(when_date, when_time, tzinfo=tz)
    if local <= local_now:
        raise InvalidInput("invalid.datetime.past")
    return local.astimezone(UTC)
