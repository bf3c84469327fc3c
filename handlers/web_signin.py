"""/web: the board (and tổ trưởng) sign in to the web pages with a one-time link."""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.webui.entry import SIGN_IN, one_time_link
from handlers import registry


@registry.command("web", access="organiser", where="private", help_key="help.cmd.web")
async def sign_in(ctx: Context) -> None:
    link = await one_time_link(ctx, SIGN_IN)
    if link is None:
        ctx.reply(ctx.t("web.not_configured"))
        return
    ctx.audit("web_link_issued", purpose=SIGN_IN)
    minutes = ctx.app.settings.web.signin_minutes
    # In a button, not the text: apps fetch previews of links in text (the link page itself
    # asks for a press before it is spent, for those that fetch buttons too).
    ctx.reply(
        Message(
            ctx.t("web.signin_link", minutes=minutes),
            buttons=[[Button(ctx.t("web.btn.open"), url=link)]],
        )
    )
