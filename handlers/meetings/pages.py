"""Meetings on the web, for organisers: the coming (and recent) meetings of the units this
person organises with their answers, a page per meeting (who answered what, who has not,
who came), and the board's yearly attendance report with its .xlsx (/baocaohop). The
rights are the chat's (/quanlyhop: ctx.can_organise; /baocaohop: the board)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from starlette.responses import Response

from bot import textutil
from bot.webui.pages import WebRequest, attachment
from handlers import registry
from handlers.meetings.manage import (
    MAX_LISTED,
    attendance_rows,
    attendance_workbook,
    mark_attendance,
    report_file_name,
)
from handlers.meetings.plan import attendance_open, when_text, where_text
from handlers.members.listing import XLSX
from models import meetings, units
from models.meetings import CANCELLED, MAYBE, NO, NOT_ANSWERED, SCHEDULED, YES, Meeting

LIST_PAGE = "/web/hop"
MEETING_PAGE = "/web/hop/xem"
REPORT_PAGE = "/web/hop/baocao"
REPORT_FILE = "/web/hop/baocao.xlsx"
PAGE_SIZE = 100
REPORT_PAGE_SIZE = 100
# Recent meetings stay listed this long after they end (attendance, minutes), as in /quanlyhop.
RECENT = timedelta(days=30)
ANSWER_FILTERS = (YES, MAYBE, NO, NOT_ANSWERED)

pages = registry.pages
pages.template_folder("meetings", Path(__file__).parent / "templates")


@pages.page(LIST_PAGE, access="organiser", title_key="mt.web.title")
async def meeting_list(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    roots = await ctx.organiser_roots()
    found = await meetings.organised_in(ctx.session, roots, ctx.now - RECENT, limit=MAX_LISTED)
    counts = await meetings.answer_counts(ctx.session, [m.id for m in found if m.id])
    unit_of = await units.by_ids(ctx.session, [m.unit_id for m in found])
    rows = []
    for meeting in found:
        assert meeting.id is not None
        answers = counts[meeting.id]
        rows.append(
            {
                "link": f"{MEETING_PAGE}?id={meeting.id}",
                "title": meeting.title,
                "unit": unit_of[meeting.unit_id].name if meeting.unit_id in unit_of else "",
                "when": when_text(t, meeting),
                "cancelled": meeting.status == CANCELLED,
                "past": meeting.ends_at < ctx.now,
                "invited": answers.invited,
                "counts": [answers.by_answer.get(a, 0) for a in (YES, MAYBE, NO, None)],
                "attended": answers.attended,
            }
        )
    return web.render(
        "meetings/list.html",
        coming=[r for r in rows if not r["past"]],
        recent=[r for r in rows if r["past"]],
        report=REPORT_PAGE if ctx.may("board") else "",
    )


async def _meeting(web: WebRequest) -> Meeting | Response:
    """The meeting the address names, if this person organises its unit (as /quanlyhop);
    another unit's, or an id that names none, is refused and audited."""
    ctx = web.ctx
    raw = web.request.query_params.get("id", "")
    meeting_id = textutil.number_or_none(raw)
    meeting = await meetings.get(ctx.session, meeting_id) if meeting_id else None
    unit = await units.get(ctx.session, meeting.unit_id) if meeting else None
    if meeting is None or unit is None or not await ctx.can_organise(unit):
        ctx.refuse(f"meeting:{raw[:20]}", "organiser")  # audited as access_denied
        return web.render("message.html", key="mt.web.not_yours", params={}, status=403)
    return meeting


@pages.page(MEETING_PAGE, access="organiser", title_key="mt.web.meeting", nav=False)
async def meeting_page(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    meeting = await _meeting(web)
    if isinstance(meeting, Response):
        return meeting
    assert meeting.id is not None
    marking = meeting.status == SCHEDULED and attendance_open(meeting, ctx.now)
    notice: tuple[str, str] | None = None
    if web.method == "POST":
        notice = await _save_attendance(web, meeting, allowed=marking)
    query = web.request.query_params
    answer = query.get("traloi", "")
    answer = answer if answer in ANSWER_FILTERS else ""
    page = textutil.number_or_none(query.get("trang", "1"), low=1, high=100_000) or 1
    total, found = await meetings.invitee_page(
        ctx.session,
        meeting.id,
        answer=answer or None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    answers = (await meetings.answer_counts(ctx.session, [meeting.id]))[meeting.id]
    unit = await units.get(ctx.session, meeting.unit_id)
    unit_of = await units.by_ids(ctx.session, [m.unit_id for _, m in found])
    pages_count = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)

    def link(**changes: object) -> str:
        kept = {"id": meeting.id, "traloi": answer, "trang": page, **changes}
        return f"{MEETING_PAGE}?{urlencode({k: v for k, v in kept.items() if v})}"

    rows = [
        {
            "no": (page - 1) * PAGE_SIZE + number,
            "id": member.id,
            "name": member.full_name,
            "unit": unit_of[member.unit_id].name if member.unit_id in unit_of else "",
            "answer": t(f"mt.answer.{invite.answer}" if invite.answer else "mt.answer.none"),
            "reason": invite.reason or "",
            "attended": bool(invite.attended),
            "checked_in": t.datetime(invite.checked_in_at) if invite.checked_in_at else "",
        }
        for number, (invite, member) in enumerate(found, start=1)
    ]
    filters = [
        (
            key,
            t(f"mt.answer.{key}"),
            answers.by_answer.get(None if key == NOT_ANSWERED else key, 0),
            link(traloi=key, trang=1),
        )
        for key in ANSWER_FILTERS
    ]
    return web.render(
        "meetings/meeting.html",
        meeting=meeting,
        unit=unit.name if unit else "",
        when=when_text(t, meeting),
        where=where_text(meeting),
        cancelled=meeting.status == CANCELLED,
        answers=answers,
        filters=filters,
        everyone=link(traloi="", trang=1),
        answer=answer,
        rows=rows,
        total=total,
        page=page,
        pages=pages_count,
        prev=link(trang=page - 1) if page > 1 else "",
        next=link(trang=page + 1) if page < pages_count else "",
        marking=marking,
        here=link(),
        notice=notice,
    )


async def _save_attendance(web: WebRequest, meeting: Meeting, *, allowed: bool) -> tuple[str, str]:
    """The ticks of the page's rows, saved as the chat's attendance list saves a press
    (audited `attendance_marked`); an id not invited to this meeting is refused and audited."""
    ctx, t = web.ctx, web.t
    if not allowed:
        key = "mt.cannot_change_past" if meeting.status != SCHEDULED else "mt.attendance_too_early"
        return "bad", t(key)
    assert meeting.id is not None
    shown = {n for v in web.values("shown") if (n := textutil.number_or_none(v)) is not None}
    present = set(web.values("present"))
    changed = refused = 0
    for member_id in sorted(shown)[:PAGE_SIZE]:
        invite = await meetings.invite(ctx.session, meeting.id, member_id)
        if invite is None:
            ctx.audit("access_denied", target=f"meeting:{meeting.id}", member=member_id)
            refused += 1
            continue
        wanted = str(member_id) in present
        if bool(invite.attended) != wanted:
            mark_attendance(ctx, meeting, invite, wanted)
            changed += 1
    text = t("mt.web.attendance_saved", count=changed)
    if refused:
        return "bad", text + " " + t("mt.web.attendance_refused", count=refused)
    return "ok", text


def _report_year(web: WebRequest) -> int | None:
    """The year asked for (this year when none), as /baocaohop reads it."""
    now = web.ctx.now.astimezone(web.t.tz)
    typed = web.request.query_params.get("nam", "").strip()
    return textutil.number_or_none(typed, low=2000, high=now.year + 1) if typed else now.year


@pages.page(REPORT_PAGE, access="board", title_key="mt.web.report")
async def report_page(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    year = _report_year(web)
    if year is None:
        return web.render("message.html", key="mt.web.report_bad_year", params={}, status=422)
    page = (
        textutil.number_or_none(web.request.query_params.get("trang", "1"), low=1, high=100_000)
        or 1
    )
    start = (page - 1) * REPORT_PAGE_SIZE
    total, sums, rows = await attendance_rows(ctx, year, offset=start, limit=REPORT_PAGE_SIZE)
    pages_count = max((total + REPORT_PAGE_SIZE - 1) // REPORT_PAGE_SIZE, 1)

    def link(number: int) -> str:
        return f"{REPORT_PAGE}?{urlencode({'nam': year, 'trang': number})}"

    return web.render(
        "meetings/report.html",
        year=year,
        years=list(range(ctx.now.astimezone(t.tz).year, 1999, -1))[:10],
        rows=list(enumerate(rows, start=start + 1)),
        total=total,
        rate=sums.rate,
        page=page,
        pages=pages_count,
        prev=link(page - 1) if page > 1 else "",
        next=link(page + 1) if page < pages_count else "",
        download=f"{REPORT_FILE}?nam={year}",
    )


@pages.page(REPORT_FILE, access="board", title_key="mt.web.report", nav=False)
async def report_file(web: WebRequest) -> Response:
    """The /baocaohop spreadsheet, audited the same way."""
    ctx, t = web.ctx, web.t
    year = _report_year(web)
    if year is None:
        return web.render("message.html", key="mt.web.report_bad_year", params={}, status=422)
    _count, _sums, rows = await attendance_rows(ctx, year)
    content = attendance_workbook(t, year, rows)
    ctx.audit("attendance_exported", target=str(year), members=len(rows), via="web")
    return attachment(content, report_file_name(year), XLSX)
