"""/lienket: one member, two apps. On the app they registered with, a member asks for a
one-time code; on the other app they send `/lienket <code>` and that account joins the same
member record. Bulk messages then go once, to the app they used last."""

from __future__ import annotations

from datetime import timedelta

from bot import textutil
from bot.context import Context
from handlers import registry
from models import audit, chat_extras, members
from models.members import ACTIVE

CODE_MINUTES = 15
# Wrong codes allowed per account and hour: a million codes cannot be tried by hand or script.
MAX_FAILURES_PER_HOUR = 5
APP_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "console"}


@registry.command("lienket", access="anyone", where="private", help_key="help.cmd.lienket")
async def link(ctx: Context) -> None:
    code = ctx.event.args.strip().replace(" ", "")
    if code:
        await _redeem(ctx, code)
        return
    if ctx.member is None or ctx.member.status != ACTIVE:
        ctx.reply(ctx.t("link.register_first"))
        return
    assert ctx.member.id is not None
    new_code = await chat_extras.new_link_code(
        ctx.session,
        ctx.member.id,
        ctx.now,
        CODE_MINUTES,
    )
    linked = await members.identities_of(ctx.session, [ctx.member.id])
    apps = ", ".join(sorted({APP_NAMES.get(i.platform, i.platform) for i in linked}))
    ctx.audit("link_code_issued", target=f"member:{ctx.member.id}")
    ctx.reply(ctx.t("link.code", code=new_code, minutes=CODE_MINUTES, apps=apps))


async def _redeem(ctx: Context, code: str) -> None:
    if len(code) != 6 or textutil.number_or_none(code) is None:  # six ASCII digits
        ctx.reply(ctx.t("link.bad_format"))
        return
    failures = await audit.count_since(
        ctx.session, actor=ctx.actor, action="link_failed", since=ctx.now - timedelta(hours=1)
    )
    if failures >= MAX_FAILURES_PER_HOUR:
        ctx.audit("link_blocked", target="", reason="too many wrong codes")
        ctx.reply(ctx.t("link.too_many"))
        return
    member_id = await chat_extras.use_link_code(ctx.session, code, ctx.now)
    if member_id is None:
        ctx.audit("link_failed", target="", reason="unknown or expired code")
        ctx.reply(ctx.t("link.bad_code", minutes=CODE_MINUTES))
        return
    identity = ctx.identity
    if identity.member_id == member_id:
        ctx.reply(ctx.t("link.already"))
        return
    if identity.member_id is not None:
        ctx.audit("link_failed", target=f"member:{member_id}", reason="account has a member")
        ctx.reply(ctx.t("link.other_member"))
        return
    member = await members.get(ctx.session, member_id)
    if member is None or member.status != ACTIVE:
        ctx.reply(ctx.t("link.bad_code", minutes=CODE_MINUTES))
        return
    await members.link(session=ctx.session, identity=identity, member_id=member_id, at=ctx.now)
    ctx.audit("account_linked", target=f"member:{member_id}", platform=identity.platform)
    others = [
        i for i in await members.identities_of(ctx.session, [member_id]) if i.id != identity.id
    ]
    apps = ", ".join(sorted({APP_NAMES.get(i.platform, i.platform) for i in others}))
    ctx.reply(ctx.t("link.done", name=member.full_name, apps=apps or "—"))
