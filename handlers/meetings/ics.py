"""iCalendar (RFC 5545) files for meetings, so members can add them to their phone calendar.

One VEVENT per file, times in UTC ("Z" form) so no VTIMEZONE block is needed. Updating or
cancelling a meeting means sending the same ``uid`` with a higher ``sequence``; a cancellation
is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` (calendar apps match it to the event by UID).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote

from bot.textutil import search_key

__all__ = ["PRODID", "ics_filename", "meeting_ics"]

PRODID = "-//congdoan-bot//VI"
_MAX_LINE_OCTETS = 75  # RFC 5545 3.1, not counting the CRLF
_FILENAME_MAX = 60
# Placeholder address: RFC 5545 requires ORGANIZER to be a URI, and the bot has no mailbox.
# ".invalid" (RFC 2606) can never be delivered to, so replies cannot leak anywhere.
_ORGANIZER_ADDRESS = "mailto:noreply@congdoan-bot.invalid"

# TEXT values may not contain control characters other than HTAB (RFC 5545 3.3.11).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma, and any newline as ``\\n``."""
    value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(value: str) -> str:
    """A quoted parameter value (RFC 5545 3.2): DQUOTE itself and controls are not allowed."""
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", value).replace("\n", " "))
    return '"' + cleaned.replace('"', "'").replace("\t", " ") + '"'


# Everything a URI may legitimately contain stays as is (including existing %XX escapes).
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def _uri(value: str) -> str:
    """URI values are not TEXT-escaped, so percent-encode anything that could break the line
    (CR/LF would inject properties) or is not allowed in a URI (spaces, non-ASCII)."""
    return quote(unicodedata.normalize("NFC", value.strip()), safe=_URI_SAFE)


def _utc(value: datetime, name: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> bytes:
    """UTF-8 encode one content line, folded at 75 octets without splitting a character."""
    out = bytearray()
    width = 0
    limit = _MAX_LINE_OCTETS
    for ch in line:
        encoded = ch.encode("utf-8")
        if width + len(encoded) > limit:
            out += b"\r\n "
            width = 1  # the leading space counts towards the next line's 75 octets
        out += encoded
        width += len(encoded)
    return bytes(out) + b"\r\n"


def meeting_ics(
    *,
    uid: str,
    sequence: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str = "",
    description: str = "",
    url: str = "",
    organizer_name: str = "",
    cancelled: bool = False,
    reminders_minutes: Sequence[int] | None = (),
    now: datetime,
) -> bytes:
    """Build a one-event calendar (UTF-8, CRLF) to publish or cancel a meeting.

    Reminders are minutes before the start, one VALARM each (duplicates merged); a cancelled
    event carries none, so no phone rings for a meeting that will not happen.
    Empty or None optional texts are left out. Raises ValueError for naive datetimes, an end
    not after the start, a negative sequence or a non-positive reminder.
    """
    start, end = _utc(starts_at, "starts_at"), _utc(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if sequence < 0:
        raise ValueError("sequence must be >= 0")
    reminders = sorted(set(reminders_minutes or ()), reverse=True)
    if any(m <= 0 for m in reminders):
        raise ValueError("reminders_minutes must be positive")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc(now, 'now')}",
        f"DTSTART:{start}",
        f"DTEND:{end}",
        f"SUMMARY:{_text(title)}",
    ]
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    if url and url.strip():
        lines.append(f"URL:{_uri(url)}")
    if organizer_name:
        lines.append(f"ORGANIZER;CN={_param(organizer_name)}:{_ORGANIZER_ADDRESS}")
    lines.append(f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}")
    if not cancelled:
        for minutes in reminders:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{_text(title)}",  # required for DISPLAY alarms
                f"TRIGGER:-PT{minutes}M",
                "END:VALARM",
            ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return b"".join(_fold(line) for line in lines)


def ics_filename(title: str, starts_at: datetime, *, tz: tzinfo | None = None) -> str:
    """ASCII file name such as "hop-2026-12-20-sinh-hoat-to.ics", at most 60 characters.

    The date is taken in ``tz`` if given, else in ``starts_at``'s own time zone, so pass the
    local zone (a 07:00 meeting in Vietnam is still the previous day in UTC).
    """
    day = (starts_at.astimezone(tz) if tz else starts_at).strftime("%Y-%m-%d")
    stem = f"hop-{day}"
    slug = "-".join(re.findall(r"[a-z0-9]+", search_key(title)))
    room = _FILENAME_MAX - len(stem) - len("-") - len(".ics")
    if len(slug) > room:
        # Cut at a word boundary when one is close enough, so names do not end mid-word.
        cut = slug.rfind("-", 0, room + 1)
        slug = slug[:cut] if cut >= room // 2 else slug[:room].rstrip("-")
    return f"{stem}-{slug}.ics" if slug else f"{stem}.ics"
