"""Text normalisation and input validation for the chat bot (standard library only).

Every ``parse_*`` validator returns the normalised value or raises :class:`InvalidInput`
carrying a stable message-catalog key plus params. This module holds no user-facing text:
the caller translates ``exc.key`` with ``exc.params`` (values are ``str`` or ``int`` only, so
they drop straight into ``str.format``). Params never echo the raw user input, so a template
cannot be broken by HTML or markup the user typed.

Reason keys (params in parentheses):

Full name (``parse_full_name``)
- ``invalid.name.empty`` -- nothing, or only whitespace, was entered.
- ``invalid.name.bad_chars`` -- a character other than a Latin/Vietnamese letter, a space, or a
  hyphen/apostrophe inside a word (digits, emoji, symbols, markup, other scripts).
- ``invalid.name.too_long`` (max_len, length) -- more than ``max_len`` characters.
- ``invalid.name.one_word`` -- only one word: both family name and given name are needed.
- ``invalid.name.too_many_words`` (max_words, words) -- more than ``max_words`` words.
- ``invalid.name.too_short`` (min_len, length) -- fewer than ``min_len`` characters in total.

Phone (``parse_phone``)
- ``invalid.phone.empty`` -- nothing was entered.
- ``invalid.phone.bad_chars`` -- something other than digits, spaces, ``.``, ``-``, ``()`` and a
  leading ``+``, or no digits at all.
- ``invalid.phone.unknown_prefix`` -- not a Vietnamese number: foreign country code, no leading
  0/84/+84, or a prefix other than 02 (landline) / 03, 05, 07, 08, 09 (mobile).
- ``invalid.phone.wrong_length`` (expected, length) -- wrong digit count for the prefix; both
  counted in national form with the leading 0 (10 for mobile, 11 for landline).

Dates (``parse_date`` and the functions built on it)
- ``invalid.date.empty`` -- nothing was entered.
- ``invalid.date.format`` -- not day/month/year separated by one of ``/``, ``-``, ``.``.
- ``invalid.date.two_digit_year`` -- a 2-digit year was given; a 4-digit year is required.
- ``invalid.date.impossible`` (day, month, year) -- no such calendar day, e.g. 31/02/2000.
- ``invalid.date.future`` -- ``parse_past_date``: the date is after today.
- ``invalid.date.too_early`` (earliest) -- ``parse_past_date``: before ``earliest``
  (given as a ``dd/mm/yyyy`` string).
- ``invalid.birth_date.future`` -- ``parse_birth_date``: the birth date is after today.
- ``invalid.birth_date.too_young`` (min_age, age) -- younger than ``min_age`` years today.
- ``invalid.birth_date.too_old`` (max_age, age) -- older than ``max_age`` years today.

Union card number (``parse_card_number``)
- ``invalid.card.empty`` -- nothing was entered.
- ``invalid.card.bad_chars`` -- something other than ASCII letters, digits and hyphens.
- ``invalid.card.too_long`` (max_len, length) -- more than ``max_len`` characters.
- ``invalid.card.too_short`` (min_len, length) -- fewer than ``min_len`` characters.
- ``invalid.card.format`` -- a hyphen at the start or end, or two hyphens in a row.

E-mail (``parse_email``)
- ``invalid.email.empty`` -- nothing was entered.
- ``invalid.email.too_long`` (max_len, length) -- more than ``max_len`` characters.
- ``invalid.email.format`` -- not of the form ``local@domain.tld``.

Whole numbers (``parse_number``): a number typed or carried by a button
- ``invalid.number`` -- not a run of ASCII digits 0-9 ("²", "٣", "１", "-1", "1.0", "" ...).
- ``invalid.number.range`` (low, high) -- digits, but outside ``low``..``high``.

Free text (``parse_free_text``)
- ``invalid.text.empty`` -- nothing, or only whitespace, was entered.
- ``invalid.text.control_chars`` -- control characters (other than ordinary whitespace) or
  bidirectional-override characters.
- ``invalid.text.too_long`` (max_len, length) -- more than ``max_len`` characters.
- ``invalid.text.too_short`` (min_len, length) -- fewer than ``min_len`` characters.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Kept with the models, which store them; named here too, where the other text rules live.
from models.names import nfc, search_key, vi_sort_key

__all__ = [
    "BIRTH_MAX_AGE",
    "BIRTH_MIN_AGE",
    "CARD_MAX_LEN",
    "CARD_MIN_LEN",
    "EMAIL_MAX_LEN",
    "MAX_ID",
    "NAME_MAX_LEN",
    "NAME_MAX_WORDS",
    "NAME_MIN_LEN",
    "NAME_MIN_WORDS",
    "InvalidInput",
    "choice_by_label",
    "fold_input",
    "format_date",
    "format_phone_local",
    "nfc",
    "number_or_none",
    "parse_birth_date",
    "parse_card_number",
    "parse_date",
    "parse_email",
    "parse_free_text",
    "parse_full_name",
    "parse_number",
    "parse_past_date",
    "parse_phone",
    "search_key",
    "split_text",
    "utf16_len",
    "vi_sort_key",
]

NAME_MIN_LEN = 4
NAME_MAX_LEN = 60
NAME_MIN_WORDS = 2
NAME_MAX_WORDS = 6
BIRTH_MIN_AGE = 15
BIRTH_MAX_AGE = 80
CARD_MIN_LEN = 6
CARD_MAX_LEN = 20
EMAIL_MAX_LEN = 254
_EMAIL_LOCAL_MAX_LEN = 64  # RFC 5321 limit on the part before "@"


class InvalidInput(ValueError):
    """Validation failure: ``key`` is a message-catalog key, ``params`` its format params."""

    # ``key`` is positional-only so a param may itself be called "key".
    def __init__(self, key: str, /, **params: str | int) -> None:
        super().__init__(key, params)
        self.key: str = key
        self.params: dict[str, str | int] = params

    def __str__(self) -> str:
        return f"{self.key} {self.params}" if self.params else self.key


# --------------------------------------------------------------------------- normalisation

# Phones' "smart punctuation" turns "-" into dashes and "'" into curly quotes; fold them back
# so names, phone numbers and card numbers typed on a phone keyboard still validate.
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_APOSTROPHES = dict.fromkeys(map(ord, "\u2018\u2019\u02bc"), "'")


def fold_input(text: str) -> str:
    """Key for matching a typed answer against choices: ``search_key`` minus punctuation/emoji."""
    key = search_key(text)
    # Anything that is not a letter or digit (punctuation, symbols, emoji, ZWJ) becomes a space,
    # so "Có!" and "✅ có" both fold to "co" while "không-có" stays two words.
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in key)
    return " ".join(kept.split())


def choice_by_label(text: str, labels: list[str]) -> int | None:
    """Which of the offered choices a typed answer names ("gửi đăng ký" for «✔ Gửi đăng ký»,
    accents and emoji optional); None unless exactly one label matches."""
    typed = fold_input(text)
    if not typed:
        return None
    found = [i for i, label in enumerate(labels) if label and fold_input(label) == typed]
    return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------------------- full name

_ASCII_D_LOOKALIKES = str.maketrans({"Ð": "Đ", "ð": "đ"})
_NAME_JOINERS = "-'"
_MAX_MARKS_PER_LETTER = 2  # Vietnamese needs at most two (e.g. e + circumflex + dot below)


def _is_latin_letter(ch: str) -> bool:
    # Unicode has no script property in the stdlib; the character name is a reliable proxy
    # ("LATIN SMALL LETTER A WITH BREVE AND DOT BELOW"). This excludes Arabic, Hebrew, Cyrillic,
    # CJK, and look-alikes such as fullwidth or mathematical letters.
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ")


def _is_combining_mark(ch: str) -> bool:
    # Only the basic combining diacritics block: enough for any Vietnamese letter left
    # decomposed after NFC, while rejecting "Zalgo" stacks from other blocks.
    return "\u0300" <= ch <= "\u036f"


def _valid_name_word(word: str) -> bool:
    marks = 0
    for i, ch in enumerate(word):
        if _is_latin_letter(ch):
            marks = 0
        elif _is_combining_mark(ch):
            marks += 1
            if i == 0 or marks > _MAX_MARKS_PER_LETTER:
                return False
        elif ch in _NAME_JOINERS:
            # Only between letters: "H'Mai", "Y-Blok"; not "-An", "An-" or "A--n".
            if i == 0 or i == len(word) - 1 or word[i - 1] in _NAME_JOINERS:
                return False
        else:
            return False
    return True


def _title_word(word: str) -> str:
    # Capitalise each hyphen/apostrophe-separated part ("h'mai" -> "H'Mai"); str.title() is
    # avoided because it also capitalises after combining marks in decomposed text.
    parts = re.split(r"([-'])", word)
    return "".join(p[:1].upper() + p[1:].lower() for p in parts)


def parse_full_name(text: str) -> str:
    """Validate a Vietnamese personal name and return it title-cased ("Nguyễn Thị Lan")."""
    name = nfc(text.translate(_DASHES).translate(_APOSTROPHES).translate(_ASCII_D_LOOKALIKES))
    if not name:
        raise InvalidInput("invalid.name.empty")
    words = name.split(" ")
    if not all(_valid_name_word(w) for w in words):
        raise InvalidInput("invalid.name.bad_chars")
    if len(name) > NAME_MAX_LEN:
        raise InvalidInput("invalid.name.too_long", max_len=NAME_MAX_LEN, length=len(name))
    if len(words) < NAME_MIN_WORDS:
        raise InvalidInput("invalid.name.one_word")
    if len(words) > NAME_MAX_WORDS:
        raise InvalidInput(
            "invalid.name.too_many_words", max_words=NAME_MAX_WORDS, words=len(words)
        )
    if len(name) < NAME_MIN_LEN:
        raise InvalidInput("invalid.name.too_short", min_len=NAME_MIN_LEN, length=len(name))
    # Re-compose after case changes so stored names are always NFC.
    return unicodedata.normalize("NFC", " ".join(_title_word(w) for w in words))


# ----------------------------------------------------------------------------------- phone

_PHONE_SEPARATORS = re.compile(r"[ .\-()]")
_PHONE_BODY = re.compile(r"\+?[0-9]*")
_MOBILE_SECOND_DIGITS = "35789"  # 03x, 05x, 07x, 08x, 09x since the 2018 renumbering
_MOBILE_LEN = 10
_LANDLINE_LEN = 11


def parse_phone(text: str) -> str:
    """Validate a Vietnamese mobile (10 digits) or landline (02x, 11 digits); return +84 form."""
    raw = nfc(text.translate(_DASHES))
    if not raw:
        raise InvalidInput("invalid.phone.empty")
    body = _PHONE_SEPARATORS.sub("", raw)
    # [0-9] rather than \d: \d would accept Arabic-Indic and other non-ASCII digits.
    if not _PHONE_BODY.fullmatch(body) or body in ("", "+"):
        raise InvalidInput("invalid.phone.bad_chars")

    digits = body.lstrip("+")
    if body.startswith("+") or digits.startswith("84"):
        # National numbers always start with 0, so a bare leading "84" is the country code.
        if not digits.startswith("84"):
            raise InvalidInput("invalid.phone.unknown_prefix")
        rest = digits[2:]
        # Accept the common "+84 (0)912..." habit of keeping the trunk zero.
        national = rest if rest.startswith("0") else "0" + rest
    elif digits.startswith("0"):
        national = digits
    else:
        raise InvalidInput("invalid.phone.unknown_prefix")

    if len(national) < 2:
        raise InvalidInput("invalid.phone.wrong_length", expected=_MOBILE_LEN, length=len(national))
    if national[1] in _MOBILE_SECOND_DIGITS:
        expected = _MOBILE_LEN
    elif national[1] == "2":
        expected = _LANDLINE_LEN
    else:
        # Includes the pre-2018 11-digit 01x mobile prefixes, which no longer exist.
        raise InvalidInput("invalid.phone.unknown_prefix")
    if len(national) != expected:
        raise InvalidInput("invalid.phone.wrong_length", expected=expected, length=len(national))
    return "+84" + national[1:]


def format_phone_local(e164: str) -> str:
    """Display form: "+84912345678" -> "0912 345 678", "+842513846283" -> "0251 3846 283".

    Anything not produced by ``parse_phone`` is returned unchanged: display must not fail.
    """
    if not e164.startswith("+84") or not e164[3:].isascii() or not e164[3:].isdigit():
        return e164
    n = e164[3:]
    if len(n) == _MOBILE_LEN - 1 and n[0] in _MOBILE_SECOND_DIGITS:
        return f"0{n[:3]} {n[3:6]} {n[6:]}"
    if len(n) == _LANDLINE_LEN - 1 and n[0] == "2":
        # Hanoi (024) and Ho Chi Minh City (028) have 2-digit area codes, others 3 digits.
        if n[:2] in ("24", "28"):
            return f"0{n[:2]} {n[2:6]} {n[6:]}"
        return f"0{n[:3]} {n[3:7]} {n[7:]}"
    return e164


# ----------------------------------------------------------------------------------- dates

# Same separator both times; spaces tolerated around it ("12 / 3 / 1990").
_DATE_RE = re.compile(r"([0-9]{1,2})\s*([/.\-])\s*([0-9]{1,2})\s*\2\s*([0-9]+)")


def parse_date(text: str, *, today: date) -> date:
    """Parse dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy) into a ``date``.

    ``today`` is accepted for a uniform signature with the range-checking wrappers; a plain
    calendar date has no range restriction beyond being a real day.
    """
    del today  # intentionally unused, see docstring
    raw = nfc(text.translate(_DASHES))
    if not raw:
        raise InvalidInput("invalid.date.empty")
    m = _DATE_RE.fullmatch(raw)
    if m is None:
        raise InvalidInput("invalid.date.format")
    day, month, year_s = int(m.group(1)), int(m.group(3)), m.group(4)
    if len(year_s) == 2:
        # "01/02/03" is ambiguous across centuries; make the user type the full year.
        raise InvalidInput("invalid.date.two_digit_year")
    if len(year_s) != 4:
        raise InvalidInput("invalid.date.format")
    year = int(year_s)
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput("invalid.date.impossible", day=day, month=month, year=year) from None


def format_date(d: date) -> str:
    """Format as dd/mm/yyyy (manual, since strftime pads years < 1000 inconsistently)."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _age_on(born: date, today: date) -> int:
    # Completed years; someone born 29/02 turns a year older on 01/03 in non-leap years.
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def parse_birth_date(text: str, *, today: date) -> date:
    """``parse_date`` plus: not in the future, age between 15 and 80 (inclusive) at ``today``."""
    born = parse_date(text, today=today)
    if born > today:
        raise InvalidInput("invalid.birth_date.future")
    age = _age_on(born, today)
    if age < BIRTH_MIN_AGE:
        raise InvalidInput("invalid.birth_date.too_young", min_age=BIRTH_MIN_AGE, age=age)
    if age > BIRTH_MAX_AGE:
        raise InvalidInput("invalid.birth_date.too_old", max_age=BIRTH_MAX_AGE, age=age)
    return born


def parse_past_date(text: str, *, today: date, earliest: date | None = None) -> date:
    """``parse_date`` plus: not after ``today`` and, if given, not before ``earliest``."""
    d = parse_date(text, today=today)
    if d > today:
        raise InvalidInput("invalid.date.future")
    if earliest is not None and d < earliest:
        raise InvalidInput("invalid.date.too_early", earliest=format_date(earliest))
    return d


# ----------------------------------------------------------------------- card / email / text

_CARD_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")


def parse_card_number(text: str) -> str:
    """Union card number: 6-20 ASCII letters/digits/hyphens, returned uppercase.

    Spaces are removed rather than rejected, since printed card numbers are often grouped.
    """
    card = "".join(nfc(text.translate(_DASHES)).split())
    if not card:
        raise InvalidInput("invalid.card.empty")
    if not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in card):
        raise InvalidInput("invalid.card.bad_chars")
    if len(card) > CARD_MAX_LEN:
        raise InvalidInput("invalid.card.too_long", max_len=CARD_MAX_LEN, length=len(card))
    if len(card) < CARD_MIN_LEN:
        raise InvalidInput("invalid.card.too_short", min_len=CARD_MIN_LEN, length=len(card))
    card = card.upper()
    if not _CARD_RE.fullmatch(card):
        raise InvalidInput("invalid.card.format")
    return card


# Deliberately simpler than RFC 5322: ASCII dot-atom local part, LDH domain labels, an
# alphabetic (or punycode) TLD. Quoted local parts and IP-literal domains are not accepted.
_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL_RE = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*")
_EMAIL_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_EMAIL_TLD_RE = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def parse_email(text: str) -> str:
    """Sanity-check an e-mail address; the domain is lowercased, the local part kept as typed."""
    raw = nfc(text)
    if not raw:
        raise InvalidInput("invalid.email.empty")
    if len(raw) > EMAIL_MAX_LEN:
        raise InvalidInput("invalid.email.too_long", max_len=EMAIL_MAX_LEN, length=len(raw))
    local, at, domain = raw.rpartition("@")
    domain = domain.lower()
    labels = domain.split(".")
    if (
        not at
        or len(local) > _EMAIL_LOCAL_MAX_LEN
        or not _EMAIL_LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_EMAIL_LABEL_RE.fullmatch(label) for label in labels)
        or not _EMAIL_TLD_RE.fullmatch(labels[-1])
    ):
        raise InvalidInput("invalid.email.format")
    return f"{local}@{domain}"


# Whitespace controls are fine (nfc turns them into spaces); other C0/C1 controls are not.
_ALLOWED_CONTROLS = frozenset("\t\n\r\x0b\x0c")
# Bidi embedding/override/isolate characters can visually reverse text shown to admins.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def parse_free_text(text: str, *, max_len: int, min_len: int = 1) -> str:
    """Normalised single-line free text (job title etc.) of ``min_len``..``max_len`` characters.

    Markup is not rejected here: free text is stored as typed and must be escaped on output.
    """
    # Checked before nfc, because str.split() treats some controls (\x1c-\x1f) as whitespace.
    for ch in text:
        if (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS) or (
            ch in _BIDI_CONTROLS
        ):
            raise InvalidInput("invalid.text.control_chars")
    value = nfc(text)
    if not value:
        raise InvalidInput("invalid.text.empty")
    if len(value) > max_len:
        raise InvalidInput("invalid.text.too_long", max_len=max_len, length=len(value))
    if len(value) < min_len:
        raise InvalidInput("invalid.text.too_short", min_len=min_len, length=len(value))
    return value


# --------------------------------------------------------------------------------- numbers

# Ids are INTEGER columns: 32 bits on PostgreSQL, 64 on SQLite; none gets anywhere near 2^31.
MAX_ID = 2**31 - 1
_MAX_DIGITS = 18  # past this no number is in any range (and int() refuses 4,300+ digits)


def parse_number(text: str, *, low: int = 0, high: int = MAX_ID) -> int:
    """A whole number that a person typed or a button payload carries: ASCII digits only,
    between ``low`` and ``high``; surrounding whitespace is ignored.

    Every number from outside goes through here. ``str.isdigit()`` is not enough: it accepts
    "²" (which ``int()`` then refuses) and "٣" or "１" (which ``int()`` reads as 3 and 1), and
    an id past 2^63 overflows SQLite.
    """
    raw = text.strip()
    if not raw or not raw.isascii() or not raw.isdigit():
        raise InvalidInput("invalid.number")
    if len(raw.lstrip("0")) > _MAX_DIGITS or not low <= int(raw) <= high:
        raise InvalidInput("invalid.number.range", low=low, high=high)
    return int(raw)


def number_or_none(text: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """``parse_number``, or None for anything else (where a wrong number is just no number)."""
    try:
        return parse_number(text, low=low, high=high)
    except InvalidInput:
        return None


# ------------------------------------------------------------------------------ split_text

_ZWJ = "\u200d"


def _hard_split_point(rest: str, limit: int) -> int:
    # Step back so a combining mark / variation selector stays with its base character and an
    # emoji ZWJ sequence is not cut in two; give up (cut anyway) rather than return 0.
    k = limit
    while k > 1 and (
        unicodedata.category(rest[k]).startswith("M") or rest[k] == _ZWJ or rest[k - 1] == _ZWJ
    ):
        k -= 1
    return k


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts a message, a caption or a poll: a
    character outside the Basic Multilingual Plane (most emoji) counts two."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fitting(text: str, limit: int) -> int:
    """How many leading code points of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Split ``text`` into non-empty chunks of at most ``limit`` characters, or with
    ``utf16=True`` of at most ``limit`` UTF-16 code units (Telegram's count: 4,096 for a
    message).

    Prefers the last newline that fits (the newline itself is dropped), then the last space
    (kept at the end of the chunk), then a hard cut, never inside a character and, where it
    can, not inside an emoji sequence. Apart from newlines dropped at split points (including
    a trailing newline right after a full chunk) nothing is lost or reordered. Empty text
    gives ``[]``. Chunks may be whitespace-only if the text has long whitespace runs.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    size = utf16_len if utf16 else len
    chunks: list[str] = []
    rest = text
    while size(rest) > limit:
        # The code points that fit (an emoji alone may not fit a limit of 1: cut it anyway).
        fit = max(_fitting(rest, limit), 1) if utf16 else limit
        # Start searching at 1 so every chunk is non-empty and the loop always progresses.
        cut = rest.rfind("\n", 1, fit + 1)
        if cut != -1:
            chunks.append(rest[:cut])
            rest = rest[cut + 1 :]
            continue
        space = rest.rfind(" ", 1, fit)
        cut = space + 1 if space != -1 else _hard_split_point(rest, fit)
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks


# A reply that picks numbered choices: "2", or "1,3" / "1; 3" on a multi-select (Zalo, console).
# ASCII digits only: "\d" would take "٣" for 3 (see parse_number).
CHOICE_REPLY = re.compile(r"^\s*[0-9]{1,2}(\s*[,;]\s*[0-9]{1,2})*\s*$")
