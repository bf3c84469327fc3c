"""The common start of a button press inside a guided dialog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.context import Context
from bot.registry import OutdatedPress, PartSpec, press_part


async def dialog_press(
    ctx: Context, flow: str, over_key: str, actions: Mapping[str, PartSpec]
) -> tuple[str, dict[str, Any], str, Any] | None:
    """(step, data, action, arg) for a press that belongs to the running `flow` dialog.

    `actions` are the actions the dialog's buttons carry and what each takes after it (see
    `bot.registry.press_part`): a press of anything else is one the bot never offered and
    raises OutdatedPress. "cancel" ends the dialog; a press on a message of a dialog that is
    over is answered with `over_key`. Both return None: nothing more to do.
    """
    args = ctx.press_args
    if not args or len(args) > 2:
        raise OutdatedPress(ctx.event.payload)
    action, part = args[0], (args[1] if len(args) > 1 else None)
    if action == "cancel" and part is None:
        if ctx.dialog is not None and ctx.dialog.flow == flow:
            await ctx.end_dialog()
        ctx.reply(ctx.t("dialog.cancelled"))
        return None
    if action not in actions:
        raise OutdatedPress(ctx.event.payload)
    arg = press_part(part, actions[action])
    if ctx.dialog is None or ctx.dialog.flow != flow:
        ctx.reply(ctx.t(over_key))
        return None
    return ctx.dialog.step, ctx.dialog.data, action, arg
