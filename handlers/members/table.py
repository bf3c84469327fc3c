"""The member table on the web: search (diacritics optional, as /timkiem), filters by unit,
gender and status, the Vietnamese name order, pages of 50; and the .xlsx export of /xuatds.
A board sees its own units, as in chat; a tổ trưởng their own tổ (read only), the units the
chat lets them organise for (Context.organiser_roots)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from bot import textutil
from bot.context import Context
from bot.webui.pages import WebRequest, attachment
from handlers import registry
from handlers.common import pickers
from handlers.members.roster import export_members
from models import members, units
from models.members import GENDERS, LISTED
from models.units import Unit

TABLE_PAGE = "/web/doanvien"
EXPORT_PAGE = "/web/doanvien.xlsx"
MEMBER_PAGE = "/web/doanvien/hoso"  # one member (handlers/members/card_page.py)
IMPORT_PAGE = "/web/doanvien/nhap"  # the roster import (handlers/members/import_page.py)
PAGE_SIZE = 50
SEARCH_MAX = 80
CARD_CHOICES = ("co", "chua")  # has a union card number / has none yet
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pages = registry.pages


async def may_see(ctx: Context, unit: Unit, target: str) -> bool:
    """Whether this person may see the members of `unit`: a board its subtree, a tổ trưởng
    their tổ; otherwise refused and audited (`access_denied`), as in chat."""
    if await ctx.can_organise(unit):
        return True
    ctx.refuse(target, "organiser of unit")
    return False


def refusal(web: WebRequest) -> Response:
    return web.render("message.html", key="access.not_your_unit", params={}, status=403)


@pages.page(TABLE_PAGE, access="organiser", title_key="members.web.title")
async def member_table(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    query = web.request.query_params
    roots = await ctx.organiser_roots()
    tree = await pickers.unit_tree(ctx.session, roots)
    options = [(u.id, u.name, u.path.count("/") - 2) for u, _parent in tree]
    notice = ""
    text = query.get("q", "").strip()
    if len(text) > SEARCH_MAX:
        notice, text = t("members.search_too_long"), ""
    unit_id = textutil.number_or_none(query.get("donvi", ""))
    scope = roots
    if unit_id is not None:
        unit = await units.get(ctx.session, unit_id)
        if unit is None or not await may_see(ctx, unit, f"unit:{unit_id}"):  # audited
            return refusal(web)
        scope = [unit]
    gender = query.get("gioitinh", "")
    gender = gender if gender in GENDERS else ""
    status = query.get("trangthai", "")
    status = status if status in LISTED else ""
    card = query.get("the", "")
    card = card if card in CARD_CHOICES else ""
    page = textutil.number_or_none(query.get("trang", "1"), low=1, high=100_000) or 1
    total, rows = await members.table_page(
        ctx.session,
        scope,
        text=text,
        gender=gender or None,
        status=status or None,
        has_card={"co": True, "chua": False}.get(card),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    unit_of = await units.by_ids(ctx.session, [m.unit_id for m in rows])
    kept = {"q": text, "donvi": unit_id or "", "gioitinh": gender, "trangthai": status, "the": card}
    kept = {k: v for k, v in kept.items() if v}
    pages_count = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)

    def page_link(number: int) -> str:
        return f"{TABLE_PAGE}?{urlencode({**kept, 'trang': number})}"

    start = (page - 1) * PAGE_SIZE
    return web.render(
        "members/table.html",
        rows=[
            {
                "no": start + i,
                "link": f"{MEMBER_PAGE}?id={m.id}",
                "name": m.full_name,
                "unit": unit_of[m.unit_id].name if m.unit_id in unit_of else "",
                "gender": t(f"gender.{m.gender}") if m.gender else "",
                "phone": textutil.format_phone_local(m.phone) if m.phone else "",
                "card": m.card_number or "",
                "status": t(f"status.{m.status}"),
            }
            for i, m in enumerate(rows, start=1)
        ],
        total=total,
        page=page,
        pages=pages_count,
        prev=page_link(page - 1) if page > 1 else "",
        next=page_link(page + 1) if page < pages_count else "",
        options=options,
        genders=GENDERS,
        statuses=LISTED,
        cards=CARD_CHOICES,
        chosen={
            "q": text,
            "donvi": str(unit_id or ""),
            "gioitinh": gender,
            "trangthai": status,
            "the": card,
        },
        notice=notice,
        export=EXPORT_PAGE if ctx.is_board else "",
        import_page=IMPORT_PAGE if ctx.is_board else "",
    )


@pages.page(EXPORT_PAGE, access="board", title_key="members.web.export", nav=False)
async def member_export(web: WebRequest) -> Response:
    """The /xuatds file (one sheet for all, one per unit), audited the same way."""
    ctx, t = web.ctx, web.t
    roots = await ctx.board_roots()
    if not roots:
        return web.render("message.html", key="members.no_units", params={})
    today = ctx.now.astimezone(t.tz).date()
    title = t("xlsx.title", unit=", ".join(r.name for r in roots), date=t.date(today))
    content = await export_members(ctx.session, roots, t, title=title)
    ctx.audit("members_exported", target=",".join(r.code for r in roots), via="web")
    filename = f"doan-vien-{roots[0].code}-{today:%Y%m%d}.xlsx"
    return attachment(content, filename, XLSX)
