"""Member self-registration in private chat, then approval by the board (BCH).

The dialog walks through the fields one step at a time; each step can go back, optional ones
can be skipped, and the summary lets the person fix any field before sending. Its state lives in
the database, so a restart mid-way continues where the person was.
"""

from __future__ import annotations

from typing import Any

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.i18n import Translator
from bot.registry import ID, PAGE, OutdatedPress, payload, press_number, press_parts
from bot.webui.entry import page_button
from handlers import registry
from handlers.common import pickers
from handlers.common.decisions import member_decided
from handlers.common.dialogs import dialog_press
from handlers.common.fields import (
    FIELDS,
    field_error,
    from_stored,
    local_today,
    summary_lines,
    to_stored,
)
from handlers.common.menu import member_menu
from handlers.common.notify import notify_board
from models import members, units
from models.members import ACTIVE, PENDING, ROSTER, Member
from models.units import Unit

FLOW = "register"
STEPS = [
    "unit",
    "full_name",
    "gender",
    "birth_date",
    "phone",
    "job_title",
    "card_number",
    "joined_union_on",
]
FIELD_STEPS = STEPS[1:]
CONFIRM = "confirm"
FORM_PAGE = "/web/dangky"  # the same registration as a form (handlers/members/pages.py)


# --- entry points -------------------------------------------------------------------------
@registry.command("dangky", access="anyone", where="private", help_key="help.cmd.dangky")
async def start_registration(ctx: Context) -> None:
    await begin(ctx, ctx.event.args.strip())


def already_registered(ctx: Context) -> str | None:
    """Why this person cannot register again (a member, a request waiting), or None."""
    member = ctx.member
    if member is not None and member.status == ACTIVE:
        return ctx.t("reg.already_member", name=member.full_name)
    if member is not None and member.status == PENDING:
        return ctx.t("reg.already_pending")
    return None


async def begin(ctx: Context, unit_code: str = "") -> None:
    """Start (or restart) the dialog; a unit code from a deep link preselects the unit."""
    refusal = already_registered(ctx)
    if refusal is not None:
        ctx.reply(refusal)
        return
    data: dict[str, Any] = {}
    start_unit = await units.by_code(ctx.session, unit_code) if unit_code else None
    if start_unit is not None:
        data["browse"] = start_unit.id
        if not await units.children(ctx.session, start_unit):
            data["unit_id"] = start_unit.id
    form = await page_button(ctx, ctx.t("reg.btn.form"), FORM_PAGE)
    ctx.reply(Message(ctx.t("reg.welcome"), buttons=[[form]] if form else []))
    step = "full_name" if "unit_id" in data else "unit"
    await _go(ctx, step, data)


# --- the dialog -----------------------------------------------------------------------------
@registry.flow(FLOW)
async def on_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    step, data, event = ctx.dialog.step, ctx.dialog.data, ctx.event
    if event.attachment or (event.text is None and event.contact is None):
        ctx.reply(ctx.t("input.text_expected"))
        await _prompt(ctx, step, data)
        return
    if step == CONFIRM:
        ctx.reply(ctx.t("reg.use_buttons"))
        await _prompt(ctx, step, data)
        return
    if step == "unit":
        await _typed_unit(ctx, data, event.text or "")
        return
    if event.contact is not None:
        if step != "phone":
            ctx.reply(ctx.t("input.text_expected"))
            await _prompt(ctx, step, data)
            return
        if event.contact.owner_user_id != event.user_id:
            ctx.reply(ctx.t("reg.contact_not_yours"))
            await _prompt(ctx, step, data)
            return
        raw = event.contact.phone
    else:
        raw = event.text or ""
    try:
        value = FIELDS[step].parse(raw, local_today(ctx.t, ctx.now))
    except textutil.InvalidInput as bad:
        ctx.reply(field_error(ctx.t, bad, f"field.{step}"))
        await _prompt(ctx, step, data)
        return
    data[step] = to_stored(step, value)
    if step == "phone":  # echo it back (a shared contact is not visible in the chat as text)
        phone = textutil.format_phone_local(value)
        ctx.reply(Message(ctx.t("reg.phone_saved", phone=phone), standalone=True))
    await _advance(ctx, step, data)


def _unit_part(part: str) -> str:
    """A unit button: "<id>" (open or choose it), "=<id>" (this one), "^<id>" or "^top" (up)."""
    if part != "^top":
        press_number(part[1:] if part[:1] in "=^" else part, ID)
    return part


# What each of the dialog's buttons carries after its action (see dialog_press).
ACTIONS = {
    "back": None,
    "skip": None,
    "g": FIELDS["gender"].choices,
    "unit": _unit_part,
    "upg": PAGE,
    "uall": None,
    "edit": None,
    "ef": ("unit", *FIELD_STEPS),
    "yes": None,
}


@registry.button("reg")
async def on_button(ctx: Context) -> None:
    press = await dialog_press(ctx, FLOW, "reg.session_over", ACTIONS)
    if press is None:
        return
    step, data, action, arg = press
    if action == "back":
        await _go(ctx, _previous(step, data), data)
    elif action == "skip" and step in FIELDS and FIELDS[step].optional:
        data[step] = None
        await _advance(ctx, step, data)
    elif action == "g" and step == "gender":
        data["gender"] = arg
        await _advance(ctx, step, data)
    elif action == "unit" and step == "unit":
        await _picked_unit(ctx, data, arg)
    elif action == "upg" and step == "unit":
        await _browse(ctx, data, arg)
    elif action == "uall" and step == "unit":
        data.pop(pickers.QUERY, None)
        await _browse(ctx, data)
    elif action == "edit" and step == CONFIRM:
        ctx.reply(_edit_menu(ctx))
    elif action == "ef" and step == CONFIRM:
        data["editing"] = True
        await _go(ctx, arg, data)
    elif action == "yes" and step == CONFIRM:
        await _submit(ctx, data)
    else:
        raise OutdatedPress(action)


# --- steps ----------------------------------------------------------------------------------
async def _go(ctx: Context, step: str, data: dict[str, Any]) -> None:
    await ctx.set_dialog(FLOW, step, data)
    await _prompt(ctx, step, data)


async def _advance(ctx: Context, step: str, data: dict[str, Any]) -> None:
    if data.pop("editing", False) or step == FIELD_STEPS[-1]:
        await _go(ctx, CONFIRM, data)
        return
    await _go(ctx, STEPS[STEPS.index(step) + 1], data)


def _previous(step: str, data: dict[str, Any]) -> str:
    if step == CONFIRM:
        return FIELD_STEPS[-1]
    index = STEPS.index(step)
    return STEPS[max(index - 1, 0)]


def _nav_buttons(ctx: Context, step: str) -> list[list[Button]]:
    row = []
    if step != "unit":
        row.append(Button(ctx.t("btn.back"), payload("reg", "back")))
    row.append(Button(ctx.t("btn.cancel"), payload("reg", "cancel")))
    return [row]


async def _prompt(ctx: Context, step: str, data: dict[str, Any]) -> None:
    t = ctx.t
    if step == CONFIRM:
        ctx.reply(await _summary(ctx, data))
        return
    if step == "unit":
        ctx.reply(await _unit_picker(ctx, data))
        return
    number = STEPS.index(step) + 1
    text = t("reg.step", number=number, total=len(STEPS)) + "\n" + t(f"reg.ask.{step}")
    if step == "phone" and ctx.caps.request_contact:  # only where the button exists
        text += " " + t("reg.ask.phone_button")
    buttons: list[list[Button]] = []
    if step == "gender":
        buttons.append([Button(t(f"gender.{g}"), payload("reg", "g", g)) for g in ("nam", "nu")])
    if FIELDS[step].optional:
        buttons.append([Button(t("btn.skip"), payload("reg", "skip"))])
        if t.has(f"reg.skip.{step}"):  # "… thì bấm «Bỏ qua»", only beside that choice
            text += " " + t(f"reg.skip.{step}")
    buttons += _nav_buttons(ctx, step)
    contact = t("btn.share_phone") if step == "phone" else ""
    ctx.reply(Message(text, buttons=buttons, request_contact=contact))


async def _unit_picker(ctx: Context, data: dict[str, Any], number: int = 0) -> Message:
    """Browse the unit tree one level at a time (a page at a time), starting at a deep-linked
    unit if any; typed words search the whole tree."""
    current = await units.get(ctx.session, data["browse"]) if data.get("browse") else None
    query = pickers.current_query(data)
    if query:
        tops = await units.children(ctx.session, None)
        tree = await pickers.unit_tree(ctx.session, tops)
        choices = pickers.unit_choices(tree, lambda u: payload("reg", "unit", u.id))
    else:
        options = await units.children(ctx.session, current)
        if not options and current is None:
            return Message(ctx.t("reg.no_units"))
        options = sorted(options, key=lambda u: pickers.natural_key(u.name))
        choices = [pickers.Choice(u.name, payload("reg", "unit", u.id)) for u in options]
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("reg", "upg", n),
        query=query,
        clear=payload("reg", "uall"),
    )
    buttons = shown.rows
    if current is not None and not query:
        buttons.insert(
            0,
            [
                Button(
                    ctx.t("reg.unit.this", name=current.name),
                    payload("reg", "unit", f"={current.id}"),
                )
            ],
        )
        up = current.parent_id if current.parent_id is not None else "top"
        buttons.append([Button(ctx.t("reg.unit.up"), payload("reg", "unit", f"^{up}"))])
    buttons += _nav_buttons(ctx, "unit")
    text = ctx.t("reg.step", number=1, total=len(STEPS)) + "\n" + ctx.t("reg.ask.unit")
    return Message(shown.text(text), buttons=buttons)


async def _picked_unit(ctx: Context, data: dict[str, Any], arg: str) -> None:
    data.pop(pickers.QUERY, None)  # a press moves on from any search
    if arg.startswith("^"):  # one level up
        data["browse"] = None if arg == "^top" else press_number(arg[1:])
        await _browse(ctx, data)
        return
    final = arg.startswith("=")
    unit = await units.get(ctx.session, press_number(arg.lstrip("=")))
    if unit is None:
        raise OutdatedPress(arg)
    if not final and await units.children(ctx.session, unit):
        data["browse"] = unit.id
        await _browse(ctx, data)
        return
    await _choose_unit(ctx, data, unit)


async def _browse(ctx: Context, data: dict[str, Any], number: int = 0) -> None:
    """Walking the tree redraws the same message instead of filling the chat."""
    await ctx.set_dialog(FLOW, "unit", data)
    picker = await _unit_picker(ctx, data, number)
    picker.edit_ref = ctx.event.message_ref
    ctx.reply(picker)


async def _typed_unit(ctx: Context, data: dict[str, Any], text: str) -> None:
    unit = await units.by_code(ctx.session, text) if text.strip() else None
    if unit is None and text.strip():  # not a code: words of a unit's name
        pickers.query_from(data, text)
        await _go(ctx, "unit", data)
        return
    if unit is None:
        ctx.reply(ctx.t("reg.unit.unknown"))
        await _go(ctx, "unit", data)
        return
    data.pop(pickers.QUERY, None)
    await _choose_unit(ctx, data, unit)


async def _choose_unit(ctx: Context, data: dict[str, Any], unit: Unit) -> None:
    data["unit_id"] = unit.id
    ctx.reply(ctx.t("reg.unit.chosen", name=unit.name))
    await _advance(ctx, "unit", data)


async def _summary(ctx: Context, data: dict[str, Any]) -> Message:
    t = ctx.t
    unit = await units.get(ctx.session, data["unit_id"])
    text = "\n".join(
        [
            t("reg.summary.title"),
            f"• {t('field.unit')}: {unit.name if unit else t('common.empty')}",
            summary_lines(t, data, FIELD_STEPS),
            "",
            t("reg.summary.question"),
        ]
    )
    return Message(
        text,
        buttons=[
            [Button(t("reg.btn.send"), payload("reg", "yes"))],
            [
                Button(t("reg.btn.edit"), payload("reg", "edit")),
                Button(t("btn.cancel"), payload("reg", "cancel")),
            ],
        ],
    )


def _edit_menu(ctx: Context) -> Message:
    t = ctx.t
    names = ["unit", *FIELD_STEPS]
    buttons = [
        [Button(t(f"field.{n}"), payload("reg", "ef", n)) for n in names[i : i + 2]]
        for i in range(0, len(names), 2)
    ]
    return Message(t("reg.edit.which"), buttons=buttons)


# --- submission -----------------------------------------------------------------------------
async def _submit(ctx: Context, data: dict[str, Any]) -> None:
    outcome = await file_request(ctx, data)
    if outcome == DUPLICATE:
        ctx.reply(ctx.t("reg.duplicate"))
        await _prompt(ctx, CONFIRM, data)
        return
    confirm_in_chat(ctx, outcome)


def confirm_in_chat(ctx: Context, outcome: str) -> None:
    """What the person is told in chat once their request is filed (the dialog or the form)."""
    if outcome == AUTO_APPROVED:
        assert ctx.member is not None
        ctx.reply(ctx.t("reg.auto_approved", name=ctx.member.full_name))
        ctx.reply(member_menu(ctx))
        return
    ctx.reply(ctx.t(outcome))


# What filing a request came to: a catalog key of the answer ("reg.submitted", …).
DUPLICATE, AUTO_APPROVED = "reg.duplicate", "reg.auto_approved"


async def file_request(ctx: Context, data: dict[str, Any]) -> str:
    """File the registration in `data` (the dialog's answers: unit_id and the stored field
    values): a roster row it matches is claimed, else a request waits for the board, who are
    told. Returns DUPLICATE (nothing changed), AUTO_APPROVED, "reg.submitted" or
    "reg.submitted_no_board"."""
    session = ctx.session
    duplicate = await members.find_duplicate(
        session,
        phone=data.get("phone"),
        card_number=data.get("card_number"),
        exclude_id=ctx.member.id if ctx.member else None,
    )
    roster_match = (
        duplicate is not None
        and duplicate.id is not None
        and duplicate.status == ROSTER
        and not (await members.identities_of(session, [duplicate.id]))
    )
    if duplicate is not None and not roster_match:
        ctx.audit("registration_duplicate", target=f"member:{duplicate.id}")
        return DUPLICATE
    details = _details(data)
    if roster_match:
        assert duplicate is not None
        member = duplicate
        await members.claim_roster_row(session=session, member=member, details=details, at=ctx.now)
    else:
        member = await members.submit_registration(
            session=session, member=ctx.member, unit_id=data["unit_id"], details=details, at=ctx.now
        )
    ctx.identity.member_id = member.id
    ctx.member = member
    await ctx.end_dialog()
    if roster_match:
        ctx.audit("registration_auto_approved", target=f"member:{member.id}")
        await member_decided(ctx, member, approved=True)
        return AUTO_APPROVED
    ctx.audit("registration_submitted", target=f"member:{member.id}")
    unit = await units.get(session, member.unit_id)
    assert unit is not None
    reached = await notify_board(ctx, unit, lambda t: approval_request(t, member, unit))
    return "reg.submitted" if reached else "reg.submitted_no_board"


def _details(data: dict[str, Any]) -> members.MemberDetails:
    """The dialog's answers as the member row will hold them (a skipped step: None)."""

    def given(name: str) -> Any:
        return from_stored(name, data.get(name)) or None

    return members.MemberDetails(
        full_name=data.get("full_name") or "",
        gender=given("gender"),
        birth_date=given("birth_date"),
        phone=given("phone"),
        job_title=given("job_title"),
        card_number=given("card_number"),
        joined_union_on=given("joined_union_on"),
    )


def approval_request(t: Translator, member: Member, unit: Unit) -> Message:
    values = {name: to_stored(name, getattr(member, name)) for name in FIELD_STEPS}
    text = "\n".join(
        [
            t("appr.request", unit=unit.name),
            summary_lines(t, values, FIELD_STEPS),
        ]
    )
    return Message(
        text,
        buttons=[
            [
                Button(t("appr.btn.approve"), payload("appr", "ok", member.id)),
                Button(t("appr.btn.reject"), payload("appr", "no", member.id)),
            ]
        ],
    )


# --- the board's decision ---------------------------------------------------------------------
@registry.button("appr", access="board")
async def on_decision(ctx: Context) -> None:
    decision, member_id = press_parts(ctx.press_args, ("ok", "no"), ID)
    await decide(ctx, member_id, approve=decision == "ok")


async def decide(ctx: Context, member_id: int, *, approve: bool) -> None:
    member = await members.get(ctx.session, member_id)
    unit = await units.get(ctx.session, member.unit_id) if member else None
    if member is None or unit is None:
        raise OutdatedPress()
    assert member.id is not None
    if not await ctx.manages(unit, f"member:{member.id}"):
        return
    if member.status != PENDING:
        ctx.reply(
            ctx.t(
                "appr.already_decided",
                name=member.full_name,
                status=ctx.t(f"status.{member.status}"),
            )
        )
        return
    if not approve:
        await ctx.set_dialog("reject", "reason", {"member_id": member.id})
        ctx.reply(
            Message(
                ctx.t("appr.ask_reason", name=member.full_name),
                buttons=[[Button(ctx.t("btn.cancel"), payload("rej", "cancel"))]],
            )
        )
        return
    await approve_request(ctx, member, unit)
    ctx.reply(
        Message(ctx.t("appr.done_approved", name=member.full_name), edit_ref=ctx.event.message_ref)
    )


async def approve_request(ctx: Context, member: Member, unit: Unit) -> None:
    """A pending request approved by this board member (checked by the caller), and the
    person told."""
    by = ctx.member.id if ctx.member else None
    await members.approve(session=ctx.session, member=member, by=by, at=ctx.now)
    ctx.audit("member_approved", target=f"member:{member.id}")
    for ident in await members.identities_of(ctx.session, [member.id or 0]):
        ctx.send_to(ident, lambda t: Message(t("reg.approved", unit=unit.name)))
    await member_decided(ctx, member, approved=True)


async def reject_request(ctx: Context, member: Member, reason: str) -> None:
    """A pending request refused with a reason the person is told."""
    by = ctx.member.id if ctx.member else None
    await members.reject(session=ctx.session, member=member, reason=reason, by=by, at=ctx.now)
    ctx.audit("member_rejected", target=f"member:{member.id}", reason=reason)
    for ident in await members.identities_of(ctx.session, [member.id or 0]):
        ctx.send_to(ident, lambda t: Message(t("reg.rejected", reason=reason)))
    await member_decided(ctx, member, approved=False)


def read_reason(text: str) -> str:
    """A rejection's reason as typed (raises textutil.InvalidInput)."""
    return textutil.parse_free_text(text, max_len=300, min_len=3)


@registry.flow("reject")
async def on_reject_reason(ctx: Context) -> None:
    assert ctx.dialog is not None
    try:
        reason = read_reason(ctx.event.text or "")
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params) + "\n" + ctx.t("appr.ask_reason_again"))
        return
    member = await members.get(ctx.session, ctx.dialog.data["member_id"])
    await ctx.end_dialog()
    if member is None or member.status != PENDING:
        ctx.reply(ctx.t("appr.no_longer_pending"))
        return
    assert member.id is not None
    unit = await units.get(ctx.session, member.unit_id)
    if unit is None or not await ctx.manages(unit, f"member:{member.id}"):
        return
    await reject_request(ctx, member, reason)
    ctx.reply(ctx.t("appr.done_rejected", name=member.full_name))


@registry.button("rej", access="board")
async def on_reject_cancel(ctx: Context) -> None:
    press_parts(ctx.press_args, ("cancel",))
    if ctx.dialog is not None and ctx.dialog.flow == "reject":
        await ctx.end_dialog()
    ctx.reply(ctx.t("dialog.cancelled"))
