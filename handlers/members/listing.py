"""Board tools for the members of their units: pending requests, list, search, view, export."""

from __future__ import annotations

from bot import textutil
from bot.chat import Button, Document, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload, press_parts
from handlers import registry
from handlers.common import pickers
from handlers.common.fields import member_values, summary_lines
from handlers.members.manage import card_buttons
from handlers.members.registration import FIELD_STEPS, approval_request
from handlers.members.roster import export_members
from models import members, units

PAGE_SIZE = 15
MAX_FOUND = 200  # search results shown, a page at a time (more: type a longer name)
SEARCH_LIST = "mem_search"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@registry.command(
    "choduyet", access="board", where="private", help_key="help.cmd.choduyet", menu=True
)
async def pending(ctx: Context) -> None:
    roots = await ctx.board_roots()
    waiting = await members.pending_in(ctx.session, roots)
    if not waiting:
        ctx.reply(ctx.t("members.no_pending"))
        return
    ctx.reply(ctx.t("members.pending_count", count=len(waiting)))
    for member in waiting[:20]:
        unit = await units.get(ctx.session, member.unit_id)
        assert unit is not None
        ctx.reply(approval_request(ctx.t, member, unit))


@registry.command(
    "doanvien", access="board", where="private", help_key="help.cmd.doanvien", menu=True
)
async def list_members(ctx: Context) -> None:
    page = textutil.number_or_none(ctx.event.args, low=1, high=PAGE.high) or 1
    await _show_page(ctx, page, edit=False)


@registry.button("mem", access="board")
async def member_button(ctx: Context) -> None:
    # a page of the list, a member's card, a page of search results
    args = ctx.press_args
    act, number = press_parts(args, ("p", "v", "sp"), ID if args[:1] == ["v"] else PAGE)
    if act == "p":
        await _show_page(ctx, max(number, 1), edit=True)
    elif act == "v":
        await _view(ctx, number)
    else:
        query = pickers.listened_query(ctx, SEARCH_LIST, [])
        if not query:
            raise OutdatedPress(act)
        await _search(ctx, query, number, edit=True)


async def _show_page(ctx: Context, page: int, *, edit: bool) -> None:
    roots = await ctx.board_roots()
    if not roots:
        ctx.reply(ctx.t("members.no_units"))
        return
    root = roots[0]  # a board manages one CĐCS in practice; admins see the first
    total = await members.count_in_subtree(ctx.session, root)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    rows = await members.list_in_subtree(
        ctx.session, root, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    start = (page - 1) * PAGE_SIZE
    lines = [
        ctx.t(
            "members.list_title", unit=root.name, total=ctx.t.number(total), page=page, pages=pages
        )
    ]
    lines += [f"{start + i}. {m.full_name}" for i, m in enumerate(rows, start=1)]
    buttons = [
        [Button(f"{start + i}. {m.full_name}", payload("mem", "v", m.id))]
        for i, m in enumerate(rows, start=1)
    ]
    nav = []
    if page > 1:
        nav.append(Button(ctx.t("btn.prev"), payload("mem", "p", page - 1)))
    if page < pages:
        nav.append(Button(ctx.t("btn.next"), payload("mem", "p", page + 1)))
    if nav:
        buttons.append(nav)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message("\n".join(lines), buttons=buttons, edit_ref=ref))


async def _view(ctx: Context, member_id: int) -> None:
    member = await members.get(ctx.session, member_id)
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None:
        raise OutdatedPress()
    if not await ctx.manages(unit, f"member:{member.id}"):
        return
    ctx.audit("member_viewed", target=f"member:{member.id}")
    text = "\n".join(
        [
            ctx.t("members.card_title", name=member.full_name, id=member.id),
            f"• {ctx.t('field.unit')}: {unit.name}",
            summary_lines(ctx.t, member_values(member), [*FIELD_STEPS, "email"]),
            f"• {ctx.t('field.status')}: {ctx.t('status.' + member.status)}",
        ]
    )
    ctx.reply(Message(text, buttons=card_buttons(ctx, member)))


@registry.command(
    "timkiem", access="board", where="private", help_key="help.cmd.timkiem", menu=True
)
async def search(ctx: Context) -> None:
    query = ctx.event.args.strip()
    if not query:
        await ctx.set_dialog("search", "query", {})
        ctx.reply(ctx.t("members.search_ask"))
        return
    await _search(ctx, query)


@registry.flow("search")
async def search_input(ctx: Context) -> None:
    text = (ctx.event.text or "").strip()
    if not text:
        ctx.reply(ctx.t("members.search_ask"))
        return
    await ctx.end_dialog()
    await _search(ctx, text)


@pickers.searchable(SEARCH_LIST)
async def _search_again(ctx: Context, _args: list[str], query: str) -> None:
    if not ctx.is_board:  # roles may have changed since the results were shown
        await pickers.stop_listening(ctx)
        ctx.reply(ctx.t("access.board_only"))
        return
    await _search(ctx, query)


async def _search(ctx: Context, query: str, number: int = 0, *, edit: bool = False) -> None:
    """Matching members a page at a time; typing again searches again."""
    if len(query) > 80:
        ctx.reply(ctx.t("members.search_too_long"))
        return
    found: list = []
    for root in await ctx.board_roots():
        found += await members.search(ctx.session, root, query, limit=MAX_FOUND + 1)
    if not edit:
        ctx.audit("member_search", target="", results=len(found))
    if not found:
        await pickers.stop_listening(ctx)
        ctx.reply(ctx.t("members.search_none"))
        return
    more = len(found) > MAX_FOUND
    choices = [
        pickers.Choice(f"{m.full_name} ({ctx.t('status.' + m.status)})", payload("mem", "v", m.id))
        for m in found[:MAX_FOUND]
    ]
    long = pickers.is_long(choices)
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("mem", "sp", n),
        hint="members.search_again" if long else None,
    )
    if long:
        await pickers.listen(ctx, SEARCH_LIST, [], query)
    head = ctx.t("members.search_found", count=ctx.t.number(len(choices)))
    if more:
        head = ctx.t("members.search_many", count=ctx.t.number(MAX_FOUND))
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(head), buttons=shown.rows, edit_ref=ref))


@registry.command("xuatds", access="board", where="private", help_key="help.cmd.xuatds", menu=True)
async def export(ctx: Context) -> None:
    roots = await ctx.board_roots()
    if not roots:
        ctx.reply(ctx.t("members.no_units"))
        return
    title = ctx.t(
        "xlsx.title",
        unit=", ".join(r.name for r in roots),
        date=ctx.t.date(ctx.now.astimezone(ctx.t.tz).date()),
    )
    content = await export_members(ctx.session, roots, ctx.t, title=title)
    stamp = ctx.now.astimezone(ctx.t.tz).strftime("%Y%m%d")
    filename = f"doan-vien-{roots[0].code}-{stamp}.xlsx"
    ctx.audit("members_exported", target=",".join(r.code for r in roots))
    ctx.reply(Message(ctx.t("members.export_caption"), document=Document(filename, content, XLSX)))
