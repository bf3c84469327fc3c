"""/ketqua: poll results any time. Anyone who got the poll sees the counts; the organiser and
the board of the poll's unit also see who chose what (named polls only), who has not answered
(polls sent to members), can nudge them, export to .xlsx and close the poll early. Names never
go to group chats."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from bot import textutil
from bot.chat import Button, Document, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload, press_parts
from bot.spreadsheet import keep_text
from handlers import registry
from handlers.common import audiences, pickers
from handlers.members.listing import XLSX
from handlers.polls.votes import chart_png, close_poll, results_text, tally
from models import polls, units
from models.outbox import DeliveryJob, OutboxMessage
from models.polls import MEMBERS, Poll

MAX_NAMES = 40
MAX_LISTED = 100  # a person's latest polls in /ketqua, a page at a time


async def can_manage(ctx: Context, poll: Poll) -> bool:
    if ctx.is_config_admin or (ctx.member and ctx.member.id == poll.created_by):
        return True
    unit = await units.get(ctx.session, poll.unit_id) if poll.unit_id else None
    return unit is not None and ctx.is_board and await ctx.can_manage(unit)


async def _can_see(ctx: Context, poll: Poll) -> bool:
    if await can_manage(ctx, poll):
        return True
    chat = (ctx.event.platform, ctx.event.chat_id)
    if (poll.origin_platform, poll.origin_chat_id) == chat:
        return True
    assert poll.id is not None
    return any((c.platform, c.chat_id) == chat for c in await polls.copies(ctx.session, poll.id))


@registry.command("ketqua", access="member", where="any", help_key="help.cmd.ketqua", menu=True)
async def results(ctx: Context) -> None:
    arg = ctx.event.args.strip().lstrip("#")
    number = textutil.number_or_none(arg)
    if number is not None:
        poll = await ctx.session.get(Poll, number)
        if poll is None or not await _can_see(ctx, poll):
            ctx.reply(ctx.t("poll.not_found", id=arg))
            return
        await show(ctx, poll)
        return
    if not ctx.event.is_private:
        latest = await polls.latest_in_chat(ctx.session, ctx.event.platform, ctx.event.chat_id)
        if latest is None:
            ctx.reply(ctx.t("poll.none_here"))
            return
        await show(ctx, latest)
        return
    await _poll_list(ctx)


@registry.button("prl", access="member")
async def on_list_page(ctx: Context) -> None:
    (number,) = press_parts(ctx.press_args, PAGE)
    await _poll_list(ctx, number, edit=True)


async def _poll_list(ctx: Context, number: int = 0, *, edit: bool = False) -> None:
    """The polls this person made (and the latest one they received), a page at a time."""
    mine = (
        list(await polls.made_by(ctx.session, ctx.member.id, limit=MAX_LISTED))
        if ctx.member and ctx.member.id is not None
        else []
    )
    received = await polls.latest_in_chat(ctx.session, ctx.event.platform, ctx.event.chat_id)
    if received is not None and received.id not in {p.id for p in mine}:
        mine.insert(0, received)
    if not mine:
        ctx.reply(ctx.t("poll.none_yours"))
        return
    choices = [pickers.Choice(f"#{p.id} {p.question[:50]}", payload("pr", "v", p.id)) for p in mine]
    shown = pickers.page(ctx.t, choices, number, turn=lambda n: payload("prl", n), hint=None)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(ctx.t("poll.pick")), buttons=shown.rows, edit_ref=ref))


async def show(ctx: Context, poll: Poll) -> None:
    result = await tally(ctx.session, poll)
    buttons: list[list[Button]] = []
    if ctx.event.is_private and await can_manage(ctx, poll):
        row = []
        if not poll.anonymous:
            row.append(Button(ctx.t("poll.btn_who"), payload("pr", "who", poll.id)))
        if poll.target == MEMBERS:
            row.append(Button(ctx.t("poll.btn_missing"), payload("pr", "miss", poll.id)))
        buttons.append(row)
        row = [Button(ctx.t("poll.btn_export"), payload("pr", "x", poll.id))]
        if poll.is_open:
            if poll.target == MEMBERS:
                row.append(Button(ctx.t("poll.btn_nudge"), payload("pr", "n", poll.id)))
            row.append(Button(ctx.t("poll.btn_close"), payload("pr", "c", poll.id)))
        buttons.append(row)
    ctx.reply(
        Message(
            results_text(ctx.t, poll, result),
            image=Document(f"binh-chon-{poll.id}.png", chart_png(ctx.t, poll, result), "image/png"),
        )
    )
    if buttons:
        ctx.reply(Message(ctx.t("poll.manage", id=poll.id), buttons=[r for r in buttons if r]))


# The buttons under a poll's results: view, who chose what, who is missing, nudge, export, close.
ACTIONS = ("v", "who", "miss", "n", "x", "c")


@registry.button("pr", access="member")
async def on_button(ctx: Context) -> None:
    act, poll_id = press_parts(ctx.press_args, ACTIONS, ID)
    poll = await ctx.session.get(Poll, poll_id)
    if poll is None:
        raise OutdatedPress()
    if act == "v":
        if await _can_see(ctx, poll):
            await show(ctx, poll)
        else:
            ctx.reply(ctx.t("poll.not_found", id=poll.id))
        return
    if not ctx.event.is_private or not await can_manage(ctx, poll):
        ctx.audit("access_denied", target=f"poll:{poll.id}", needed="organiser or board")
        ctx.reply(ctx.t("poll.organiser_only"))
        return
    if act == "who" and not poll.anonymous:
        await _who(ctx, poll)
    elif act == "miss" and poll.target == MEMBERS:
        names = [m.full_name for m in await _missing(ctx, poll)]
        ctx.audit("poll_missing_viewed", target=f"poll:{poll.id}")
        if names:
            ctx.reply(_names(ctx, "poll.missing", names))
        else:
            ctx.reply(ctx.t("poll.all_answered"))
    elif act == "n" and poll.target == MEMBERS and poll.is_open:
        await _nudge(ctx, poll)
    elif act == "x":
        ctx.audit("poll_exported", target=f"poll:{poll.id}")
        ctx.reply(
            Message(
                ctx.t("poll.export_caption", id=poll.id),
                document=Document(f"binh-chon-{poll.id}.xlsx", await workbook(ctx, poll), XLSX),
            )
        )
    elif act == "c" and poll.is_open:
        await close_poll(ctx.app, ctx.session, poll, ctx.now)
        ctx.audit("poll_closed", target=f"poll:{poll.id}")
        ctx.reply(ctx.t("poll.closed_now", question=poll.question))
    else:
        raise OutdatedPress()


def _names(ctx: Context, key: str, names: list[str]) -> str:
    shown = names[:MAX_NAMES]
    more = len(names) - len(shown)
    text = ctx.t(key, count=len(names)) + "\n" + "\n".join(f"• {n}" for n in shown)
    return text + (f"\n{ctx.t('poll.and_more', count=more)}" if more > 0 else "")


async def _who(ctx: Context, poll: Poll) -> None:
    assert poll.id is not None
    votes = await polls.votes(ctx.session, poll.id)
    lines = [ctx.t("poll.who_title", question=poll.question)]
    for index, option in enumerate(poll.options):
        chosen = sorted(
            (v.name or "?" for v in votes if index in v.choices), key=textutil.vi_sort_key
        )
        lines.append(
            f"{index + 1}. {option} ({len(chosen)}): " + (", ".join(chosen[:MAX_NAMES]) or "—")
        )
    ctx.audit("poll_votes_viewed", target=f"poll:{poll.id}")
    ctx.reply("\n".join(lines))


async def _missing(ctx: Context, poll: Poll) -> list[Any]:
    assert poll.id is not None
    return (await polls.missing(ctx.session, poll.id))[1]


async def _nudge(ctx: Context, poll: Poll) -> None:
    missing = await _missing(ctx, poll)
    if not missing:
        ctx.reply(ctx.t("poll.all_answered"))
        return
    job = DeliveryJob(
        kind="poll_nudge",
        # One nudge a minute at most: a double press sends nothing twice.
        key=f"poll-nudge:{poll.id}:{ctx.now:%Y%m%d%H%M}",
        ref_id=poll.id,
        unit_id=poll.unit_id,
        title=ctx.t("poll.job_title", question=poll.question[:80]),
        created_by=ctx.member.id if ctx.member else None,
        language=ctx.t.language,
        start_at=ctx.now,
        created_at=ctx.now,
    )
    text = ctx.t("poll.nudge_text", question=poll.question)
    spec = audiences.of_members([m.id for m in missing if m.id is not None])
    queued = await audiences.queue(ctx.session, job, OutboxMessage(text=text), spec, now=ctx.now)
    ctx.audit("poll_nudged", target=f"poll:{poll.id}", count=queued or 0)
    ctx.reply(ctx.t("poll.nudged", count=queued or 0) if queued else ctx.t("poll.nudged_already"))


async def workbook(ctx: Context, poll: Poll) -> bytes:
    result = await tally(ctx.session, poll)
    wb = Workbook()
    ws = wb.active
    ws.title = ctx.t("poll.xlsx.results")[:31]
    ws.append([poll.question])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([ctx.t("poll.xlsx.option"), ctx.t("poll.xlsx.votes"), "%"])
    for index, option in enumerate(poll.options):
        ws.append([option, result.counts[index], round(result.share(index), 1)])
    ws.append([ctx.t("poll.xlsx.voters"), result.voters])
    ws.column_dimensions["A"].width = 50
    if not poll.anonymous:
        assert poll.id is not None
        sheet = wb.create_sheet(ctx.t("poll.xlsx.ballots")[:31])
        sheet.append(
            [ctx.t("xlsx.col.full_name"), ctx.t("poll.xlsx.choice"), ctx.t("poll.xlsx.at")]
        )
        for vote in await polls.votes(ctx.session, poll.id):
            chosen = "; ".join(poll.options[i] for i in vote.choices if i < len(poll.options))
            sheet.append([vote.name, chosen, ctx.t.datetime(vote.updated_at)])
        sheet.column_dimensions["A"].width = 30
        sheet.column_dimensions["B"].width = 40
    if poll.target == MEMBERS:
        sheet = wb.create_sheet(ctx.t("poll.xlsx.missing")[:31])
        sheet.append([ctx.t("xlsx.col.full_name")])
        for member in await _missing(ctx, poll):
            sheet.append([member.full_name])
    keep_text(*wb.worksheets)  # questions, options and names are typed by people
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
