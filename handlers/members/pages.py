"""The members feature on the web: registration as one form (the chat dialog's fields, hints,
rules and messages: handlers/common/fields.py), and the board's page of pending requests
(approve, or reject with a reason, several at once; the same decisions as in chat)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from starlette.responses import Response

from bot import textutil
from bot.webui.pages import WebRequest
from handlers import registry
from handlers.common import pickers
from handlers.common.fields import FIELDS, field_error, local_today, to_stored
from handlers.members.profile import EDITABLE, save_field, taken
from handlers.members.profile import FORM_PAGE as PROFILE_PAGE
from handlers.members.registration import (
    AUTO_APPROVED,
    DUPLICATE,
    FIELD_STEPS,
    FORM_PAGE,
    already_registered,
    approve_request,
    confirm_in_chat,
    file_request,
    read_reason,
    reject_request,
)
from models import members, units
from models.members import PENDING, Member

PENDING_PAGE = "/web/duyet"
# The most requests one page shows and one press decides (pending lists are short; a
# backlog is worked through a page at a time).
PENDING_LIMIT = 200

pages = registry.pages
pages.template_folder("members", Path(__file__).parent / "templates")


# --- registration ---------------------------------------------------------------------------
@pages.page(
    FORM_PAGE,
    access="anyone",
    title_key="reg.form.title",
    chat_replies=True,
    offered=lambda ctx: already_registered(ctx) is None,
)
async def registration_form(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    refusal = already_registered(ctx)
    if refusal is not None:
        return web.render("message.html", text=refusal)
    values = {name: web.value(name) for name in ("unit", *FIELD_STEPS)}
    errors: dict[str, str] = {}
    problem = ""
    if web.method == "POST":
        data, errors = await _read_form(web, values)
        if not errors:
            outcome = await file_request(ctx, data)
            if outcome != DUPLICATE:
                confirm_in_chat(ctx, outcome)  # the chat confirms, as after the dialog
                name = ctx.member.full_name if ctx.member else ""
                text = t(outcome, name=name) if outcome == AUTO_APPROVED else t(outcome)
                return web.render("members/registered.html", text=text)
            problem = t(DUPLICATE)
    tops = await units.children(ctx.session, None)
    tree = await pickers.unit_tree(ctx.session, tops)
    options = [(u.id, u.name, u.path.count("/") - 2) for u, _parent in tree]
    return web.render(
        "members/registration.html",
        fields=[(name, FIELDS[name]) for name in FIELD_STEPS],
        options=options,
        values=values,
        errors=errors,
        problem=problem,
        status=422 if errors or problem else 200,
    )


async def _read_form(
    web: WebRequest, values: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form read with the dialog's rules into the dialog's data (unit_id and each field's
    stored value; a blank optional field is skipped), and the refusals by field."""
    ctx, t = web.ctx, web.t
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unit_id = textutil.number_or_none(values["unit"])
    unit = await units.get(ctx.session, unit_id) if unit_id else None
    if unit is None:
        errors["unit"] = t("reg.unit.unknown")
    else:
        data["unit_id"] = unit.id
    fields, refused = read_fields(web, FIELD_STEPS, values)
    return {**data, **fields}, {**errors, **refused}


def read_fields(
    web: WebRequest, names: Sequence[str], values: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each field as the chat reads it (a blank optional field: None), and the chat's
    refusal for each one that does not pass."""
    t = web.t
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    today = local_today(t, web.ctx.now)
    for name in names:
        text = values[name]
        if not text.strip() and FIELDS[name].optional:
            data[name] = None
            continue
        try:
            data[name] = to_stored(name, FIELDS[name].parse(text, today))
        except textutil.InvalidInput as bad:
            errors[name] = field_error(t, bad, f"field.{name}")
    return data, errors


# --- the member's own profile ---------------------------------------------------------------
def _as_typed(name: str, value: Any) -> str:
    """A stored value as a person would type it back into the form."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if name == "phone":
        return textutil.format_phone_local(value)
    return str(value)


def typed_values(member: Member) -> dict[str, str]:
    """The profile's fields as the form shows them."""
    return {name: _as_typed(name, getattr(member, name)) for name in EDITABLE}


async def save_fields(
    web: WebRequest, member: Member
) -> tuple[dict[str, str], dict[str, str], int]:
    """The profile's fields sent in the form, each read by the chat's rules and saved (and
    audited) as /hoso saves one: what the form shows next, the refusals by field, how many
    fields changed. A refusal, or a phone or card of another member, saves nothing."""
    ctx, t = web.ctx, web.t
    values = {name: web.value(name) for name in EDITABLE}
    # A field that has no value and is left blank is not a change (a roster row may lack
    # what registration asks for); any other is read by its rules.
    sent = [n for n in EDITABLE if values[n].strip() or getattr(member, n) is not None]
    data, errors = read_fields(web, sent, values)
    changed = [n for n in sent if n not in errors and data[n] != to_stored(n, getattr(member, n))]
    for name in changed:  # checked before any is saved: a refusal keeps nothing
        if await taken(ctx, member, name, data[name]):
            errors[name] = t("profile.duplicate")
    if errors:
        return values, errors, 0
    for name in changed:
        await save_field(ctx, member, name, data[name])
    return typed_values(member), {}, len(changed)


@pages.page(
    PROFILE_PAGE,
    access="member",
    title_key="profile.web.title",
    offered=lambda ctx: ctx.member is not None,
)
async def profile_form(web: WebRequest) -> Response:
    """/hoso as one form: every field the chat lets a member edit, each by the chat's rules,
    saved (and audited) field by field as the chat does; a phone or card of another member
    changes nothing."""
    ctx, t = web.ctx, web.t
    member = ctx.member
    if member is None:  # a config admin who never registered
        return web.render("message.html", text=t("profile.none"))
    values = typed_values(member)
    errors: dict[str, str] = {}
    notice = ""
    if web.method == "POST":
        values, errors, changed = await save_fields(web, member)
        if not errors:
            notice = t("profile.web.saved", count=changed)
    unit = await units.get(ctx.session, member.unit_id)
    return web.render(
        "members/profile.html",
        fields=[(name, FIELDS[name]) for name in EDITABLE],
        values=values,
        errors=errors,
        notice=notice,
        unit=unit.name if unit else "",
        status=422 if errors else 200,
    )


# --- the board's pending requests -----------------------------------------------------------
@pages.page(PENDING_PAGE, access="board", title_key="appr.web.title")
async def pending_requests(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    notices: list[tuple[str, str]] = []
    reason_error = ""
    if web.method == "POST":
        notices, reason_error = await _decide(web)
    pending = list(await members.pending_in(ctx.session, await ctx.board_roots()))
    shown = pending[:PENDING_LIMIT]
    unit_of = await units.by_ids(ctx.session, [m.unit_id for m in shown])
    rows = [
        {
            "id": m.id,
            "name": m.full_name,
            "unit": unit_of[m.unit_id].name if m.unit_id in unit_of else "",
            "phone": textutil.format_phone_local(m.phone) if m.phone else t("common.empty"),
            "job": m.job_title or t("common.empty"),
            "sent": t.datetime(m.updated_at or m.created_at),
        }
        for m in shown
    ]
    return web.render(
        "members/pending.html",
        rows=rows,
        total=len(pending),
        more=len(pending) > len(shown),
        notices=notices,
        reason=web.value("reason") if reason_error else "",
        reason_error=reason_error,
    )


async def _decide(web: WebRequest) -> tuple[list[tuple[str, str]], str]:
    """Approve or reject the picked requests, each as the chat's buttons would: only those
    still pending in a unit this board manages (others are refused and audited)."""
    ctx, t = web.ctx, web.t
    picked = [textutil.number_or_none(v) for v in web.values("member")]
    ids = sorted({n for n in picked if n is not None})[:PENDING_LIMIT]
    action = web.value("action")
    if not ids or action not in ("approve", "reject"):
        return [("bad", t("appr.web.nothing_picked"))], ""
    reason = ""
    if action == "reject":
        try:
            reason = read_reason(web.value("reason"))
        except textutil.InvalidInput as bad:
            return [("bad", field_error(t, bad, None))], field_error(t, bad, None)
    done = skipped = 0
    for member_id in ids:
        member = await members.get(ctx.session, member_id)
        unit = await units.get(ctx.session, member.unit_id) if member else None
        if member is None or unit is None or member.status != PENDING:
            skipped += 1
            continue
        if not await ctx.manages(unit, f"member:{member.id}"):  # refused and audited
            skipped += 1
            continue
        if action == "approve":
            await approve_request(ctx, member, unit)
        else:
            await reject_request(ctx, member, reason)
        done += 1
    notices = []
    if done:
        done_key = "appr.web.approved" if action == "approve" else "appr.web.rejected"
        notices.append(("ok", t(done_key, count=done)))
    if skipped:
        notices.append(("bad", t("appr.web.skipped", count=skipped)))
    return notices, ""
