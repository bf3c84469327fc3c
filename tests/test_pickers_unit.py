"""handlers/pickers.py on its own: search, pages, natural order, labels, payload sizes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.registry import payload
from handlers.common import pickers
from handlers.common.pickers import PAGE_SIZE, Choice
from models.units import Unit

T = Translator("vi", ZoneInfo("Asia/Ho_Chi_Minh"))


def tổ(count: int) -> list[Choice]:
    return [Choice(f"Tổ công đoàn số {i}", payload("x", "u", i)) for i in range(1, count + 1)]


def labels(page: pickers.Page) -> list[str]:
    return [b.label for row in page.rows for b in row]


def test_search_ignores_accents_and_case_and_matches_word_starts() -> None:
    choices = [
        Choice("Tổ Hóa chất", "a"),
        Choice("Tổ Hoá Chất ca đêm", "b"),  # the other accent placement
        Choice("Phòng Đời sống", "c"),
        Choice("Tổ Dệt", "d", key="Tổ Dệt Phân xưởng Nhuộm DM-PXN-DET"),
    ]
    assert [c.payload for c in pickers.matching(choices, "HOA CHAT")] == ["a", "b"]
    assert [c.payload for c in pickers.matching(choices, "doi song")] == ["c"]
    assert [c.payload for c in pickers.matching(choices, "nhuom")] == ["d"]  # the key, not label
    assert [c.payload for c in pickers.matching(choices, "dm-pxn")] == ["d"]
    assert pickers.matching(choices, "oa") == []  # inside a word: no
    assert [c.payload for c in pickers.matching(choices, "  ")] == ["a", "b", "c", "d"]
    found = pickers.matching(tổ(1000), "so 98")
    assert [c.label for c in found][:2] == ["Tổ công đoàn số 98", "Tổ công đoàn số 980"]
    assert len(found) == 11  # not 198, 298 …


def test_pages_clamp_and_say_where_they_are() -> None:
    def turn(n: int) -> str:
        return payload("x", "p", n)

    first = pickers.page(T, tổ(1000), 0, turn=turn)
    assert labels(first) == [f"Tổ công đoàn số {i}" for i in range(1, 9)] + ["Trang sau →"]
    assert first.lines[0] == "Trang 1/125" and "Gõ vài chữ" in first.lines[1]
    last = pickers.page(T, tổ(1000), 999, turn=turn)  # past the end: the last page
    assert last.number == 124 and labels(last)[-1] == "← Trang trước"
    assert "Trang 125/125" in last.text("Chọn:")
    short = pickers.page(T, tổ(3), 0, turn=turn)
    assert short.lines == [] and len(short.rows) == 3  # one page: no page line, no search
    found = pickers.page(T, tổ(1000), 0, turn=turn, query="số 7", clear="all")
    assert found.found == 111 and found.pages == 14
    assert found.lines[0] == "Tìm thấy 111 kết quả cho «số 7»."
    assert labels(found)[-1] == "↩ Xem lại cả danh sách (1.000)"
    nothing = pickers.page(T, tổ(10), 0, turn=turn, query="xyz", clear="all")
    assert "Không tìm thấy" in nothing.lines[0] and labels(nothing) == [
        "↩ Xem lại cả danh sách (10)"
    ]
    plain = pickers.page(T, tổ(100), 0, turn=turn, hint=None)
    assert plain.lines == ["Trang 1/13"]  # a list that only pages says nothing of searching


def test_every_page_fits_telegram() -> None:
    """Whatever the list, a page is at most PAGE_SIZE choices and a few more buttons, each
    payload within 64 bytes."""
    choices = [Choice("x" * 200, payload("bc", "unit", 10**12 + i)) for i in range(5000)]
    for number in (0, 1, 312, 624, 10_000):
        shown = pickers.page(T, choices, number, turn=lambda n: payload("bc", "upg", n))
        buttons = [b for row in shown.rows for b in row]
        assert len(buttons) <= PAGE_SIZE + 2 and max(len(row) for row in shown.rows) <= 2
        assert all(len((b.payload or "").encode()) <= 64 for b in buttons)


def test_units_in_natural_order_with_parents_when_needed() -> None:
    def unit(uid: int, name: str, parent: Unit | None) -> Unit:
        return Unit(id=uid, code=f"U{uid}", name=name, parent_id=parent.id if parent else None)

    root = unit(1, "Công đoàn cơ sở", None)
    shop = unit(2, "Phân xưởng A", root)
    tree = [
        (root, None),
        (shop, root),
        (unit(3, "Tổ 1", shop), shop),
        (unit(4, "Tổ 2", root), root),
    ]
    choices = pickers.unit_choices(tree, lambda u: payload("x", u.id))
    assert [c.label for c in choices] == [
        "Công đoàn cơ sở",
        "Phân xưởng A",
        "Tổ 1 (Phân xưởng A)",  # two levels down: which branch
        "Tổ 2",
    ]
    assert pickers.matching(choices, "phan xuong a")[1].label == "Tổ 1 (Phân xưởng A)"
    names = ["Tổ 10", "Tổ 2", "tổ 1", "Tổ 1A", "Ban nữ công"]
    assert sorted(names, key=pickers.natural_key) == [
        "Ban nữ công",
        "tổ 1",
        "Tổ 1A",
        "Tổ 2",
        "Tổ 10",
    ]
