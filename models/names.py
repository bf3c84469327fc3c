"""How people's names are kept and found: NFC text, a diacritic-free search key, and the
Vietnamese sort order. The models store these; bot/textutil.py and the handlers use them too."""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """NFC-normalise, strip, and collapse every internal whitespace run to one space."""
    # str.split() with no argument splits on all Unicode whitespace (incl. NBSP, newlines).
    return " ".join(unicodedata.normalize("NFC", text).split())


# NFD does not decompose đ/Đ (it is a separate letter, not d + mark). Ð/ð (Icelandic eth)
# look identical and some Vietnamese keyboards emit them, so they fold to "d" as well.
_D_FOLD = str.maketrans({"đ": "d", "ð": "d"})


def search_key(text: str) -> str:
    """Lowercase, diacritic-free, whitespace-collapsed key for accent-insensitive search."""
    # Lowercase first: "İ".lower() yields i + combining dot, which the mark strip removes.
    lowered = unicodedata.normalize("NFD", text.lower().translate(_D_FOLD))
    stripped = "".join(ch for ch in lowered if unicodedata.category(ch) != "Mn")
    return nfc(stripped)


# The Vietnamese alphabet (with the Latin letters it lacks, for foreign names, where Latin puts
# them); tones in dictionary order: ngang, huyền, hỏi, ngã, sắc, nặng.
_VI_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_VI_RANK = {letter: rank for rank, letter in enumerate(_VI_ALPHABET)}
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_D_FOLD_TO_LETTER = str.maketrans({"ð": "đ"})  # the look-alike some keyboards emit


def _vi_word_key(word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(letters, tones) of one word: "Ánh" → (a n h, sắc); ă/â/ê/ô/ơ/ư/đ are letters of
    their own, the tone only decides between words whose letters are the same."""
    letters: list[str] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", word.lower().translate(_D_FOLD_TO_LETTER)):
        if ch in _VI_TONES:
            tones.append(_VI_TONES[ch])
        elif unicodedata.combining(ch):  # breve, circumflex, horn: part of the letter
            merged = unicodedata.normalize("NFC", letters[-1] + ch) if letters else ""
            if len(merged) == 1:  # a mark no letter takes ("İ" is i + a dot) is left out
                letters[-1] = merged
        else:
            letters.append(ch)
    ranks = tuple(_VI_RANK.get(ch, len(_VI_RANK) + ord(ch)) for ch in letters)
    return ranks, tuple(tones)


def vi_sort_key(full_name: str) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """Sort key for people's names the Vietnamese way: by given name (tên, the last word),
    then family and middle names, in Vietnamese alphabetical order. Use it for every list of
    people (`sorted(people, key=lambda m: vi_sort_key(m.full_name))`)."""
    words = nfc(full_name).split()
    ordered = words[-1:] + words[:-1]
    return tuple(_vi_word_key(word) for word in ordered)


SORT_TEXT_MAX = 512


def vi_sort_text(full_name: str) -> str:
    """`vi_sort_key` written as text that sorts the same way in SQL, under any collation: only
    the characters 0-9 and a-f (no collation reorders those), each word's letters as two hex
    digits (rank + 1; a rank past 0xEE as "f" and six digits), "00" after the letters, then
    its tones one digit each and "0". A database can then sort and page members by name."""
    parts: list[str] = []
    for ranks, tones in vi_sort_key(full_name):
        for rank in ranks:
            code = rank + 1
            parts.append(f"{code:02x}" if code < 0xF0 else f"f{code:06x}")
        parts.append("00")
        parts.extend(str(tone) for tone in tones)
        parts.append("0")
    return "".join(parts)[:SORT_TEXT_MAX]
