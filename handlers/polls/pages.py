"""Polls on the web, for organisers: the polls of the units this person organises (and those
they made), and a page per poll with its results as a chart, the numbers as text. Who chose
what, and who has not answered, only where the chat's /ketqua shows them: a named poll, to
its maker and the board of its unit (handlers/polls/results.py `can_manage`); an anonymous
poll never shows who chose what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import Response

from bot import textutil
from bot.context import Context
from bot.webui.pages import WebRequest, attachment
from handlers import registry
from handlers.members.listing import XLSX
from handlers.polls.results import can_manage, workbook
from handlers.polls.votes import tally
from models import polls, units
from models.polls import CLOSED, MEMBERS, Poll

LIST_PAGE = "/web/binhchon"
POLL_PAGE = "/web/binhchon/xem"
POLL_FILE = "/web/binhchon.xlsx"
MAX_LISTED = 100  # as /ketqua
# Names shown under each option, and of those who have not answered; the rest are in the
# .xlsx (as the chat's lists).
MAX_NAMES = 200

pages = registry.pages
pages.template_folder("polls", Path(__file__).parent / "templates")


async def _organises(ctx: Context, poll: Poll) -> bool:
    """Its maker, the board of its unit, or an organiser (tổ trưởng) of its unit."""
    if await can_manage(ctx, poll):
        return True
    unit = await units.get(ctx.session, poll.unit_id) if poll.unit_id else None
    return unit is not None and await ctx.can_organise(unit)


@pages.page(LIST_PAGE, access="organiser", title_key="poll.web.title")
async def poll_list(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    roots = await ctx.organiser_roots()
    me = ctx.member.id if ctx.member else None
    found = await polls.of_units(ctx.session, roots, me, limit=MAX_LISTED)
    unit_of = await units.by_ids(ctx.session, [p.unit_id for p in found if p.unit_id])
    rows = [
        {
            "link": f"{POLL_PAGE}?id={poll.id}",
            "id": poll.id,
            "question": poll.question,
            "unit": unit_of[poll.unit_id].name if poll.unit_id in unit_of else "",
            "state": t("poll.web.closed" if poll.state == CLOSED else "poll.web.open"),
            "anonymous": poll.anonymous,
            "created": t.datetime(poll.created_at),
        }
        for poll in found
    ]
    return web.render("polls/list.html", rows=rows)


async def _poll(web: WebRequest) -> Poll | Response:
    """The poll the address names, if this person organises it; another union's, or an id
    that names none, is refused and audited."""
    ctx = web.ctx
    raw = web.request.query_params.get("id", "")
    poll_id = textutil.number_or_none(raw)
    poll = await ctx.session.get(Poll, poll_id) if poll_id else None
    if poll is None or not await _organises(ctx, poll):
        ctx.audit("access_denied", target=f"poll:{raw[:20]}", needed="organiser", via="web")
        return web.render("message.html", key="poll.web.not_yours", params={}, status=403)
    return poll


@pages.page(POLL_PAGE, access="organiser", title_key="poll.web.poll", nav=False)
async def poll_page(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    poll = await _poll(web)
    if isinstance(poll, Response):
        return poll
    assert poll.id is not None
    manager = await can_manage(ctx, poll)  # who may see names, as /ketqua
    named = manager and not poll.anonymous
    # Read once: the count and the names under each option come from the same votes.
    ballots = await polls.ballots(ctx.session, poll.id, by_name=True) if named else None
    result = await tally(ctx.session, poll, ballots)
    best = max(result.counts, default=0)
    options: list[dict[str, Any]] = [
        {
            "no": index + 1,
            "text": option,
            "count": result.counts[index],
            "share": round(result.share(index)),
            "width": round(100 * result.counts[index] / best, 1) if best else 0,
            "best": poll.state == CLOSED and best > 0 and result.counts[index] == best,
            "names": [],
            "more": 0,
        }
        for index, option in enumerate(poll.options)
    ]
    if ballots is not None:
        for index, row in enumerate(options):
            chosen = [name or "?" for name, choices in ballots if index in choices]
            row["names"], row["more"] = chosen[:MAX_NAMES], max(len(chosen) - MAX_NAMES, 0)
        ctx.audit("poll_votes_viewed", target=f"poll:{poll.id}", via="web")
    missing: list[str] = []
    missing_total = 0
    if manager and poll.target == MEMBERS:
        missing_total, people = await polls.missing(ctx.session, poll.id, limit=MAX_NAMES)
        missing = [m.full_name for m in people]
        ctx.audit("poll_missing_viewed", target=f"poll:{poll.id}", via="web")
    unit = await units.get(ctx.session, poll.unit_id) if poll.unit_id else None
    return web.render(
        "polls/poll.html",
        poll=poll,
        unit=unit.name if unit else "",
        closed=poll.state == CLOSED,
        options=options,
        voters=result.voters,
        named=named,
        manager=manager,
        missing=missing,
        missing_total=missing_total,
        missing_more=max(missing_total - len(missing), 0),
        members_poll=poll.target == MEMBERS,
        download=f"{POLL_FILE}?id={poll.id}" if manager else "",
        closes=t.datetime(poll.closes_at) if poll.closes_at else "",
    )


@pages.page(POLL_FILE, access="organiser", title_key="poll.web.poll", nav=False)
async def poll_file(web: WebRequest) -> Response:
    """The /ketqua spreadsheet, to those the chat gives it (the poll's maker and board)."""
    ctx = web.ctx
    poll = await _poll(web)
    if isinstance(poll, Response):
        return poll
    if not await can_manage(ctx, poll):
        ctx.audit("access_denied", target=f"poll:{poll.id}", needed="organiser or board")
        return web.render("message.html", key="poll.web.details_only", params={}, status=403)
    content = await workbook(ctx, poll)
    ctx.audit("poll_exported", target=f"poll:{poll.id}", via="web")
    return attachment(content, f"binh-chon-{poll.id}.xlsx", XLSX)
