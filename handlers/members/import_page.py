"""The roster import on the web, with a preview: the board uploads the roster file
(handlers/members/roster.py's format, the one the export writes), sees what would change
(new rows, updates old → new, unchanged rows, rows with errors and why) with nothing written,
then confirms. The upload is kept on the server for the browser session that sent it
(models.chat_extras.keep_upload); the confirmation plans it again and applies it only if the
plan is the one previewed (its digest), otherwise it shows the new preview."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import Response

from bot.webui.pages import WebRequest
from handlers import registry
from handlers.common.fields import show
from handlers.members.roster import (
    ERROR,
    NEW,
    SAME,
    UPDATE,
    PlannedRow,
    RosterUnreadable,
    apply_import,
    plan_import,
    problem_text,
    read_roster,
)
from handlers.members.table import IMPORT_PAGE, TABLE_PAGE
from models import chat_extras

UPLOAD_LIMIT = 5 * 1024 * 1024  # a roster of 20,000 people is about 1 MB
KEEP_MINUTES = 30  # between the preview and the confirmation
SHOWN = 200  # rows each part of the preview lists (the counts are always whole)

pages = registry.pages


@pages.page(
    IMPORT_PAGE,
    access="board",
    title_key="roster.web.title",
    nav=False,
    upload_limit=UPLOAD_LIMIT,
)
async def roster_import(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    if web.method == "GET":
        return _form(web)
    owner = hashlib.sha256(web.csrf.encode()).hexdigest()[:40]  # this browser session
    name = web.value("name")[:100]
    if web.value("action") == "confirm":
        key = web.value("upload")
        content = await chat_extras.held_upload(ctx.session, key, owner, ctx.now)
        if content is None:
            return _form(web, t("roster.web.expired"))
        plan = await _plan(web, content)
        if plan is None:  # kept only once it was read: cannot happen, but say so kindly
            return _form(web, t("roster.bad_file"))
        if _digest(plan) != web.value("plan"):
            notice = t("roster.web.changed")
            return _preview(web, plan, key=key, name=name, notice=notice)
        report = await apply_import(ctx.session, plan)
        await chat_extras.drop_upload(ctx.session, key)
        ctx.audit(
            "roster_imported",
            target=name,
            created=report.created,
            updated=report.updated,
            skipped=report.skipped,
            via="web",
        )
        text = t(
            "roster.web.done",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            skipped=report.skipped,
        )
        return web.render("members/imported.html", text=text, table=TABLE_PAGE)
    upload = web.files.get("file")
    if upload is None or not upload[1]:
        return _form(web, t("roster.web.no_file"))
    name, content = upload[0][:100], upload[1]
    try:
        plan = await _plan(web, content, strict=True)
    except RosterUnreadable as bad:
        return _form(web, t(bad.key, **bad.params))
    assert plan is not None
    key = await chat_extras.keep_upload(ctx.session, owner, content, ctx.now, KEEP_MINUTES)
    return _preview(web, plan, key=key, name=name)


async def _plan(
    web: WebRequest, content: bytes, *, strict: bool = False
) -> list[PlannedRow] | None:
    """What the file would do, for this board's units only (no writes). `strict`: a file that
    is no roster raises RosterUnreadable (else None)."""
    ctx = web.ctx
    try:
        sheet = read_roster(content)
        if not sheet.header_found:
            raise RosterUnreadable("roster.no_header")
    except RosterUnreadable:
        if strict:
            raise
        return None
    today = ctx.now.astimezone(web.t.tz).date()
    return await plan_import(ctx.session, sheet, today, allowed=ctx.can_manage)


def _digest(plan: list[PlannedRow]) -> str:
    """What a plan does, as a digest: the confirmation applies only the plan it was shown."""
    parts: list[Any] = [
        (p.number, p.kind, p.member_id, p.unit.id if p.unit else None, p.changes, p.problem)
        for p in plan
    ]
    text = json.dumps(parts, default=str, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _form(web: WebRequest, problem: str = "") -> Response:
    return web.render(
        "members/import.html",
        problem=problem,
        limit_mb=UPLOAD_LIMIT // (1024 * 1024),
        table=TABLE_PAGE,
        status=422 if problem else 200,
    )


def _preview(
    web: WebRequest, plan: list[PlannedRow], *, key: str, name: str, notice: str = ""
) -> Response:
    t = web.t
    by_kind: dict[str, list[PlannedRow]] = {NEW: [], UPDATE: [], SAME: [], ERROR: []}
    for planned in plan:
        by_kind[planned.kind].append(planned)

    def change(field: str, old: Any, new: Any) -> tuple[str, str, str]:
        if field == "unit":
            return t("field.unit"), old or t("common.empty"), new
        return t(f"field.{field}"), show(t, field, old), show(t, field, new)

    return web.render(
        "members/import_preview.html",
        file_name=name,
        key=key,
        digest=_digest(plan),
        notice=notice,
        counts={kind: len(rows) for kind, rows in by_kind.items()},
        new=[(p.number, p.name, p.unit.name if p.unit else "") for p in by_kind[NEW][:SHOWN]],
        updates=[
            (p.number, p.name, [change(*c) for c in p.changes]) for p in by_kind[UPDATE][:SHOWN]
        ],
        same=[(p.number, p.name) for p in by_kind[SAME][:SHOWN]],
        errors=[(p.number, p.name, problem_text(t, p)) for p in by_kind[ERROR][:SHOWN]],
        shown=SHOWN,
        writes=len(by_kind[NEW]) + len(by_kind[UPDATE]),
        action=IMPORT_PAGE,
        table=TABLE_PAGE,
    )
