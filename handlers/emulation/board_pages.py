"""The board's emulation pages on the web: the campaign's progress (registrations per title
and per unit, as HTML bars with their numbers and as the report's chart, the targets, the
report's spreadsheet), and the year-end review's decisions for several members at once.

Everything is the chat's: the figures are /thidua_baocao's (report.py), each decision goes
through /thidua_xet's `decide` (review.py: its rules, caps and audit). Only the board of the
CĐCS, on its own subtree, as in chat (a tổ trưởng has no /thidua_baocao or /thidua_xet)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from bot import textutil
from bot.webui.pages import WebRequest, attachment
from handlers import registry
from handlers.common import pickers
from handlers.emulation.campaign import percent, short_name, target_text
from handlers.emulation.report import (
    Figures,
    by_title,
    campaign_of_board,
    chart_png,
    live_targets,
    pct,
    report_figures,
    report_xlsx,
    target_status,
    title_label,
)
from handlers.emulation.review import DECIDED, PROBLEM, RESULTS, cap_lines, decide
from handlers.members.table import XLSX
from models import emulation, members, units
from models.emulation import Campaign, Pledge
from models.members import ACTIVE
from models.units import Unit

PROGRESS_PAGE = "/web/thidua/tiendo"
CHART_PAGE = "/web/thidua/tiendo.png"
REPORT_FILE = "/web/thidua/baocao.xlsx"
REVIEW_PAGE = "/web/thidua/xet"
REVIEW_PAGE_SIZE = 50
SEARCH_MAX = 80
# A decision's field: "r-<pledge id>" = "dat" | "chua_dat".
FIELD = "r-"
# The most decisions one press records (a page shows 50 members and their few titles).
MOST_DECISIONS = 500

pages = registry.pages


async def _campaign(web: WebRequest) -> tuple[Campaign, Unit] | Response:
    found = await campaign_of_board(web.ctx)
    if found is None:
        return web.render("message.html", text=web.t("emu.none_open"))
    return found


async def _figures(web: WebRequest) -> tuple[Campaign, Unit, Figures] | Response:
    """The board's campaign and the report's figures, or the page saying there is none."""
    ctx = web.ctx
    found = await _campaign(web)
    if isinstance(found, Response):
        return found
    campaign, root = found
    leaders = ctx.app.settings.emulation.leader_titles
    return campaign, root, await report_figures(ctx.session, campaign, root, ctx.now, leaders)


# --- progress ---------------------------------------------------------------------------------
@pages.page(PROGRESS_PAGE, access="board", title_key="emu.web.progress_title")
async def progress(web: WebRequest) -> Response:
    t = web.t
    found = await _figures(web)
    if isinstance(found, Response):
        return found
    campaign, root, figures = found
    totals, extra = figures.summary["totals"], figures.extra
    titles = [
        {
            "name": title_label(t, title),
            "registered": t.number(got),
            "base": t.number(base),
            "share": percent(t, pct(got, base)),
            "value": round(min(pct(got, base), 100.0), 1),
        }
        for title, got, base in by_title(campaign, totals)
    ]
    individual = [title for title, _, _ in by_title(campaign, totals)]
    groups = [
        {
            "name": name,
            "members": t.number(group["members"]),
            "counts": [t.number(group["titles"].get(x["code"], 0)) for x in individual],
        }
        for name, group in sorted(figures.summary["groups"].items())
    ]
    reviewing = bool(extra.get("reviewing"))
    review = [
        {
            "name": title["name"],
            "reached": t.number(totals["reached"].get(title["code"], 0)),
            "registered": t.number(got),
            "share": percent(t, pct(totals["reached"].get(title["code"], 0), got)),
        }
        for title, got, _ in by_title(campaign, totals)
        if reviewing and got
    ]
    names = {x["code"]: x["name"] for x in campaign.titles}
    targets = []
    for target in live_targets(campaign):
        shown, met = target_status(t, target, totals, reviewing)
        state = "met" if met else ("waiting" if met is None else "missed")
        targets.append({"text": target_text(t, target, names), "now": shown, "state": state})
    collective = [
        {
            "name": title_label(t, title),
            "units": ", ".join(n for code, n in extra["unit_pledges"] if code == title["code"]),
        }
        for title in campaign.titles
        if title["kind"] == "collective"
    ]
    chart_alt = t(
        "emu.web.chart_alt",
        year=campaign.year,
        items="; ".join(f"{x['name']} {x['share']}" for x in titles),
    )
    return web.render(
        "emulation/progress.html",
        year=campaign.year,
        unit=root.name,
        members=t.number(totals["members"]),
        titles=titles,
        shorts=[(short_name(x), x["name"]) for x in individual],
        groups=groups,
        left=t.number(extra["left"]) if extra.get("left") else "",
        collective=collective,
        review=review,
        targets=targets,
        chart=CHART_PAGE,
        chart_alt=chart_alt,
        download=REPORT_FILE,
        review_page=REVIEW_PAGE,
    )


@pages.page(CHART_PAGE, access="board", title_key="emu.web.chart", nav=False)
async def progress_chart(web: WebRequest) -> Response:
    """The chat report's chart (matplotlib), as a PNG for the progress page."""
    found = await _figures(web)
    if isinstance(found, Response):
        return found
    campaign, _root, figures = found
    image = chart_png(web.t, campaign, figures.summary)
    return Response(image, media_type="image/png", headers={"Cache-Control": "no-store"})


@pages.page(REPORT_FILE, access="board", title_key="emu.web.download", nav=False)
async def report_file(web: WebRequest) -> Response:
    """The /thidua_baocao spreadsheet, audited as the chat's report is."""
    ctx = web.ctx
    found = await _figures(web)
    if isinstance(found, Response):
        return found
    campaign, root, figures = found
    content = await report_xlsx(ctx.session, ctx.t, campaign, root, figures)
    ctx.audit("emulation_report", target=f"campaign:{campaign.id}", via="web")
    return attachment(content, f"dang-ky-thi-dua-{campaign.year}-{root.code}.xlsx", XLSX)


# --- the year-end review ----------------------------------------------------------------------
@pages.page(REVIEW_PAGE, access="board", title_key="emu.web.review_title")
async def review_page(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    found = await _campaign(web)
    if isinstance(found, Response):
        return found
    campaign, root = found
    assert campaign.id is not None
    notices: list[tuple[str, str]] = []
    if web.method == "POST":
        notices = await _record(web, campaign)
    query = web.request.query_params
    text = query.get("q", "").strip()
    if len(text) > SEARCH_MAX:
        notices.append(("bad", t("members.search_too_long")))
        text = ""
    unit_id = textutil.number_or_none(query.get("donvi", ""))
    scope = root
    if unit_id is not None:
        unit = await units.get(ctx.session, unit_id)
        if unit is None:
            ctx.refuse(f"unit:{unit_id}", "board of unit")  # a made-up id: audited
        mine = unit is not None and await ctx.manages(unit, f"unit:{unit_id}")
        if unit is None or not mine or not root.contains(unit):
            return web.render("message.html", key="access.not_your_unit", params={}, status=403)
        scope = unit
    pledged = emulation.pledged_ids_query(campaign.id)
    page = textutil.number_or_none(query.get("trang", "1"), low=1, high=100_000) or 1
    total, people = await members.table_page(
        ctx.session,
        [scope],
        text=text,
        status=ACTIVE,
        among=pledged,
        offset=(page - 1) * REVIEW_PAGE_SIZE,
        limit=REVIEW_PAGE_SIZE,
    )
    in_root, _ = await members.table_page(
        ctx.session, [root], status=ACTIVE, among=pledged, limit=0
    )
    everyone = await members.count_in_subtree(ctx.session, root, statuses=[ACTIVE])
    ids = [m.id for m in people if m.id is not None]
    pledges = await emulation.pledges_for(ctx.session, campaign.id, ids)
    unit_of = await units.by_ids(ctx.session, [m.unit_id for m in people])

    def result(value: str | None) -> str:
        return t(f"emu.result.{value}") if value else t("emu.result.none")

    rows = [
        {
            "name": m.full_name,
            "unit": unit_of[m.unit_id].name if m.unit_id in unit_of else "",
            "pledges": [
                {
                    "id": p.id,
                    "title": _title_name(campaign, p),
                    "own": result(p.self_result) + (f" — {p.self_note}" if p.self_note else ""),
                    "decided": result(p.result),
                    "result": p.result or "",
                }
                for p in pledges.get(m.id or 0, [])
            ],
        }
        for m in people
    ]
    tree = await pickers.unit_tree(ctx.session, [root])
    kept = {k: v for k, v in {"q": text, "donvi": unit_id or ""}.items() if v}
    pages_count = max((total + REVIEW_PAGE_SIZE - 1) // REVIEW_PAGE_SIZE, 1)

    def page_link(number: int) -> str:
        return f"{REVIEW_PAGE}?{urlencode({**kept, 'trang': number})}"

    return web.render(
        "emulation/review.html",
        year=campaign.year,
        count=t(
            "emu.web.review_count",
            pledged=t.number(in_root),
            total=t.number(everyone),
            excluded=t.number(everyone - in_root),
        ),
        caps=await cap_lines(ctx, campaign),
        notices=notices,
        rows=rows,
        total=total,
        page=page,
        pages=pages_count,
        prev=page_link(page - 1) if page > 1 else "",
        next=page_link(page + 1) if page < pages_count else "",
        action=page_link(page),
        options=[(u.id, u.name, u.path.count("/") - 2) for u, _parent in tree],
        chosen={"q": text, "donvi": str(unit_id or "")},
    )


def _title_name(campaign: Campaign, pledge: Pledge) -> str:
    title = campaign.title(pledge.title_code)
    return title["name"] if title else pledge.title_code


def _depth(campaign: Campaign, code: str, seen: frozenset[str] = frozenset()) -> int:
    """How many titles stand under this one (LĐTT 0, CSTĐCS 1: it needs LĐTT)."""
    title = campaign.title(code)
    needs = [c for c in (title or {}).get("requires") or [] if c not in seen]
    return 1 + max((_depth(campaign, c, seen | {code}) for c in needs), default=-1)


async def _record(web: WebRequest, campaign: Campaign) -> list[tuple[str, str]]:
    """Each changed decision through the chat's `decide`, in the order the rules need when
    several come at once: results taken back first, from the titles that stand on others
    down (CSTĐCS before LĐTT), then awards from the bottom up (LĐTT before CSTĐCS, whose
    places it makes)."""
    ctx, t = web.ctx, web.t
    assert campaign.id is not None
    wanted: list[tuple[int, str, int]] = []
    skipped = 0
    fields = [(name, values) for name, values in web.form.items() if name.startswith(FIELD)]
    for name, values in fields[:MOST_DECISIONS]:
        pledge_id = textutil.number_or_none(name.removeprefix(FIELD))
        value = values[0] if values else ""
        if pledge_id is None or value not in RESULTS.values():
            skipped += 1
            continue
        item = await ctx.session.get(Pledge, pledge_id)
        if item is not None and item.campaign_id == campaign.id and item.result == value:
            continue  # unchanged: nothing to record, nothing to audit
        depth = _depth(campaign, item.title_code) if item is not None else 0
        wanted.append((pledge_id, value, depth))
    wanted.sort(key=lambda w: (w[1] == "dat", w[2] if w[1] == "dat" else -w[2]))
    done = 0
    problems: list[str] = []
    for pledge_id, value, _ in wanted:
        decision = await decide(ctx, pledge_id, value, campaign.id)
        if decision.outcome == DECIDED:
            done += 1
        elif decision.outcome == PROBLEM and decision.pledge is not None:
            member = await members.get(ctx.session, decision.pledge.member_id)
            name = member.full_name if member else ""
            problems.append(t("emu.web.problem", name=name, problem=decision.problem))
        else:  # not in this campaign, or not this board's (refused and audited)
            skipped += 1
    notices: list[tuple[str, str]] = []
    if done:
        notices.append(("ok", t("emu.web.saved", count=t.number(done))))
    notices += [("bad", problem) for problem in problems]
    if skipped:
        notices.append(("bad", t("emu.web.skipped", count=t.number(skipped))))
    if not notices:
        notices.append(("ok", t("emu.web.unchanged")))
    return notices
