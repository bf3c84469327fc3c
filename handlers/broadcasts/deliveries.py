"""Buttons on a delivery job's progress message: stop it, see who did not get it."""

from __future__ import annotations

from bot.chat import Message
from bot.context import Context
from bot.registry import ID, OutdatedPress, press_parts
from bot.textutil import vi_sort_key
from handlers import registry
from handlers.common import audiences
from models import broadcasts, groups, members, outbox, reminders, units
from models.outbox import FAILED, UNCERTAIN, UNREACHABLE


@registry.button("job", access="board")
async def on_job_button(ctx: Context) -> None:
    action, job_id = press_parts(ctx.press_args, ("stop", "who"), ID)
    job = await outbox.job(ctx.session, job_id)
    unit = await units.get(ctx.session, job.unit_id) if job and job.unit_id else None
    if job is None or unit is None:
        raise OutdatedPress()
    if not await ctx.manages(unit, f"job:{job.id}"):
        return
    assert job.id is not None
    if action == "stop":
        if job.finished_at is not None or job.cancelled_at is not None:
            ctx.reply(ctx.t("job.already_over", title=job.title))
            return
        stopped = await outbox.cancel_job(ctx.session, job, ctx.now)  # locks the job
        # those the background expansion had not reached yet will not get it either
        stopped += await audiences.not_yet_added(ctx.session, job)
        if job.kind == "broadcast" and job.ref_id is not None:  # a series stops with it
            item = await broadcasts.get(ctx.session, job.ref_id)
            if item is not None and item.repeat:
                assert item.id is not None
                item.stopped_at = ctx.now
                await reminders.skip_for(
                    ctx.session,
                    ["broadcast_repeat"],
                    item.id,
                    ctx.now,
                    "stopped by the board",
                )
        ctx.audit("job_cancelled", target=f"job:{job.id}", cancelled=stopped)
        ctx.reply(ctx.t("job.cancelled", title=job.title, count=ctx.t.number(stopped)))
    else:
        await _who(ctx, job.id, job.title)


async def _who(ctx: Context, job_id: int, title: str) -> None:
    rows = await outbox.items_in_state(ctx.session, job_id, (UNREACHABLE, FAILED, UNCERTAIN))
    names = await members.names(ctx.session, [r.member_id for r in rows if r.member_id])
    # People in name order, then the groups.
    rows = sorted(
        rows, key=lambda r: (not r.member_id, vi_sort_key(names.get(r.member_id or 0, "")))
    )
    lines = [ctx.t("job.who_title", title=title)]
    for row in rows:
        if row.member_id:
            who = names.get(row.member_id, "?")
        else:
            group = await groups.find(ctx.session, row.platform, row.chat_id)
            who = ctx.t("job.group", title=group.title if group else row.chat_id)
        lines.append(f"• {who} — {ctx.t('job.state.' + row.state)}")
    ctx.audit("job_report_viewed", target=f"job:{job_id}")
    ctx.reply(Message("\n".join(lines)))
