"""The board's announcements on the web: the list of recent ones, writing one (text, unit,
audience, now or later) with a preview of the exact recipient count, and a page per
announcement with its live progress and, once done, the report and who did not get it.

Every step is the chat's own (handlers/broadcasts/compose.py): the same text check, the same
COUNT for the preview, the same `publish` (model calls, queueing, audit) and the same
progress and report wording (bot/progress.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, RedirectResponse, Response

from bot import textutil
from bot.progress import is_finished, progress_text, report_text
from bot.timeparse import parse_local_datetime
from bot.webui.pages import WebRequest
from handlers import registry
from handlers.broadcasts.compose import (
    MAX_TEXT,
    PERIOD,
    REPEATS,
    preview_of,
    publish,
    text_refusal,
)
from handlers.common import pickers
from handlers.common.audiences import AUDIENCES
from models import broadcasts, groups, members, outbox, units
from models.broadcasts import Broadcast
from models.outbox import CANCELLED, FAILED, SENT, UNCERTAIN, UNREACHABLE, DeliveryJob

LIST_PAGE = "/web/thongbao"
COMPOSE_PAGE = "/web/thongbao/moi"
ITEM_PAGE = "/web/thongbao/xem"
PROGRESS_JSON = "/web/thongbao/tiendo"
MISSED = (UNREACHABLE, FAILED, UNCERTAIN)
# The most announcements the list shows, and people the report names (the rest counted).
LIST_LIMIT = 50
MISSED_LIMIT = 500

pages = registry.pages
pages.template_folder("broadcasts", Path(__file__).parent / "templates")


# --- the list ---------------------------------------------------------------------------------
def status_of(job: DeliveryJob | None, counts: dict[str, int], now: Any) -> str:
    """Where an announcement's (first) sending is: scheduled, sending, done (with or without
    problems) or stopped."""
    if job is None:
        return "unknown"
    if job.cancelled_at is not None:
        return "stopped"
    if job.start_at > now:
        return "scheduled"
    if job.finished_at is None and not is_finished(job, counts):
        return "sending"
    return "problems" if sum(counts.get(s, 0) for s in MISSED) else "done"


@pages.page(LIST_PAGE, access="board", title_key="bc.web.title")
async def announcement_list(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    found = await broadcasts.recent_in(ctx.session, await ctx.board_roots(), limit=LIST_LIMIT)
    counts = await outbox.counts_of_jobs(ctx.session, [j.id for _, j in found if j and j.id])
    unit_of = await units.by_ids(ctx.session, {b.unit_id for b, _ in found})
    rows = []
    for item, job in found:
        got = counts.get(job.id, {}) if job and job.id else {}
        unit = unit_of.get(item.unit_id)
        status = status_of(job, got, ctx.now)
        rows.append(
            {
                "id": item.id,
                "link": f"{ITEM_PAGE}?so={item.id}",
                "text": _excerpt(item.text),
                "when": t.datetime(item.send_at),
                "audience": t(AUDIENCES[item.audience].label_key),
                "unit": unit.name if unit else "",
                "status": t(f"bc.web.status.{status}"),
                "counts": "" if status in ("scheduled", "unknown") else _counts_text(t, job, got),
            }
        )
    return web.render("broadcasts/list.html", rows=rows, compose=COMPOSE_PAGE)


def _excerpt(text: str, size: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= size else line[: size - 1].rstrip() + "…"


def _counts_text(t: Any, job: DeliveryJob | None, counts: dict[str, int]) -> str:
    if job is None:
        return ""
    missed = sum(counts.get(s, 0) for s in (*MISSED, CANCELLED))
    total = t.number(job.total)
    return str(
        t("bc.web.counts", sent=t.number(counts.get(SENT, 0)), total=total, missed=t.number(missed))
    )


# --- writing one ------------------------------------------------------------------------------
@dataclass
class Draft:
    """The form as sent, each field as typed (shown again on a refusal or to edit)."""

    text: str = ""
    unit: str = ""
    audience: str = "all"
    when: str = "now"
    at: str = ""
    repeat: str = ""
    pin: bool = False

    @classmethod
    def read(cls, web: WebRequest) -> Draft:
        return cls(
            # (browsers send a textarea's lines as CRLF; the chat's texts have LF)
            text=web.value("text").replace("\r\n", "\n").strip(),
            unit=web.value("unit"),
            audience=web.value("audience"),
            when="later" if web.value("when") == "later" else "now",
            at=web.value("at").strip(),
            repeat=web.value("repeat"),
            pin=web.value("pin") == "1",
        )


@pages.page(COMPOSE_PAGE, access="board", title_key="bc.web.compose", nav=False)
async def compose(web: WebRequest) -> Response:
    """GET: the form. POST "preview": checked, then the preview with the exact count. POST
    "send": checked again (nothing a form carries is trusted) and sent as the chat sends."""
    ctx, t = web.ctx, web.t
    roots = await ctx.board_roots()
    tree = await pickers.unit_tree(ctx.session, roots)
    first = str(roots[0].id) if roots else ""
    draft = Draft.read(web) if web.method == "POST" else Draft(unit=first)
    errors: dict[str, str] = {}
    problem = ""
    action = web.value("action")
    if web.method == "POST" and action in ("preview", "send"):
        data, errors = _check(web, draft)
        unit = await units.get(ctx.session, data["unit_id"]) if "unit_id" in data else None
        if unit is not None and not await ctx.manages(unit, f"unit:{unit.code}"):
            return web.render("message.html", text=t("access.not_your_unit"), status=403)
        if unit is None and "unit" not in errors:
            errors["unit"] = t("reg.unit.unknown")
        if not errors and unit is not None:
            shown = await preview_of(ctx, t, data, unit)
            if not shown.found.reachable:
                problem = t("bc.nobody")
            elif action == "send":
                made = await publish(ctx, data)
                if made is not None:
                    item, _added = made
                    return RedirectResponse(f"{ITEM_PAGE}?so={item.id}", status_code=303)
                problem = t("invalid.datetime.past")  # (the unit was checked just above)
            else:
                return web.render(
                    "broadcasts/preview.html", draft=draft, facts=shown.facts, page=COMPOSE_PAGE
                )
    options = [(u.id, u.name, u.path.count("/") - 2) for u, _parent in tree]
    return web.render(
        "broadcasts/compose.html",
        draft=draft,
        options=options,
        audiences=[(key, t(a.label_key)) for key, a in AUDIENCES.items()],
        repeats=[(r, t(f"bc.repeat.{r or 'once'}")) for r in REPEATS],
        max=t.number(MAX_TEXT),
        errors=errors,
        problem=problem,
        page=COMPOSE_PAGE,
        status=422 if errors or problem else 200,
    )


def _check(web: WebRequest, draft: Draft) -> tuple[dict[str, Any], dict[str, str]]:
    """The form read by the chat's rules into the dialog's data, and the refusals by field."""
    t = web.t
    data: dict[str, Any] = {"text": draft.text, "pin": draft.pin, "paid": False}
    errors: dict[str, str] = {}
    problem = text_refusal(t, draft.text)
    if problem:
        errors["text"] = problem
    unit_id = textutil.number_or_none(draft.unit)
    if unit_id is None:
        errors["unit"] = t("reg.unit.unknown")
    else:
        data["unit_id"] = unit_id
    if draft.audience not in AUDIENCES:
        errors["audience"] = t("bc.web.audience_unknown")
    data["audience"] = draft.audience
    data["send_at"] = None
    data["repeat"] = ""
    if draft.when == "later":
        try:
            at = parse_local_datetime(draft.at, now=web.ctx.now, tz=t.tz)
            data["send_at"] = at.isoformat()
        except textutil.InvalidInput as bad:
            errors["at"] = t(bad.key) + " " + t("bc.ask.at")
        data["repeat"] = draft.repeat if draft.repeat in PERIOD else ""
    return data, errors


# --- one announcement -------------------------------------------------------------------------
async def _own(web: WebRequest) -> tuple[Broadcast, DeliveryJob | None] | Response:
    """The announcement named by ?so=, if it is in a unit this board manages (anything else is
    refused politely; another union's is audited as access_denied)."""
    ctx, t = web.ctx, web.t
    number = textutil.number_or_none(web.request.query_params.get("so", ""))
    item = await broadcasts.get(ctx.session, number) if number else None
    unit = await units.get(ctx.session, item.unit_id) if item else None
    if item is None or unit is None:
        ctx.audit("access_denied", target=f"broadcast:{number or '?'}", needed="broadcast")
        return web.render("message.html", text=t("bc.web.not_found"), status=404)
    if not await ctx.manages(unit, f"broadcast:{item.id}"):
        return web.render("message.html", text=t("access.not_your_unit"), status=403)
    job = await outbox.job(ctx.session, item.job_id) if item.job_id else None
    return item, job


@pages.page(ITEM_PAGE, access="board", title_key="bc.web.title", nav=False)
async def announcement(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    own = await _own(web)
    if isinstance(own, Response):
        return own
    item, job = own
    counts = await outbox.counts(ctx.session, job.id) if job and job.id else {}
    status = status_of(job, counts, ctx.now)
    unit = await units.get(ctx.session, item.unit_id)
    over = status in ("done", "problems", "stopped")
    missed, more, elsewhere = await _missed(web, job) if over and job else ([], False, 0)
    if over and job:
        ctx.audit("job_report_viewed", target=f"job:{job.id}", via="web")
    return web.render(
        "broadcasts/item.html",
        item=item,
        title=t("bc.title", id=item.id),
        by=t("bc.web.by", author=item.author_name, when=t.datetime(item.created_at)),
        to=t(
            "bc.web.to",
            audience=t(AUDIENCES[item.audience].label_key),
            unit=unit.name if unit else "",
        ),
        repeat=t(f"bc.repeat.{item.repeat}") if item.repeat else "",
        state=status,
        when=t.datetime(item.send_at),
        live=_live(t, job, counts, status) if job else {},
        poll=f"{PROGRESS_JSON}?so={item.id}",
        missed=missed,
        more=more,
        elsewhere=elsewhere,
        back=LIST_PAGE,
    )


def _live(t: Any, job: DeliveryJob, counts: dict[str, int], status: str) -> dict[str, Any]:
    """The progress as the chat's progress message words it, or its final report."""
    over = status in ("done", "problems", "stopped")
    done = sum(counts.get(s, 0) for s in (SENT, *MISSED))
    text = report_text(t, job, counts) if over else progress_text(t, job, counts)
    return {"text": text, "done": done, "total": job.total, "over": over}


@pages.page(PROGRESS_JSON, access="board", title_key="bc.web.title", nav=False)
async def progress(web: WebRequest) -> Response:
    """The figures the announcement's page polls (bot/webui/static/poll.js)."""
    own = await _own(web)
    if isinstance(own, Response):
        return JSONResponse({"error": own.status_code}, status_code=own.status_code)
    _item, job = own
    if job is None or job.id is None:
        return JSONResponse({"over": True}, headers={"Cache-Control": "no-store"})
    counts = await outbox.counts(web.ctx.session, job.id)
    live = _live(web.t, job, counts, status_of(job, counts, web.ctx.now))
    return JSONResponse(live, headers={"Cache-Control": "no-store"})


async def _missed(web: WebRequest, job: DeliveryJob) -> tuple[list[dict[str, str]], bool, int]:
    """Who did not get it, people in name order then groups: only those in units this board
    manages are named (someone since moved to another union is only counted)."""
    ctx, t = web.ctx, web.t
    assert job.id is not None
    rows = await outbox.items_in_state(ctx.session, job.id, MISSED, limit=MISSED_LIMIT + 1)
    more = len(rows) > MISSED_LIMIT
    rows = rows[:MISSED_LIMIT]
    people = await members.names_and_units(ctx.session, [r.member_id for r in rows if r.member_id])
    unit_of = await units.by_ids(ctx.session, {u for _, u in people.values()})
    managed = {uid for uid, u in unit_of.items() if await ctx.can_manage(u)}
    named, elsewhere = [], 0
    for row in rows:
        if row.member_id:
            name, unit_id = people.get(row.member_id, ("?", 0))
            if unit_id not in managed:
                elsewhere += 1
                continue
            named.append((0, textutil.vi_sort_key(name), name, unit_of[unit_id].name, row.state))
        else:
            group = await groups.find(ctx.session, row.platform, row.chat_id)
            title = t("job.group", title=group.title if group else row.chat_id)
            named.append((1, textutil.vi_sort_key(title), title, "", row.state))
    named.sort(key=lambda r: (r[0], r[1]))
    shown = [
        {"who": who, "unit": unit, "why": t(f"job.state.{state}")}
        for _kind, _key, who, unit, state in named
    ]
    return shown, more, elsewhere
