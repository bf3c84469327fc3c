"""/hoso: a member sees their own profile and edits one field at a time."""

from __future__ import annotations

from typing import Any

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import OutdatedPress, payload, press_parts
from bot.webui.entry import page_button
from handlers import registry
from handlers.common.fields import (
    FIELDS,
    apply,
    field_error,
    local_today,
    member_values,
    summary_lines,
    to_stored,
)
from models import members, units
from models.members import Member

FLOW = "profile"
FORM_PAGE = "/web/hoso"  # the same profile as one form (handlers/members/pages.py)
GENDERS = ("nam", "nu")  # the gender buttons
EDITABLE = [
    "full_name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "job_title",
    "card_number",
    "joined_union_on",
]


@registry.command("hoso", access="member", where="private", help_key="help.cmd.hoso", menu=True)
async def show_profile(ctx: Context) -> None:
    if ctx.member is None:  # a config admin who never registered
        ctx.reply(ctx.t("profile.none"))
        return
    message = await profile_message(ctx)
    form = await page_button(ctx, ctx.t("profile.btn.form"), FORM_PAGE)
    if form is not None:
        message.buttons.append([form])
    ctx.reply(message)


async def profile_message(ctx: Context) -> Message:
    member, t = ctx.member, ctx.t
    assert member is not None
    unit = await units.get(ctx.session, member.unit_id)
    role_lines = [t("profile.role", role=t(f"role.{role}"), unit=u.name) for role, u in ctx.roles]
    text = "\n".join(
        [
            t("profile.title"),
            f"• {t('field.unit')}: {unit.name if unit else ''}",
            summary_lines(t, member_values(member), EDITABLE),
            f"• {t('field.status')}: {t('status.' + member.status)}",
            *role_lines,
            "",
            t("profile.edit_hint"),
        ]
    )
    buttons = [
        [Button(t(f"field.{n}"), payload("prof", n)) for n in EDITABLE[i : i + 2]]
        for i in range(0, len(EDITABLE), 2)
    ]
    return Message(text, buttons=buttons)


@registry.button("prof", access="member")
async def edit_button(ctx: Context) -> None:
    (name,) = press_parts(ctx.press_args, [*EDITABLE, "cancel"])
    if name == "cancel":
        await ctx.end_dialog()
        ctx.reply(ctx.t("dialog.cancelled"))
        return
    if ctx.member is None:
        raise OutdatedPress(name)
    await ctx.set_dialog(FLOW, name, {})
    ctx.reply(_ask(ctx, name))


def _ask(ctx: Context, name: str) -> Message:
    t = ctx.t
    buttons = []
    if name == "gender":
        buttons.append([Button(t(f"gender.{g}"), payload("profg", g)) for g in GENDERS])
    buttons.append([Button(t("btn.cancel"), payload("prof", "cancel"))])
    contact = t("btn.share_phone") if name == "phone" else ""
    return Message(t(f"reg.ask.{name}"), buttons=buttons, request_contact=contact)


@registry.button("profg", access="member")
async def gender_button(ctx: Context) -> None:
    (value,) = press_parts(ctx.press_args, GENDERS)
    if ctx.dialog is None or ctx.dialog.flow != FLOW or ctx.dialog.step != "gender":
        raise OutdatedPress(value)
    await _save(ctx, "gender", value)


@registry.flow(FLOW)
async def on_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    name, event = ctx.dialog.step, ctx.event
    if event.contact is not None and name == "phone":
        if event.contact.owner_user_id != event.user_id:
            ctx.reply(ctx.t("reg.contact_not_yours"))
            return
        raw = event.contact.phone
    elif event.text is None:
        ctx.reply(ctx.t("input.text_expected"))
        ctx.reply(_ask(ctx, name))
        return
    else:
        raw = event.text
    try:
        value = FIELDS[name].parse(raw, local_today(ctx.t, ctx.now))
    except textutil.InvalidInput as bad:
        ctx.reply(field_error(ctx.t, bad, f"field.{name}"))
        ctx.reply(_ask(ctx, name))
        return
    await _save(ctx, name, to_stored(name, value))


async def _save(ctx: Context, name: str, value: Any) -> None:
    member = ctx.member
    if member is None:
        await ctx.end_dialog()
        return
    if not await save_field(ctx, member, name, value):
        ctx.reply(ctx.t("profile.duplicate"))
        return
    await ctx.end_dialog()
    label = ctx.t(f"field.{name}")  # "Đã cập nhật email.": the field's name inside a sentence
    ctx.reply(ctx.t("profile.saved", field=label[:1].lower() + label[1:]))
    ctx.reply(await profile_message(ctx))


async def save_field(ctx: Context, member: Member, name: str, value: Any) -> bool:
    """One field of the member's own profile changed (a stored value, already checked by its
    rules), audited; False, changing nothing, when the phone or card is another member's."""
    if await taken(ctx, member, name, value):
        return False
    apply(member, name, value)
    member.updated_at = ctx.now
    ctx.audit("profile_updated", target=f"member:{member.id}", field=name)
    return True


async def taken(ctx: Context, member: Member, name: str, value: Any) -> bool:
    """Whether this phone or card number is already another member's."""
    if name not in ("phone", "card_number") or not value:
        return False
    clash = await members.find_duplicate(
        ctx.session,
        phone=value if name == "phone" else None,
        card_number=value if name == "card_number" else None,
        exclude_id=member.id,
    )
    return clash is not None
