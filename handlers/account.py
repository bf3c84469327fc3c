"""Personal settings and small utilities: /huy, /ngonngu, /toi; roles for admins (/phanquyen)."""

from __future__ import annotations

from bot import textutil
from bot.chat import Button, Message
from bot.context import Context
from bot.i18n import LANGUAGES
from bot.registry import payload, press_parts
from handlers import registry
from models import members, roles, units


@registry.command("huy", "cancel", access="anyone", where="any", help_key="help.cmd.huy")
async def cancel(ctx: Context) -> None:
    if ctx.dialog is None:
        if ctx.event.is_private:
            ctx.reply(ctx.t("dialog.nothing_to_cancel"))
        return
    await ctx.end_dialog()
    ctx.reply(ctx.t("dialog.cancelled"))


@registry.command(
    "ngonngu", "language", access="anyone", where="private", help_key="help.cmd.ngonngu"
)
async def language(ctx: Context) -> None:
    ctx.reply(
        Message(
            ctx.t("lang.choose"),
            buttons=[
                [
                    Button("Tiếng Việt", payload("lang", "vi")),
                    Button("English", payload("lang", "en")),
                ]
            ],
        )
    )


@registry.button("lang")
async def set_language(ctx: Context) -> None:
    (code,) = press_parts(ctx.press_args, LANGUAGES)
    ctx.identity.language = code
    ctx.t = ctx.app.translator(code, ctx.event.platform)
    ctx.reply(ctx.t("lang.set"))


@registry.command("toi", "whoami", access="anyone", where="any", help_key="help.cmd.toi")
async def whoami(ctx: Context) -> None:
    """Tells people their platform id: the IT person needs it for `admins` in config.toml."""
    ctx.reply(ctx.t("whoami", address=ctx.actor))


# The last word that removes a role, as people type it (accents optional): bỏ, bo, xóa, xoa.
REMOVE_WORDS = ("bo", "xoa")


@registry.command("phanquyen", access="admin", where="private", help_key="help.cmd.phanquyen")
async def grant_role(ctx: Context) -> None:
    """/phanquyen <member id> <bch|to_truong|admin> <unit code> [bỏ]  ("bỏ" removes the role)."""
    parts = ctx.event.args.split()
    revoke = len(parts) == 4 and textutil.fold_input(parts[3]) in REMOVE_WORDS
    number = textutil.number_or_none(parts[0]) if parts else None
    if len(parts) not in (3, 4) or (len(parts) == 4 and not revoke) or number is None:
        ctx.reply(ctx.t("roles.usage"))
        return
    role, code = parts[1].lower(), parts[2]
    member = await members.get(ctx.session, number)
    unit = await units.by_code(ctx.session, code)
    if role not in roles.ROLES:
        ctx.reply(ctx.t("roles.usage"))
        return
    if member is None:
        ctx.reply(ctx.t("roles.no_member", id=number))
        return
    if unit is None:
        ctx.reply(ctx.t("roles.no_unit", code=code))
        return
    if member.status != "active" and not revoke:  # a role can still be taken from anyone
        ctx.reply(
            ctx.t(
                "roles.not_active",
                name=member.full_name,
                id=member.id,
                status=ctx.t(f"status.{member.status}"),
            )
        )
        return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    assert member.id is not None
    if revoke:
        changed = await roles.revoke(ctx.session, member.id, role, unit)
    else:
        changed = await roles.grant(ctx.session, member.id, role, unit, ctx.actor)
    ctx.audit(
        "role_revoked" if revoke else "role_granted",
        target=f"member:{member.id}",
        role=role,
        unit=unit.code,
        changed=changed,
    )
    key = "roles.revoked" if revoke else "roles.granted"
    ctx.reply(
        ctx.t(
            key if changed else "roles.unchanged",
            name=member.full_name,
            role=ctx.t(f"role.{role}"),
            unit=unit.name,
        )
    )
