"""The member fields a person fills in, shared by registration and profile editing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import textutil
from bot.i18n import Translator
from models.members import Member


@dataclass(frozen=True)
class FieldSpec:
    name: str
    optional: bool
    # Turns what the person typed into the stored form (raises textutil.InvalidInput).
    parse: Callable[[str, date], Any]
    choices: tuple[str, ...] = ()


def _gender(text: str, _today: date) -> str:
    folded = textutil.fold_input(text)
    # "1"/"2" too: where buttons become numbered choices, people type the number.
    for code, words in {
        "nam": ("nam", "male", "m", "1"),
        "nu": ("nu", "female", "f", "2"),
        "khac": ("khac", "other"),
    }.items():
        if folded in words:
            return code
    raise textutil.InvalidInput("invalid.gender")


FIELDS: dict[str, FieldSpec] = {
    "full_name": FieldSpec("full_name", False, lambda s, _: textutil.parse_full_name(s)),
    "gender": FieldSpec("gender", False, _gender, choices=("nam", "nu")),
    "birth_date": FieldSpec(
        "birth_date", False, lambda s, today: textutil.parse_birth_date(s, today=today)
    ),
    "phone": FieldSpec("phone", False, lambda s, _: textutil.parse_phone(s)),
    "job_title": FieldSpec(
        "job_title", False, lambda s, _: textutil.parse_free_text(s, max_len=120, min_len=2)
    ),
    "card_number": FieldSpec("card_number", True, lambda s, _: textutil.parse_card_number(s)),
    "joined_union_on": FieldSpec(
        "joined_union_on", True, lambda s, today: textutil.parse_past_date(s, today=today)
    ),
    "email": FieldSpec("email", True, lambda s, _: textutil.parse_email(s)),
}


def to_stored(name: str, value: Any) -> Any:
    """Dialog data is JSON: dates travel as ISO strings."""
    return value.isoformat() if isinstance(value, date) else value


def from_stored(name: str, value: Any) -> Any:
    if isinstance(value, str) and value and name in ("birth_date", "joined_union_on"):
        return date.fromisoformat(value)
    return value


def show(t: Translator, name: str, value: Any) -> str:
    """A field value as a person reads it."""
    if value in (None, ""):
        return t("common.empty")
    value = from_stored(name, value)
    if isinstance(value, date):
        return t.date(value)
    if name == "gender":
        return t(f"gender.{value}")
    if name == "phone":
        return textutil.format_phone_local(value)
    return str(value)


def summary_lines(t: Translator, values: dict[str, Any], names: list[str]) -> str:
    return "\n".join(f"• {t('field.' + n)}: {show(t, n, values.get(n))}" for n in names)


def member_values(member: Member) -> dict[str, Any]:
    return {name: getattr(member, name) for name in FIELDS}


def apply(member: Member, name: str, value: Any) -> None:
    value = from_stored(name, value)
    if name == "full_name":
        member.set_name(value)
    else:
        setattr(member, name, value)


def length_note(t: Translator, text: str) -> str:
    """A note for a length refused in UTF-16 units when the text has emoji (they count two):
    the count then differs from what the person typed."""
    if textutil.utf16_len(text) == len(text):
        return ""
    return " " + t("length.emoji_counts_two")


def field_error(t: Translator, bad: textutil.InvalidInput, field_key: str | None) -> str:
    """The answer to a refused text, naming the field when it is free text ("Tên cuộc họp
    dài quá (250 ký tự, tối đa 200)" rather than "Nội dung dài quá")."""
    kind = bad.key.removeprefix("invalid.text.")
    if field_key and kind != bad.key and t.has(f"invalid.field.{kind}"):
        return t(f"invalid.field.{kind}", field=t(field_key), **bad.params)
    return t(bad.key, **bad.params)


def local_today(t: Translator, now: Any) -> date:
    return now.astimezone(t.tz).date()
