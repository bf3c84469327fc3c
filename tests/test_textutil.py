"""Tests for bot.textutil: normalisation, validators and message splitting."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot import textutil as tu
from bot.textutil import InvalidInput

TODAY = date(2024, 6, 15)

LONG = "a" * 5000
EMOJI = "😀🎉"
ARABIC = "محمد علي"
HTML = "<b>x</b>"
SQL = "'; DROP TABLE members;--"


def key_of(func: Callable[..., object], *args: object, **kwargs: object) -> InvalidInput:
    """Call ``func`` expecting InvalidInput and return the exception for inspection."""
    with pytest.raises(InvalidInput) as info:
        func(*args, **kwargs)
    return info.value


# ------------------------------------------------------------------------------ InvalidInput


def test_invalid_input_attributes() -> None:
    exc = InvalidInput("invalid.x", key="k", n=1)
    assert exc.key == "invalid.x"
    assert exc.params == {"key": "k", "n": 1}
    assert isinstance(exc, ValueError)
    assert "invalid.x" in str(exc)


def test_every_raised_key_is_documented() -> None:
    doc = tu.__doc__ or ""
    source = Path(tu.__file__).read_text(encoding="utf-8")
    raised = set(re.findall(r'InvalidInput\(\s*"([a-z_.]+)"', source))
    assert raised, "no keys found"
    for key in raised:
        assert f"``{key}``" in doc, key


# ------------------------------------------------------------------------------------- nfc


def test_nfc_composes_strips_and_collapses() -> None:
    decomposed = "Nguye\u0302\u0303n  \t Va\u0306n\n\nA\u0301nh  "
    assert tu.nfc(decomposed) == "Nguyễn Văn Ánh"
    assert tu.nfc("\u00a0 a \u00a0 b ") == "a b"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_nfc_empty(text: str) -> None:
    assert tu.nfc(text) == ""


def test_nfc_long() -> None:
    assert tu.nfc("  " + LONG + "  ") == LONG


# ------------------------------------------------------------------------------ search_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn Ánh", "nguyen van anh"),
        ("Đặng", "dang"),
        ("đặng thị ĐÀO", "dang thi dao"),
        ("ÐẶNG", "dang"),  # Icelandic eth look-alike
        ("  Hoà   Hòa ", "hoa hoa"),  # old and new tone placement fold together
        ("Nguye\u0302\u0303n", "nguyen"),  # decomposed input
        ("", ""),
        ("   ", ""),
        (HTML, HTML),
    ],
)
def test_search_key(text: str, expected: str) -> None:
    assert tu.search_key(text) == expected


def test_search_key_long_and_foreign() -> None:
    assert tu.search_key(LONG.upper()) == LONG
    assert tu.search_key(EMOJI) == EMOJI
    assert tu.search_key(ARABIC) == ARABIC


# ------------------------------------------------------------------------------ fold_input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nữ", "nu"),
        ("nam.", "nam"),
        ("  NAM!! ", "nam"),
        ("✅ Có", "co"),
        ("không-có", "khong co"),
        ("1.", "1"),
        ("", ""),
        ("   ", ""),
        (EMOJI, ""),
        (HTML, "b x b"),
        (SQL, "drop table members"),
        (ARABIC, ARABIC),
    ],
)
def test_fold_input(text: str, expected: str) -> None:
    assert tu.fold_input(text) == expected


def test_fold_input_long() -> None:
    assert tu.fold_input(LONG + ".") == LONG


# ------------------------------------------------------------------------- parse_full_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyễn thị lan", "Nguyễn Thị Lan"),
        ("NGUYỄN VĂN A", "Nguyễn Văn A"),
        ("  trần   hưng  đạo ", "Trần Hưng Đạo"),
        ("Nguye\u0302\u0303n va\u0306n a\u0301nh", "Nguyễn Văn Ánh"),  # decomposed input
        ("đặng thùy trâm", "Đặng Thùy Trâm"),
        ("ÐẶNG THU", "Đặng Thu"),  # eth look-alike becomes Đ
        ("ksor h'mai", "Ksor H'Mai"),
        ("ksor h’mai", "Ksor H'Mai"),  # curly apostrophe from a phone keyboard
        ("nay y-blok", "Nay Y-Blok"),
        ("Lê A", "Lê A"),  # exactly NAME_MIN_LEN characters
        ("Tôn Nữ Thị Ngọc Minh Châu", "Tôn Nữ Thị Ngọc Minh Châu"),  # six words
        ("Nguyễn " + "a" * 53, "Nguyễn " + "A" + "a" * 52),  # exactly 60 characters
    ],
)
def test_parse_full_name_ok(text: str, expected: str) -> None:
    assert tu.parse_full_name(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.name.empty"),
        ("   ", "invalid.name.empty"),
        ("Nguyễn", "invalid.name.one_word"),
        ("A", "invalid.name.one_word"),
        ("A B", "invalid.name.too_short"),
        ("A B C D E F G", "invalid.name.too_many_words"),
        (LONG, "invalid.name.too_long"),
        ("Nguyễn " + "a" * 54, "invalid.name.too_long"),
        ("Nguyễn Văn 3", "invalid.name.bad_chars"),
        ("Nguyễn Văn An 😀", "invalid.name.bad_chars"),
        (EMOJI, "invalid.name.bad_chars"),
        (ARABIC, "invalid.name.bad_chars"),
        ("דוד כהן", "invalid.name.bad_chars"),  # Hebrew
        ("Иван Петров", "invalid.name.bad_chars"),  # Cyrillic look-alikes
        ("Ｎｇｕｙｅｎ Ａｎ", "invalid.name.bad_chars"),  # fullwidth Latin
        (HTML, "invalid.name.bad_chars"),
        (SQL, "invalid.name.bad_chars"),
        ("Nguyễn Văn-", "invalid.name.bad_chars"),
        ("Nguyễn -Văn", "invalid.name.bad_chars"),
        ("Nguyễn Vă--n", "invalid.name.bad_chars"),
        ("Nguyễn Văn_An", "invalid.name.bad_chars"),
        ("Nguyễn Văn.", "invalid.name.bad_chars"),
        ("Nguye\u0301\u0301\u0301\u0301n An", "invalid.name.bad_chars"),  # stacked marks
        ("\u0301An Binh", "invalid.name.bad_chars"),  # mark without a base letter
    ],
)
def test_parse_full_name_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_full_name, text).key == key


def test_parse_full_name_params() -> None:
    assert key_of(tu.parse_full_name, LONG + " b").params == {"max_len": 60, "length": 5002}
    assert key_of(tu.parse_full_name, "A B").params == {"min_len": 4, "length": 3}
    assert key_of(tu.parse_full_name, "a b c d e f g").params == {"max_words": 6, "words": 7}


# ------------------------------------------------------------------------------ parse_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0912-345-678", "+84912345678"),
        ("0912–345–678", "+84912345678"),  # en dash from smart punctuation
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("(+84) 912-345-678", "+84912345678"),
        ("+84 (0) 912 345 678", "+84912345678"),  # trunk zero kept after country code
        ("  0912345678  ", "+84912345678"),
        ("0321234567", "+84321234567"),
        ("0561234567", "+84561234567"),
        ("0771234567", "+84771234567"),
        ("0861234567", "+84861234567"),
        ("0251 3846 283", "+842513846283"),
        ("024 3825 1234", "+842438251234"),
        ("+84 24 3825 1234", "+842438251234"),
    ],
)
def test_parse_phone_ok(text: str, expected: str) -> None:
    assert tu.parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.phone.empty"),
        ("   ", "invalid.phone.empty"),
        ("0912 345 67a", "invalid.phone.bad_chars"),
        ("09123+45678", "invalid.phone.bad_chars"),
        ("---", "invalid.phone.bad_chars"),
        ("+", "invalid.phone.bad_chars"),
        (EMOJI, "invalid.phone.bad_chars"),
        (ARABIC, "invalid.phone.bad_chars"),
        ("٠٩١٢٣٤٥٦٧٨", "invalid.phone.bad_chars"),  # Arabic-Indic digits
        (HTML, "invalid.phone.bad_chars"),
        (SQL, "invalid.phone.bad_chars"),
        ("0912 345 67", "invalid.phone.wrong_length"),
        ("0912 345 6789", "invalid.phone.wrong_length"),
        ("0251 3846 28", "invalid.phone.wrong_length"),
        ("0", "invalid.phone.wrong_length"),
        ("1" * 5000, "invalid.phone.unknown_prefix"),
        ("0" + "9" * 4999, "invalid.phone.wrong_length"),
        ("+1 212 555 1234", "invalid.phone.unknown_prefix"),
        ("0112345678", "invalid.phone.unknown_prefix"),
        ("01689123456", "invalid.phone.unknown_prefix"),  # pre-2018 11-digit mobile
        ("0412345678", "invalid.phone.unknown_prefix"),
        ("0612345678", "invalid.phone.unknown_prefix"),
        ("912345678", "invalid.phone.unknown_prefix"),
    ],
)
def test_parse_phone_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_phone, text).key == key


def test_parse_phone_wrong_length_params() -> None:
    assert key_of(tu.parse_phone, "091234567").params == {"expected": 10, "length": 9}
    assert key_of(tu.parse_phone, "+84 251 3846 28").params == {"expected": 11, "length": 10}


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+84912345678", "0912 345 678"),
        ("+84321234567", "0321 234 567"),
        ("+842513846283", "0251 3846 283"),
        ("+842438251234", "024 3825 1234"),
        ("+12125551234", "+12125551234"),  # not ours: shown unchanged
        ("", ""),
        ("+84abc", "+84abc"),
    ],
)
def test_format_phone_local(e164: str, expected: str) -> None:
    assert tu.format_phone_local(e164) == expected


def test_phone_round_trip() -> None:
    for local in ("0912 345 678", "0251 3846 283", "024 3825 1234"):
        assert tu.format_phone_local(tu.parse_phone(local)) == local


# ------------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/06/1990", date(1990, 6, 15)),
        ("5/6/1990", date(1990, 6, 5)),
        ("05-06-1990", date(1990, 6, 5)),
        ("05.06.1990", date(1990, 6, 5)),
        (" 05 / 06 / 1990 ", date(1990, 6, 5)),
        ("29/02/2024", date(2024, 2, 29)),
        ("29/02/2000", date(2000, 2, 29)),
        ("31/12/2099", date(2099, 12, 31)),  # parse_date itself has no range check
    ],
)
def test_parse_date_ok(text: str, expected: date) -> None:
    assert tu.parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.date.empty"),
        ("   ", "invalid.date.empty"),
        ("15/06/90", "invalid.date.two_digit_year"),
        ("1/1/00", "invalid.date.two_digit_year"),
        ("15/06/199", "invalid.date.format"),
        ("15/06/19900", "invalid.date.format"),
        ("1990-06-15", "invalid.date.format"),  # ISO order is not accepted
        ("15/06-1990", "invalid.date.format"),  # mixed separators
        ("15 06 1990", "invalid.date.format"),
        ("15061990", "invalid.date.format"),
        ("ngày 15 tháng 6", "invalid.date.format"),
        ("١٥/٠٦/١٩٩٠", "invalid.date.format"),  # Arabic-Indic digits
        (LONG, "invalid.date.format"),
        (EMOJI, "invalid.date.format"),
        (ARABIC, "invalid.date.format"),
        (HTML, "invalid.date.format"),
        (SQL, "invalid.date.format"),
        ("31/02/2000", "invalid.date.impossible"),
        ("29/02/2023", "invalid.date.impossible"),
        ("29/02/1900", "invalid.date.impossible"),
        ("00/01/2000", "invalid.date.impossible"),
        ("15/13/2000", "invalid.date.impossible"),
        ("01/01/0000", "invalid.date.impossible"),
    ],
)
def test_parse_date_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_date, text, today=TODAY).key == key


def test_parse_date_impossible_params() -> None:
    exc = key_of(tu.parse_date, "31/02/2000", today=TODAY)
    assert exc.params == {"day": 31, "month": 2, "year": 2000}
    exc = key_of(tu.parse_date, "29/02/2023", today=TODAY)
    assert exc.params == {"day": 29, "month": 2, "year": 2023}


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2024, 2, 9), "09/02/2024"),
        (date(1990, 12, 31), "31/12/1990"),
        (date(5, 1, 1), "01/01/0005"),
    ],
)
def test_format_date(d: date, expected: str) -> None:
    assert tu.format_date(d) == expected
    if d.year >= 1000:
        assert tu.parse_date(expected, today=TODAY) == d


# ------------------------------------------------------------------------- parse_birth_date


@pytest.mark.parametrize(
    "text",
    [
        "15/06/2009",  # 15th birthday today: youngest allowed
        "16/06/1943",  # 81st birthday tomorrow: still 80, oldest allowed
        "01/01/1990",
    ],
)
def test_parse_birth_date_ok(text: str) -> None:
    assert tu.parse_birth_date(text, today=TODAY) == tu.parse_date(text, today=TODAY)


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("16/06/2009", "invalid.birth_date.too_young", {"min_age": 15, "age": 14}),
        ("15/06/2024", "invalid.birth_date.too_young", {"min_age": 15, "age": 0}),
        ("15/06/1943", "invalid.birth_date.too_old", {"max_age": 80, "age": 81}),
        ("01/01/1900", "invalid.birth_date.too_old", {"max_age": 80, "age": 124}),
        ("16/06/2024", "invalid.birth_date.future", {}),
        ("01/01/2990", "invalid.birth_date.future", {}),
    ],
)
def test_parse_birth_date_bad(text: str, key: str, params: dict[str, int]) -> None:
    exc = key_of(tu.parse_birth_date, text, today=TODAY)
    assert (exc.key, exc.params) == (key, params)


def test_parse_birth_date_leap_day_birthday() -> None:
    # Born 29/02: in a non-leap year the birthday is reached on 01/03.
    assert key_of(tu.parse_birth_date, "29/02/2008", today=date(2023, 2, 28)).params["age"] == 14
    assert tu.parse_birth_date("29/02/2008", today=date(2023, 3, 1)) == date(2008, 2, 29)


@pytest.mark.parametrize("text", ["", "31/02/2000", "15/06/09", LONG, SQL])
def test_parse_birth_date_propagates_date_errors(text: str) -> None:
    assert key_of(tu.parse_birth_date, text, today=TODAY).key.startswith("invalid.date.")


# -------------------------------------------------------------------------- parse_past_date


def test_parse_past_date_ok() -> None:
    earliest = date(2020, 1, 1)
    assert tu.parse_past_date("15/06/2024", today=TODAY) == TODAY
    assert tu.parse_past_date("01/01/2020", today=TODAY, earliest=earliest) == earliest
    assert tu.parse_past_date("01/01/1950", today=TODAY) == date(1950, 1, 1)


def test_parse_past_date_bad() -> None:
    exc = key_of(tu.parse_past_date, "16/06/2024", today=TODAY)
    assert (exc.key, exc.params) == ("invalid.date.future", {})
    exc = key_of(tu.parse_past_date, "31/12/2019", today=TODAY, earliest=date(2020, 1, 1))
    assert (exc.key, exc.params) == ("invalid.date.too_early", {"earliest": "01/01/2020"})
    assert key_of(tu.parse_past_date, "29/02/2023", today=TODAY).key == "invalid.date.impossible"
    assert key_of(tu.parse_past_date, "  ", today=TODAY).key == "invalid.date.empty"


# ------------------------------------------------------------------------ parse_card_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cd-123456", "CD-123456"),
        ("abc123", "ABC123"),
        ("  CD 0012 3456 ", "CD00123456"),  # grouping spaces removed
        ("cd–2024–001", "CD-2024-001"),  # en dashes
        ("A" * 20, "A" * 20),
    ],
)
def test_parse_card_number_ok(text: str, expected: str) -> None:
    assert tu.parse_card_number(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.card.empty"),
        ("   ", "invalid.card.empty"),
        ("AB123", "invalid.card.too_short"),
        ("A" * 21, "invalid.card.too_long"),
        (LONG, "invalid.card.too_long"),
        ("CĐ-123456", "invalid.card.bad_chars"),
        ("CD_123456", "invalid.card.bad_chars"),
        ("１２３４５６", "invalid.card.bad_chars"),  # fullwidth digits
        (EMOJI * 4, "invalid.card.bad_chars"),
        (ARABIC, "invalid.card.bad_chars"),
        (HTML, "invalid.card.bad_chars"),
        (SQL, "invalid.card.bad_chars"),
        ("-CD123456", "invalid.card.format"),
        ("CD123456-", "invalid.card.format"),
        ("CD--123456", "invalid.card.format"),
        ("------", "invalid.card.format"),
    ],
)
def test_parse_card_number_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_card_number, text).key == key


def test_parse_card_number_params() -> None:
    assert key_of(tu.parse_card_number, "AB1").params == {"min_len": 6, "length": 3}
    assert key_of(tu.parse_card_number, "A" * 21).params == {"max_len": 20, "length": 21}


# ------------------------------------------------------------------------------ parse_email


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lan.nguyen@Example.COM", "lan.nguyen@example.com"),
        ("  Lan+CongDoan@Mail.Gov.VN ", "Lan+CongDoan@mail.gov.vn"),
        ("o'brien@ex-ample.vn", "o'brien@ex-ample.vn"),
        ("a@xn--cng-on-4ya.vn", "a@xn--cng-on-4ya.vn"),
        ("a@b.xn--p1ai", "a@b.xn--p1ai"),
    ],
)
def test_parse_email_ok(text: str, expected: str) -> None:
    assert tu.parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.email.empty"),
        ("   ", "invalid.email.empty"),
        (LONG + "@example.com", "invalid.email.too_long"),
        ("a" * 65 + "@example.com", "invalid.email.format"),
        ("plainaddress", "invalid.email.format"),
        ("a@b", "invalid.email.format"),
        ("a@b.c", "invalid.email.format"),
        ("a@@b.com", "invalid.email.format"),
        ("a b@c.com", "invalid.email.format"),
        (".a@b.com", "invalid.email.format"),
        ("a..b@c.com", "invalid.email.format"),
        ("a@-b.com", "invalid.email.format"),
        ("a@b..com", "invalid.email.format"),
        ("a@b.com.", "invalid.email.format"),
        ("a@b.c0m", "invalid.email.format"),
        ("lan@côngđoàn.vn", "invalid.email.format"),
        ("@b.com", "invalid.email.format"),
        ("a@", "invalid.email.format"),
        (EMOJI + "@b.com", "invalid.email.format"),
        (ARABIC, "invalid.email.format"),
        (HTML, "invalid.email.format"),
        (SQL, "invalid.email.format"),
        ("<b>x</b>@example.com", "invalid.email.format"),
    ],
)
def test_parse_email_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_email, text).key == key


def test_parse_email_length_boundary() -> None:
    domain = ".".join(["a" * 63] * 3) + ".vn"  # 194 characters, all labels at the 63 maximum
    ok = "b" * 59 + "@" + domain
    assert len(ok) == 254
    assert tu.parse_email(ok) == ok
    exc = key_of(tu.parse_email, "b" + ok)
    assert (exc.key, exc.params) == ("invalid.email.too_long", {"max_len": 254, "length": 255})
    assert key_of(tu.parse_email, "x@" + "a" * 64 + ".vn").key == "invalid.email.format"


# -------------------------------------------------------------------------- parse_free_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Kế toán   trưởng ", "Kế toán trưởng"),
        ("Công nhân\nca 2", "Công nhân ca 2"),
        (HTML, HTML),  # stored as typed; escaping is the renderer's job
        (SQL, SQL),
        (EMOJI, EMOJI),
        (ARABIC, ARABIC),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # ZWJ emoji sequence is not a control
    ],
)
def test_parse_free_text_ok(text: str, expected: str) -> None:
    assert tu.parse_free_text(text, max_len=100) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "invalid.text.empty"),
        ("   \n\t", "invalid.text.empty"),
        (LONG, "invalid.text.too_long"),
        ("abc\x00def", "invalid.text.control_chars"),
        ("abc\x1bdef", "invalid.text.control_chars"),
        ("abc\x1fdef", "invalid.text.control_chars"),  # str.split() would eat this
        ("abc\x85def", "invalid.text.control_chars"),
        ("abc\u202edef", "invalid.text.control_chars"),  # RTL override
    ],
)
def test_parse_free_text_bad(text: str, key: str) -> None:
    assert key_of(tu.parse_free_text, text, max_len=100).key == key


def test_parse_free_text_lengths() -> None:
    assert tu.parse_free_text("x" * 100, max_len=100) == "x" * 100
    exc = key_of(tu.parse_free_text, LONG, max_len=100)
    assert exc.params == {"max_len": 100, "length": 5000}
    exc = key_of(tu.parse_free_text, " ab ", max_len=100, min_len=3)
    assert (exc.key, exc.params) == ("invalid.text.too_short", {"min_len": 3, "length": 2})
    assert tu.parse_free_text("abc", max_len=3, min_len=3) == "abc"


# ------------------------------------------------------------------------------- split_text


def assert_lossless(text: str, chunks: list[str], limit: int) -> None:
    """Chunks fit, are non-empty, and rebuild ``text`` if split-point newlines are re-added.

    A final newline counts as a split point when the last chunk ended right before it.
    """
    assert all(0 < len(c) <= limit for c in chunks)
    # Track every position consistent with "a newline may have been dropped before each chunk
    # after the first"; a set handles texts where that is ambiguous (e.g. runs of newlines).
    positions = {0}
    for i, chunk in enumerate(chunks):
        starts = set(positions)
        if i:
            starts |= {p + 1 for p in positions if text[p : p + 1] == "\n"}
        positions = {q + len(chunk) for q in starts if text.startswith(chunk, q)}
        assert positions, f"chunk {i} does not continue the text"
    # the whole text is covered, up to a final newline that may have been dropped
    ends = {len(text), len(text) - 1} if text.endswith("\n") else {len(text)}
    assert positions & ends


def test_split_text_short_and_empty() -> None:
    assert tu.split_text("", 10) == []
    assert tu.split_text("hello", 10) == ["hello"]
    assert tu.split_text("a" * 10, 10) == ["a" * 10]


def test_split_text_prefers_newlines() -> None:
    text = "line one\nline two\nline three"
    chunks = tu.split_text(text, 20)
    assert chunks == ["line one\nline two", "line three"]
    assert_lossless(text, chunks, 20)


def test_split_text_falls_back_to_spaces() -> None:
    text = "alpha beta gamma delta"
    chunks = tu.split_text(text, 12)
    assert chunks == ["alpha beta ", "gamma delta"]
    assert "".join(chunks) == text


def test_split_text_hard_split() -> None:
    chunks = tu.split_text(LONG, 4096)
    assert chunks == ["a" * 4096, "a" * 904]


def test_split_text_keeps_combining_marks_with_base() -> None:
    text = "e\u0302\u0303" * 4  # four decomposed "ễ", three code points each
    chunks = tu.split_text(text, 5)
    assert chunks == ["e\u0302\u0303"] * 4


def test_split_text_newline_exactly_at_limit() -> None:
    text = "a" * 10 + "\n" + "b" * 3
    assert tu.split_text(text, 10) == ["a" * 10, "bbb"]
    # A trailing newline at a split point is dropped rather than sent as its own message.
    assert tu.split_text("a" * 10 + "\n", 10) == ["a" * 10]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50, 4096])
def test_split_text_lossless_mixed(limit: int) -> None:
    text = (
        "Thông báo họp công đoàn.\n\n"
        + ("Nội dung rất dài " * 300)
        + "\n"
        + LONG
        + "\n\n\n"
        + EMOJI * 10
        + " "
        + ARABIC
        + "\n"
    )
    assert_lossless(text, tu.split_text(text, limit), limit)


def test_split_text_rejects_bad_limit() -> None:
    with pytest.raises(ValueError):
        tu.split_text("abc", 0)
