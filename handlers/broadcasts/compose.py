"""Board announcements (/thongbao): write, pick the audience, preview, confirm, follow.

The handler only prepares the job; the delivery engine sends it and the progress reporter
keeps the board member informed. Members read recent announcements again with /tinmoi.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import textutil
from bot.chat import APP_NAMES, Button, FileRef, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload, press_parts
from bot.timeparse import parse_local_datetime
from handlers import registry
from handlers.common import audiences, pickers
from handlers.common.audiences import AUDIENCES
from handlers.common.dialogs import dialog_press
from handlers.common.fields import length_note
from models import broadcasts, groups, outbox, reminders, units
from models.broadcasts import Broadcast
from models.outbox import DeliveryJob, OutboxMessage
from models.reminders import Reminder
from scheduler import action

FLOW = "broadcast"
# Counted in UTF-16 code units, as Telegram counts (an emoji is two): a message holds 4,096
# (keep room for the header; longer ones are split when sent), a caption 1,024.
MAX_TEXT = 4000
MAX_CAPTION = 1000
DOCUMENT_TYPES = (
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".odt",
    ".ods",
    ".jpg",
    ".jpeg",
    ".png",
)
MAX_FILE_BYTES = 50 * 1024 * 1024
REPEATS = ("", "daily", "weekly")
PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@registry.command(
    "thongbao", access="board", where="private", help_key="help.cmd.thongbao", menu=True
)
async def start(ctx: Context) -> None:
    if not await ctx.board_roots():
        ctx.reply(ctx.t("members.no_units"))
        return
    await ctx.set_dialog(FLOW, "content", {})
    ctx.reply(_ask_content(ctx))


def _ask_content(ctx: Context) -> Message:
    return Message(
        ctx.t("bc.ask.content", max=ctx.t.number(MAX_TEXT)),
        buttons=[[Button(ctx.t("btn.cancel"), payload("bc", "cancel"))]],
    )


@registry.flow(FLOW)
async def on_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    step, data, event = ctx.dialog.step, ctx.dialog.data, ctx.event
    if step == "content":
        await _content(ctx, data)
    elif step == "caption" and event.text is not None:
        await _caption(ctx, data, event.text)
    elif step == "unit" and event.text:
        unit = await units.by_code(ctx.session, event.text)
        if unit is not None:
            await _unit_chosen(ctx, data, unit)
        else:  # not a code: words of a unit's name
            pickers.query_from(data, event.text)
            await _ask_unit(ctx, data)
    elif step == "at" and event.text is not None:
        await _at(ctx, data, event.text)
    else:
        ctx.reply(ctx.t("bc.use_buttons"))


async def _content(ctx: Context, data: dict[str, Any]) -> None:
    event = ctx.event
    if event.file is not None:
        problem = _file_problem(event.file)
        if problem:
            ctx.reply(ctx.t(problem))
            return
        data["file"] = {
            "kind": event.file.kind,
            "id": event.file.file_id,
            "platform": event.file.platform,
            "name": event.file.file_name,
        }
        if event.text:
            await _caption(ctx, data, event.text)
            return
        await ctx.set_dialog(FLOW, "caption", data)
        ctx.reply(
            Message(
                ctx.t("bc.ask.caption"),
                buttons=[
                    [Button(ctx.t("btn.skip"), payload("bc", "nocap"))],
                    [Button(ctx.t("btn.cancel"), payload("bc", "cancel"))],
                ],
            )
        )
        return
    if event.attachment:
        ctx.reply(ctx.t("bc.bad_attachment"))
        return
    text = (event.text or "").strip()
    problem = text_refusal(ctx.t, text)
    if problem:
        ctx.reply(problem)
        return
    data["text"] = text
    await _ask_unit(ctx, data)


def text_refusal(t: Any, text: str) -> str | None:
    """Why an announcement's (stripped) text cannot be sent, or None: empty, or longer than
    MAX_TEXT UTF-16 code units (as Telegram counts)."""
    if not text:
        return str(t("bc.empty"))
    length = textutil.utf16_len(text)
    if length > MAX_TEXT:
        too_long = t("bc.too_long", length=t.number(length), max=t.number(MAX_TEXT))
        return str(too_long + length_note(t, text))
    return None


def _file_problem(file: FileRef) -> str | None:
    if file.kind == "document" and not file.file_name.lower().endswith(DOCUMENT_TYPES):
        return "bc.bad_file_type"
    if file.size > MAX_FILE_BYTES:
        return "bc.file_too_big"
    return None


async def _caption(ctx: Context, data: dict[str, Any], text: str) -> None:
    text = text.strip()
    length = textutil.utf16_len(text)
    if length > MAX_CAPTION:
        ctx.reply(
            ctx.t("bc.caption_too_long", length=ctx.t.number(length), max=ctx.t.number(MAX_CAPTION))
            + length_note(ctx.t, text)
        )
        return
    data["text"] = text
    await _ask_unit(ctx, data)


async def _ask_unit(
    ctx: Context, data: dict[str, Any], number: int = 0, *, edit: bool = False
) -> None:
    """Every unit the board manages, a page at a time; typed words search them."""
    roots = await ctx.board_roots()
    tree = await pickers.unit_tree(ctx.session, roots)
    if len(tree) == 1:
        await _unit_chosen(ctx, data, tree[0][0])
        return
    await ctx.set_dialog(FLOW, "unit", data)
    root_ids = {r.id for r in roots}
    choices = pickers.unit_choices(
        tree,
        lambda u: payload("bc", "unit", u.id),
        label_of=lambda u: ctx.t("bc.unit_whole", name=u.name) if u.id in root_ids else u.name,
    )
    shown = pickers.page(
        ctx.t,
        choices,
        number,
        turn=lambda n: payload("bc", "upg", n),
        query=pickers.current_query(data),
        clear=payload("bc", "uall"),
    )
    buttons = [*shown.rows, [Button(ctx.t("btn.cancel"), payload("bc", "cancel"))]]
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(ctx.t("bc.ask.unit")), buttons=buttons, edit_ref=ref))


async def _unit_chosen(ctx: Context, data: dict[str, Any], unit: units.Unit | None) -> None:
    if unit is None:
        ctx.reply(ctx.t("reg.unit.unknown"))
        return
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return
    data["unit_id"] = unit.id
    data.pop(pickers.QUERY, None)
    await ctx.set_dialog(FLOW, "audience", data)
    keys = list(AUDIENCES)
    buttons = [[Button(ctx.t(AUDIENCES[k].label_key), payload("bc", "aud", k))] for k in keys]
    buttons.append([Button(ctx.t("btn.cancel"), payload("bc", "cancel"))])
    ctx.reply(Message(ctx.t("bc.ask.audience", unit=unit.name), buttons=buttons))


async def _ask_when(ctx: Context, data: dict[str, Any]) -> None:
    await ctx.set_dialog(FLOW, "when", data)
    ctx.reply(
        Message(
            ctx.t("bc.ask.when"),
            buttons=[
                [
                    Button(ctx.t("bc.btn.now"), payload("bc", "now")),
                    Button(ctx.t("bc.btn.later"), payload("bc", "later")),
                ],
                [Button(ctx.t("btn.cancel"), payload("bc", "cancel"))],
            ],
        )
    )


async def _at(ctx: Context, data: dict[str, Any], text: str) -> None:
    try:
        when = parse_local_datetime(text, now=ctx.now, tz=ctx.t.tz)
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key) + "\n" + ctx.t("bc.ask.at"))
        return
    data["send_at"] = when.isoformat()
    await ctx.set_dialog(FLOW, "repeat", data)
    ctx.reply(
        Message(
            ctx.t("bc.ask.repeat", when=ctx.t.datetime(when)),
            buttons=[
                [Button(ctx.t(f"bc.repeat.{r or 'once'}"), payload("bc", "rep", r or "once"))]
                for r in REPEATS
            ]
            + [[Button(ctx.t("btn.cancel"), payload("bc", "cancel"))]],
        )
    )


async def _after_when(ctx: Context, data: dict[str, Any]) -> None:
    if data["audience"] == "groups":
        await ctx.set_dialog(FLOW, "pin", data)
        ctx.reply(
            Message(
                ctx.t("bc.ask.pin"),
                buttons=[
                    [
                        Button(ctx.t("bc.btn.pin"), payload("bc", "pin", 1)),
                        Button(ctx.t("bc.btn.nopin"), payload("bc", "pin", 0)),
                    ]
                ],
            )
        )
        return
    await _preview(ctx, data)


async def _preview(ctx: Context, data: dict[str, Any]) -> None:
    unit = await units.get(ctx.session, data["unit_id"])
    assert unit is not None
    shown = await preview_of(ctx, ctx.t, data, unit)
    if not shown.found.reachable:
        ctx.reply(ctx.t("bc.nobody"))
        await _unit_chosen(ctx, data, unit)
        return
    await ctx.set_dialog(FLOW, "confirm", data)
    t = ctx.t
    lines = [t("bc.preview.title"), "", data["text"] or t("bc.preview.file_only"), ""]
    if data.get("file"):
        lines.insert(3, t("bc.preview.file", name=data["file"]["name"] or data["file"]["kind"]))
    lines += shown.facts
    buttons = [[Button(t("bc.btn.send"), payload("bc", "go"))]]
    offer = _paid_offer(ctx, shown.found.reachable)
    if offer:
        lines += ["", offer]
        buttons.append([Button(t("bc.btn.send_paid"), payload("bc", "gopaid"))])
    buttons.append([Button(t("btn.cancel"), payload("bc", "cancel"))])
    ctx.reply(Message("\n".join(lines), buttons=buttons))


@dataclass
class Preview:
    found: audiences.Counted  # the audience's size: one COUNT
    facts: list[str]  # who, how many, when, and who will not get it


async def preview_of(ctx: Context, t: Any, data: dict[str, Any], unit: units.Unit) -> Preview:
    """The preview's figures and lines (the chat's and the web page's), in `t`'s wording."""
    closed = audiences.closed_to_groups(ctx.app) if data["audience"] == "groups" else ()
    found = await audiences.count(ctx.session, data["audience"], unit, without=closed)
    when = (
        t("bc.when_at", when=t.datetime(datetime.fromisoformat(data["send_at"])))
        if data.get("send_at")
        else t("bc.when_now")
    )
    if data.get("repeat"):
        when += " · " + t(f"bc.repeat.{data['repeat']}")
    lines = [
        t("bc.preview.audience", audience=t(AUDIENCES[data["audience"]].label_key), unit=unit.name),
        t("bc.preview.count", recipients=_recipients(t, data["audience"], found.reachable)),
        when,
    ]
    if found.people > found.reachable:
        unreachable = found.people - found.reachable
        lines.append(t("bc.preview.unreachable", count=t.number(unreachable)))
    for platform in closed:  # e.g. Zalo, while its bots may not be in groups
        skipped = await groups.count_linked_on(ctx.session, unit, platform)
        if skipped:
            app = APP_NAMES.get(platform, platform)
            lines.append(t("bc.preview.groups_closed", count=t.number(skipped), app=app))
    return Preview(found, lines)


# Bot API: paid broadcasts cost 0.1 Star a message; the engine keeps ~97.5 % of a pace.
STARS_PER_MESSAGE = 0.1
PACE_SHARE = 0.975


def _paid_enabled(ctx: Context) -> bool:
    return ctx.app.paid_pace() is not None


def _paid_offer(ctx: Context, reachable: int) -> str | None:
    """Where paid broadcasts are enabled and sending takes more than a second: the time
    either way and the most it can cost (only the paying app's copies are billed, and only
    those beyond the free limit, so it is an upper bound)."""
    pace = ctx.app.paid_pace()
    if pace is None or reachable <= pace.messages_per_second:
        return None
    free = reachable / (pace.messages_per_second * PACE_SHARE)
    fast = reachable / (pace.paid_messages_per_second * PACE_SHARE)
    stars = ctx.t.number(max(1, round(reachable * STARS_PER_MESSAGE)))
    return ctx.t("bc.paid.offer", fast=ctx.t.duration(fast), free=ctx.t.duration(free), stars=stars)


# What each of the dialog's buttons carries after its action (see dialog_press).
ACTIONS = {
    "nocap": None,
    "unit": ID,
    "upg": PAGE,
    "uall": None,
    "aud": AUDIENCES,
    "now": None,
    "later": None,
    "rep": [r or "once" for r in REPEATS],
    "pin": ("0", "1"),
    "go": None,
    "gopaid": None,
}


@registry.button("bc", access="board")
async def on_button(ctx: Context) -> None:
    press = await dialog_press(ctx, FLOW, "bc.session_over", ACTIONS)
    if press is None:
        return
    step, data, action, arg = press
    if action == "nocap" and step == "caption":
        await _caption(ctx, data, "")
    elif action == "unit" and step == "unit":
        await _unit_chosen(ctx, data, await units.get(ctx.session, arg))
    elif action == "upg" and step == "unit":
        await _ask_unit(ctx, data, arg, edit=True)
    elif action == "uall" and step == "unit":
        data.pop(pickers.QUERY, None)
        await _ask_unit(ctx, data, edit=True)
    elif action == "aud" and step == "audience":
        data["audience"] = arg
        await _ask_when(ctx, data)
    elif action == "now" and step == "when":
        data["send_at"] = None
        await _after_when(ctx, data)
    elif action == "later" and step == "when":
        await ctx.set_dialog(FLOW, "at", data)
        ctx.reply(ctx.t("bc.ask.at"))
    elif action == "rep" and step == "repeat":
        data["repeat"] = "" if arg == "once" else arg
        await _after_when(ctx, data)
    elif action == "pin" and step == "pin":
        data["pin"] = arg == "1"
        await _preview(ctx, data)
    elif action == "go" and step == "confirm":
        data["paid"] = False
        await _confirm(ctx, data)
    elif action == "gopaid" and step == "confirm":
        if not _paid_enabled(ctx):  # switched off since the preview, or a forged press
            ctx.reply(ctx.t("bc.paid.off"))
            return
        data["paid"] = True
        await _confirm(ctx, data)
    else:
        raise OutdatedPress(action)


async def _confirm(ctx: Context, data: dict[str, Any]) -> None:
    made = await publish(ctx, data)
    if made is None:
        return
    item, added = made
    await ctx.end_dialog()
    if data.get("send_at"):
        ctx.reply(
            ctx.t(
                "bc.scheduled",
                id=item.id,
                when=ctx.t.datetime(item.send_at),
                recipients=_recipients(ctx.t, item.audience, added),
            )
        )
    else:
        recipients = _recipients(ctx.t, item.audience, added)
        queued = "bc.queued.paid" if item.paid else "bc.queued"
        ctx.reply(ctx.t(queued, id=item.id, recipients=recipients))


async def publish(ctx: Context, data: dict[str, Any]) -> tuple[Broadcast, int] | None:
    """The announcement the board confirmed (the dialog's data, or the web form's): recorded,
    its sending queued (now or at `send_at`, repeated as asked) and audited. Returns it and
    how many it goes to; None when refused, the reason said with ctx.reply (the board no
    longer manages the unit: audited; or the time is past)."""
    unit = await units.get(ctx.session, data["unit_id"])
    assert unit is not None and unit.id is not None
    # roles may have changed since the dialog began
    if not await ctx.manages(unit, f"unit:{unit.code}"):
        return None
    send_at = datetime.fromisoformat(data["send_at"]) if data.get("send_at") else ctx.now
    if send_at < ctx.now:
        ctx.reply(ctx.t("invalid.datetime.past"))
        return None
    item = await broadcasts.create(
        session=ctx.session,
        draft=broadcasts.BroadcastDraft.model_validate(data),
        author_member_id=ctx.member.id if ctx.member else None,
        author_name=ctx.member.full_name if ctx.member else ctx.event.user_name,
        send_at=send_at,
        now=ctx.now,
    )
    assert item.id is not None
    added = await queue_occurrence(
        ctx.app,
        ctx.session,
        item,
        send_at,
        now=ctx.now,
        status=(ctx.event.platform, ctx.event.chat_id),
        language=ctx.t.language,
    )
    if item.repeat:
        await reminders.add(
            ctx.session,
            kind="broadcast_repeat",
            ref_id=item.id,
            key=f"br:{item.id}:{send_at.isoformat()}",
            due_at=send_at,
            now=ctx.now,
        )
        ctx.replan = True
    ctx.audit(
        "broadcast_created",
        target=f"broadcast:{item.id}",
        unit=unit.code,
        audience=item.audience,
        recipients=added,
        scheduled=bool(data.get("send_at")),
        repeat=item.repeat,
        paid=item.paid,
    )
    return item, added


def _recipients(t: Any, audience: str, count: int) -> str:
    """ "3 đoàn viên" or "2 nhóm chat": who an announcement goes to."""
    key = "bc.to_groups" if audience == "groups" else "bc.to_members"
    return t(key, count=t.number(count))


async def queue_occurrence(
    app: Any,
    session: AsyncSession,
    item: Broadcast,
    send_at: datetime,
    *,
    now: datetime,
    status: tuple[str, str] | None,
    language: str,
) -> int:
    """One sending of an announcement: a delivery job to the audience as it is now."""
    unit = await units.get(session, item.unit_id)
    assert unit is not None and item.id is not None
    key = f"bc:{item.id}:{send_at.isoformat()}"  # one job per occurrence, whatever fires twice
    t = app.translator(language)
    job = DeliveryJob(
        kind="broadcast",
        key=key,
        ref_id=item.id,
        title=t("bc.title", id=item.id),
        unit_id=unit.id,
        created_by=item.author_member_id,
        language=language,
        start_at=send_at,
        created_at=now,
    )
    if status is not None:
        job.status_platform, job.status_chat_id = status
    header = t("bc.header", unit=unit.name)
    content = OutboxMessage(
        text=f"{header}\n\n{item.text}" if item.text else header,
        file_kind=item.file_kind,
        file_id=item.file_id,
        file_platform=item.file_platform,
        file_name=item.file_name,
        pin_in_groups=item.pin,
        paid=item.paid,
    )
    spec = audiences.of_unit(item.audience, unit, without=audiences.closed_to_groups(app))
    queued = await audiences.queue(session, job, content, spec, now=now)
    if queued is not None and item.job_id is None:
        item.job_id = job.id  # the first sending: what /tinmoi and /huythongbao look at
    return queued or 0


@action("broadcast_repeat")
async def repeat_broadcast(
    app: Any, session: AsyncSession, row: Reminder, late: bool
) -> str | None:
    """A recurring announcement just went out: queue the next one and plan its successor."""
    item = await broadcasts.get(session, row.ref_id)
    if item is None or item.stopped_at is not None or item.repeat not in PERIOD:
        return "stopped"
    assert item.id is not None
    following = row.due_at + PERIOD[item.repeat]
    now = app.clock.now()
    while following <= now:  # the bot was down for a while: skip what is past
        following += PERIOD[item.repeat]
    status = None
    if item.job_id is not None:
        first = await outbox.job(session, item.job_id)
        if first is not None and first.status_platform and first.status_chat_id:
            status = (first.status_platform, first.status_chat_id)
    await queue_occurrence(
        app, session, item, following, now=now, status=status, language=app.settings.bot.language
    )
    await reminders.add(
        session,
        kind="broadcast_repeat",
        ref_id=item.id,
        key=f"br:{item.id}:{following.isoformat()}",
        due_at=following,
        now=now,
    )
    return None


@registry.command("huythongbao", access="board", where="private", help_key="help.cmd.huythongbao")
async def list_cancellable(ctx: Context) -> None:
    await _cancellable_page(ctx)


@registry.button("bcl", access="board")
async def on_cancellable_page(ctx: Context) -> None:
    (number,) = press_parts(ctx.press_args, PAGE)
    await _cancellable_page(ctx, number, edit=True)


async def _cancellable_page(ctx: Context, number: int = 0, *, edit: bool = False) -> None:
    """Scheduled or still-sending announcements, a page at a time."""
    running = await broadcasts.active_in(ctx.session, await ctx.board_roots(), ctx.now)
    if not running:
        ctx.reply(ctx.t("bc.none_running"))
        return
    choices = [
        pickers.Choice(
            ctx.t("bc.btn.stop_one", id=b.id, when=ctx.t.datetime(b.send_at)),
            payload("job", "stop", j.id),
        )
        for b, j in running
    ]
    shown = pickers.page(ctx.t, choices, number, turn=lambda n: payload("bcl", n), hint=None)
    ref = ctx.event.message_ref if edit else None
    ctx.reply(Message(shown.text(ctx.t("bc.pick_to_cancel")), buttons=shown.rows, edit_ref=ref))


@registry.command("tinmoi", access="member", where="private", help_key="help.cmd.tinmoi", menu=True)
async def recent(ctx: Context) -> None:
    if ctx.member is None:
        ctx.reply(ctx.t("profile.none"))
        return
    unit = await units.get(ctx.session, ctx.member.unit_id)
    assert unit is not None
    items = await broadcasts.recent_for(ctx.session, unit, ctx.now)
    if not items:
        ctx.reply(ctx.t("bc.recent_none"))
        return
    ctx.reply(ctx.t("bc.recent_title", count=len(items)))
    for item in reversed(items):  # oldest first, so the newest is nearest the keyboard
        text = ctx.t(
            "bc.recent_item",
            when=ctx.t.datetime(item.send_at),
            author=item.author_name,
            text=item.text,
        )
        attachment = None
        if item.file_id and item.file_platform == ctx.event.platform:
            attachment = FileRef(
                item.file_platform, item.file_kind or "document", item.file_id, item.file_name or ""
            )
        ctx.reply(
            Message(
                text[: MAX_TEXT + 200] if attachment is None else text[:1024], attachment=attachment
            )
        )
