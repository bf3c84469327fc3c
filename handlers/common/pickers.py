"""Choosing from a list that may be long: a page of buttons at a time, and search by typing.

No list a person picks from is sent whole. Telegram refuses an inline keyboard of more than
100 buttons (see tests/fakes/telegram/limits.py for the limits and their sources), and Zalo and the
console turn every button into a numbered line, so a CĐCS with 1,000 tổ would otherwise get
a 1,000-line message. A picker shows PAGE_SIZE choices, "← Trang trước" / "Trang sau →"
buttons and "Trang 2/125"; when the list is longer than a page it also says that typing a few
letters of a name finds it (accents optional: "to 5" finds "Tổ 5").

The words typed are kept in one of two places:

* inside a feature's own dialog (a broadcast, a meeting, a registration) the feature keeps
  them in its dialog data under `QUERY` and hands typed text to `query_from`;
* for a list shown outside any dialog (the units a member may move to, the members of a
  review ...), `listen` opens a small "pick" dialog, and typed text re-shows the list the
  feature registered with `@searchable` (which checks access again, as every press does).

Button payloads carry only short ids and page numbers (Telegram allows 64 bytes), never the
words typed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import textutil
from bot.chat import Button
from bot.context import Context
from bot.i18n import Translator
from bot.registry import OutdatedPress
from handlers import registry
from models import units
from models.units import Unit

PAGE_SIZE = 8
MAX_QUERY = 60  # characters of a search kept (a name is never longer in practice)
QUERY = "pick_q"  # where a feature's dialog data keeps the words typed to search its picker
FLOW = "pick"


@dataclass(frozen=True)
class Choice:
    label: str
    payload: str
    # What typed words are matched against (the label when empty), e.g. a unit's name, its
    # parent's name and its code.
    key: str = ""


@dataclass
class Page:
    lines: list[str]  # page number, search result, how to search: to add to the text
    rows: list[list[Button]]  # the choices of this page, one a row, then ← / →
    number: int  # the page shown, from 0 (clamped to the pages there are)
    pages: int
    found: int  # choices matching the query (all of them without one)

    def text(self, head: str) -> str:
        return "\n".join([head, *self.lines])


def clean_query(text: str) -> str:
    return textutil.nfc(text)[:MAX_QUERY]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", textutil.search_key(text))


def matching(choices: Sequence[Choice], query: str) -> list[Choice]:
    """The choices with a word starting with each typed word, accents and case ignored
    ("to 98" finds "Tổ 98" and "Tổ 980", not "Tổ 198")."""
    wanted = _words(query)
    if not wanted:
        return list(choices)
    found = []
    for choice in choices:
        words = _words(choice.key or choice.label)
        if all(any(w.startswith(part) for w in words) for part in wanted):
            found.append(choice)
    return found


def page(
    t: Translator,
    choices: Sequence[Choice],
    number: int = 0,
    *,
    turn: Callable[[int], str],
    query: str = "",
    clear: str | None = None,
    hint: str | None = "pick.hint.unit",
    size: int = PAGE_SIZE,
) -> Page:
    """One page of `choices` (those matching `query` when there is one).

    `turn(n)` is the payload that shows page n; `clear`, when given, the payload that drops
    the search and shows everything again; `hint` the catalog key saying what to type to
    search (None for a list that only pages).
    """
    shown = matching(choices, query) if query else list(choices)
    pages = max(1, -(-len(shown) // size))
    number = max(0, min(number, pages - 1))
    rows = [[Button(c.label, c.payload)] for c in shown[number * size : (number + 1) * size]]
    nav = []
    if number > 0:
        nav.append(Button(t("btn.prev"), turn(number - 1)))
    if number + 1 < pages:
        nav.append(Button(t("btn.next"), turn(number + 1)))
    if nav:
        rows.append(nav)
    lines = []
    if query:
        if shown:
            lines.append(t("pick.found", query=query, count=t.number(len(shown))))
        else:
            lines.append(t("pick.none", query=query))
        if clear is not None:
            rows.append([Button(t("pick.btn.all", count=t.number(len(choices))), clear)])
    if pages > 1:
        lines.append(t("pick.page", page=number + 1, pages=pages))
    if hint is not None and (query or len(choices) > size):
        lines.append(t(hint))
    return Page(lines, rows, number, pages, len(shown))


def is_long(choices: Sequence[Any], size: int = PAGE_SIZE) -> bool:
    """More than a page: the picker offers search."""
    return len(choices) > size


def query_from(data: dict[str, Any], text: str) -> str:
    """Keep typed words as the search of a picker inside a feature's dialog."""
    query = clean_query(text)
    data[QUERY] = query
    return query


def current_query(data: dict[str, Any]) -> str:
    return str(data.get(QUERY) or "")


# --- units ------------------------------------------------------------------------------------
def natural_key(name: str) -> list[Any]:
    """Sort key putting "Tổ 2" before "Tổ 10" (the database sorts them as text)."""
    parts = re.split(r"(\d+)", textutil.search_key(name))
    return [int(p) if i % 2 else p for i, p in enumerate(parts)]


async def unit_tree(session: AsyncSession, roots: Sequence[Unit]) -> list[tuple[Unit, Unit | None]]:
    """Every unit under `roots` with its parent, depth first, each level in name order."""
    result: list[tuple[Unit, Unit | None]] = []
    seen: set[int] = set()
    for root in roots:
        if root.id in seen:
            continue
        below = [u for u in await units.subtree(session, root) if u.id not in seen]
        by_id = {u.id: u for u in below}
        children: dict[int | None, list[Unit]] = {}
        for unit in below:
            if unit.id != root.id:
                children.setdefault(unit.parent_id, []).append(unit)
        stack: list[Unit] = [root]
        while stack:
            unit = stack.pop()
            assert unit.id is not None
            if unit.id in seen:
                continue
            seen.add(unit.id)
            parent = by_id.get(unit.parent_id) if unit.id != root.id else None
            result.append((unit, parent))
            kids = sorted(children.get(unit.id, []), key=lambda u: natural_key(u.name))
            stack.extend(reversed(kids))
    return result


def unit_choices(
    tree: Sequence[tuple[Unit, Unit | None]],
    payload_of: Callable[[Unit], str],
    *,
    label_of: Callable[[Unit], str] | None = None,
) -> list[Choice]:
    """Choices for (unit, parent) pairs as `unit_tree` gives them: a unit two or more levels
    below the top of the list (or any unit, when the list has several tops) is labelled with
    its parent ("Tổ 1 (Phân xưởng A)"), since several branches often have a "Tổ 1"."""
    parent_of = {unit.id: parent for unit, parent in tree}
    several_tops = sum(1 for _, parent in tree if parent is None) > 1
    found = []
    for unit, parent in tree:
        label = label_of(unit) if label_of else unit.name
        if parent is not None and (several_tops or parent_of.get(parent.id) is not None):
            label = f"{label} ({parent.name})"
        key = " ".join([unit.name, parent.name if parent else "", unit.code])
        found.append(Choice(label, payload_of(unit), key))
    return found


# --- search outside a feature's dialog ----------------------------------------------------------
Refresh = Callable[[Context, list[str], str], Awaitable[None]]
_LISTS: dict[str, Refresh] = {}


def searchable(name: str) -> Callable[[Refresh], Refresh]:
    """Register how to show list `name` again for (args, query) when someone types words."""

    def register(func: Refresh) -> Refresh:
        if name in _LISTS:
            raise ValueError(f"picker list {name} registered twice")
        _LISTS[name] = func
        return func

    return register


async def listen(ctx: Context, name: str, args: Sequence[object], query: str = "") -> None:
    """Let the person's next typed words search list `name` shown for `args`."""
    await ctx.set_dialog(FLOW, name, {"args": [str(a) for a in args], "q": query})


def listened_query(ctx: Context, name: str, args: Sequence[object]) -> str:
    """The words typed to search list `name` for `args`, while that search is still open."""
    dialog = ctx.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != name:
        return ""
    if dialog.data.get("args") != [str(a) for a in args]:
        return ""
    return str(dialog.data.get("q") or "")


async def stop_listening(ctx: Context) -> None:
    """A choice was made: typed text no longer searches."""
    if ctx.dialog is not None and ctx.dialog.flow == FLOW:
        await ctx.end_dialog()


@registry.flow(FLOW)
async def on_typed(ctx: Context) -> None:
    assert ctx.dialog is not None
    refresh = _LISTS.get(ctx.dialog.step)
    if refresh is None:  # a list from an older version of the bot
        raise OutdatedPress(ctx.dialog.step, end_dialog=True)
    query = clean_query(ctx.event.text or "")
    if not query:
        ctx.reply(ctx.t("input.text_expected"))
        return
    args = [str(a) for a in ctx.dialog.data.get("args") or []]
    await listen(ctx, ctx.dialog.step, args, query)
    await refresh(ctx, args, query)
