"""The common start of a button press inside a guided dialog."""

from __future__ import annotations

from typing import Any

from bot.context import Context


async def dialog_press(
    ctx: Context, flow: str, over_key: str
) -> tuple[str, dict[str, Any], str, str] | None:
    """(step, data, action, arg) for a press that belongs to the running `flow` dialog.

    "cancel" ends the dialog; a press on a message of a dialog that is over is answered with
    `over_key`. Both return None: nothing more to do.
    """
    args = ctx.press_args or [""]
    action, arg = args[0], (args[1] if len(args) > 1 else "")
    if action == "cancel":
        if ctx.dialog is not None and ctx.dialog.flow == flow:
            await ctx.end_dialog()
        ctx.reply(ctx.t("dialog.cancelled"))
        return None
    if ctx.dialog is None or ctx.dialog.flow != flow:
        ctx.reply(ctx.t(over_key))
        return None
    return ctx.dialog.step, ctx.dialog.data, action, arg
