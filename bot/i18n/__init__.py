"""The message catalog: every user-facing string, Vietnamese first, English second."""

from __future__ import annotations

import datetime as dt
import string
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n.en import MESSAGES as EN
from bot.i18n.vi import MESSAGES as VI

CATALOGS: dict[str, dict[str, str]] = {"vi": VI, "en": EN}
LANGUAGES = tuple(CATALOGS)
WEEKDAYS = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# Wording for apps without buttons (Zalo, the console), where choices are numbered and people
# reply with a number: "<key>.typed" replaces "<key>" there ("trả lời" rather than "bấm").
TYPED = ".typed"


class Translator:
    """Looks up a key in the user's language, falling back to Vietnamese.

    `buttons` is False in apps without buttons: a key's ".typed" wording is used where the
    catalog has one, so handlers never ask which app they are talking to."""

    def __init__(self, language: str, tz: ZoneInfo, *, buttons: bool = True) -> None:
        self.language = language if language in CATALOGS else "vi"
        self.tz = tz
        self.buttons = buttons

    def __call__(self, key: str, **params: object) -> str:
        if not self.buttons and key + TYPED in VI:
            key += TYPED
        template = CATALOGS[self.language].get(key) or VI.get(key)
        if template is None:
            raise KeyError(f"missing message key: {key}")
        return template.format(**params) if params else template

    def has(self, key: str) -> bool:
        return key in VI

    def date(self, value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else self("common.empty")

    def datetime(self, value: datetime) -> str:
        local = value.astimezone(self.tz)
        weekday = WEEKDAYS[self.language][local.weekday()]
        return f"{weekday}, {local:%d/%m/%Y %H:%M}"

    def weekday(self, value: dt.datetime) -> str:  # `datetime` here is the method above
        return WEEKDAYS[self.language][value.astimezone(self.tz).weekday()]

    def duration(self, seconds: float) -> str:
        """A rough length of time: "2 giờ 51 phút", "5 phút", "dưới 1 phút"."""
        minutes = round(seconds / 60)
        if minutes < 1:
            return "dưới 1 phút" if self.language == "vi" else "under a minute"
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        vi = self.language == "vi"
        parts = [
            f"{n} {unit}"
            for n, unit in (
                (days, "ngày" if vi else "d"),
                (hours, "giờ" if vi else "h"),
                (minutes, "phút" if vi else "min"),
            )
            if n
        ]
        return " ".join(parts[:2])  # "4 ngày 8 giờ": minutes no longer matter

    def number(self, value: int) -> str:
        text = f"{value:,}"
        return text.replace(",", ".") if self.language == "vi" else text
