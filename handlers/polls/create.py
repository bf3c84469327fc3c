"""/binhchon: create a quick poll.

One line — `/binhchon Câu hỏi? | Lựa chọn 1 | Lựa chọn 2` — or, in private, a guided dialog
(question, then options). A settings card follows: anonymous or named, one or several answers,
a deadline, and in private the target (members of a unit in private, or the unit's group
chats). Every copy goes out through the delivery engine.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, time, timedelta
from typing import Any

from bot import textutil, timeparse
from bot.chat import Button, Message
from bot.context import Context
from bot.registry import ID, PAGE, OutdatedPress, payload, press_part
from handlers import registry
from handlers.common import audiences, pickers
from handlers.common.fields import length_note
from handlers.polls.votes import plan_close
from models import groups, outbox, polls, units
from models.outbox import DeliveryJob, OutboxMessage, Recipient
from models.polls import GROUPS, HERE, MEMBERS, Poll
from models.units import Unit

FLOW = "poll"
MAX_QUESTION, MAX_OPTION, MIN_OPTIONS, MAX_OPTIONS = 300, 100, 2, 12
RSVP_OPTIONS = ("Có", "Không", "Có thể")
DEADLINES = ("1h", "eod", "3d", "7d", "none")


class PollInputError(ValueError):
    def __init__(self, key: str, *, about: str = "", **params: object) -> None:
        super().__init__(key)
        self.key, self.params, self.about = key, params, about  # about: the text refused

    def text(self, t: Any) -> str:
        return t(self.key, **self.params) + length_note(t, self.about)


def check_question(text: str) -> str:
    question = textutil.nfc(" ".join(text.split()))
    if not question:
        raise PollInputError("poll.ask_question")
    # Lengths in UTF-16 code units, as Telegram counts them (a question holds 300, an option 100).
    if textutil.utf16_len(question) > MAX_QUESTION:
        raise PollInputError(
            "poll.question_too_long",
            about=question,
            limit=MAX_QUESTION,
            length=textutil.utf16_len(question),
        )
    return question


def check_options(parts: list[str]) -> list[str]:
    """2–12 options (Telegram's maximum, kept for text polls so a poll is the same
    everywhere), each 1–100 characters, no two the same (case and accents ignored)."""
    options = [textutil.nfc(" ".join(p.split())) for p in parts]
    options = [o for o in options if o]
    if len(options) < MIN_OPTIONS:
        raise PollInputError("poll.too_few_options", minimum=MIN_OPTIONS)
    if len(options) > MAX_OPTIONS:
        raise PollInputError("poll.too_many_options", maximum=MAX_OPTIONS, count=len(options))
    for option in options:
        if textutil.utf16_len(option) > MAX_OPTION:
            raise PollInputError(
                "poll.option_too_long", about=option, limit=MAX_OPTION, option=option[:30]
            )
    seen: dict[str, str] = {}
    for option in options:
        key = textutil.search_key(option)
        if key in seen:
            raise PollInputError("poll.duplicate_option", option=option)
        seen[key] = option
    return options


def split_options(text: str) -> list[str]:
    separator = "|" if "|" in text else "\n"
    return text.split(separator)


# --- creating -------------------------------------------------------------------------------
# In a group chat any member makes a poll for that group; in private chat the poll goes to a
# unit's members or groups: for organisers (the router's rule).
@registry.command(
    "binhchon",
    access="organiser",
    where="any",
    help_key="help.cmd.binhchon",
    menu=True,
    refused="poll.private_needs_role",
)
async def create(ctx: Context) -> None:
    group = not ctx.event.is_private
    data: dict[str, Any] = {
        "anon": False,
        "multi": False,
        "closes": None,
        "target": HERE if group else None,
        "unit_id": None,
        "chat": ctx.event.chat_id,
        "card": secrets.token_hex(3),
    }
    args = ctx.event.args.strip()
    if not args:
        if group:
            ctx.reply(ctx.t("poll.group_usage"))
            return
        await ctx.set_dialog(FLOW, "question", data)
        ctx.reply(Message(ctx.t("poll.ask_question"), buttons=[[_cancel(ctx, data)]]))
        return
    parts = args.split("|")
    try:
        data["q"] = check_question(parts[0])
        if len(parts) > 1:
            data["opts"] = check_options(parts[1:])
    except PollInputError as bad:
        ctx.reply(bad.text(ctx.t))
        return
    if "opts" not in data:
        if group:
            ctx.reply(ctx.t("poll.group_usage"))
            return
        await ctx.set_dialog(FLOW, "options", data)
        _ask_options(ctx, data)
        return
    await _show_card(ctx, data)


def _pl(data: dict[str, Any], *parts: object) -> str:
    """A button of this draft: the draft's own token makes a card pressed by someone else,
    or an older card of the same person, harmless."""
    return payload("pl", data["card"], *parts)


def _cancel(ctx: Context, data: dict[str, Any]) -> Button:
    return Button(ctx.t("btn.cancel"), _pl(data, "cancel"))


def _ask_options(ctx: Context, data: dict[str, Any]) -> None:
    ctx.reply(
        Message(
            ctx.t("poll.ask_options", maximum=MAX_OPTIONS),
            buttons=[
                [Button(" / ".join(RSVP_OPTIONS), _pl(data, "rsvp"))],
                [_cancel(ctx, data)],
            ],
        )
    )


@registry.flow(FLOW)
async def on_input(ctx: Context) -> None:
    assert ctx.dialog is not None
    data, step, text = ctx.dialog.data, ctx.dialog.step, ctx.event.text or ""
    try:
        if step == "question":
            parts = text.split("|")
            data["q"] = check_question(parts[0])
            if len(parts) > 1:
                data["opts"] = check_options(parts[1:])
                await _show_card(ctx, data)
            else:
                await ctx.set_dialog(FLOW, "options", data)
                _ask_options(ctx, data)
        elif step == "options":
            data["opts"] = check_options(split_options(text))
            await _show_card(ctx, data)
        elif step == "deadline":
            when = timeparse.parse_local_datetime(text, now=ctx.now, tz=ctx.t.tz)
            if when <= ctx.now:
                ctx.reply(ctx.t("invalid.datetime.past"))
                return
            data["closes"] = when.isoformat()
            await _show_card(ctx, data)
        elif step == "unit" and text.strip():
            unit = await units.by_code(ctx.session, text)
            if unit is not None:
                await _unit_chosen(ctx, data, unit)
            else:  # not a code: words of a unit's name
                pickers.query_from(data, text)
                await _ask_unit(ctx, data)
        else:
            ctx.reply(ctx.t("bc.use_buttons"))
    except PollInputError as bad:
        ctx.reply(bad.text(ctx.t))
    except textutil.InvalidInput as bad:
        ctx.reply(ctx.t(bad.key, **bad.params))


def _deadline_label(ctx: Context, closes: str | None) -> str:
    if not closes:
        return ctx.t("poll.no_deadline")
    return ctx.t.datetime(datetime.fromisoformat(closes))


async def _show_card(ctx: Context, data: dict[str, Any], edit: bool = False) -> None:
    await ctx.set_dialog(FLOW, "settings", data)
    unit = await units.get(ctx.session, data["unit_id"]) if data.get("unit_id") else None
    target = data.get("target")
    if target == HERE:
        where = ctx.t("poll.target_here")
    elif target in (MEMBERS, GROUPS) and unit is not None:
        where = ctx.t(f"poll.target_{target}", unit=unit.name)
    else:
        where = ctx.t("poll.target_unset")
    lines = [ctx.t("poll.card", question=data["q"])]
    lines += [f"{i}. {o}" for i, o in enumerate(data["opts"], start=1)]
    lines += [
        "",
        f"🕶 {ctx.t('poll.anonymous_yes' if data['anon'] else 'poll.anonymous_no')}",
        f"☑️ {ctx.t('poll.multi_yes' if data['multi'] else 'poll.multi_no')}",
        f"⏰ {ctx.t('poll.deadline')}: {_deadline_label(ctx, data.get('closes'))}",
        f"🎯 {where}",
    ]
    rows = [
        [
            Button(ctx.t("poll.btn_anon"), _pl(data, "anon")),
            Button(ctx.t("poll.btn_multi"), _pl(data, "multi")),
        ],
        [Button(ctx.t("poll.btn_deadline"), _pl(data, "dl"))],
    ]
    if ctx.event.is_private:
        rows.append([Button(ctx.t("poll.btn_target"), _pl(data, "to"))])
    rows.append([Button(ctx.t("poll.btn_send"), _pl(data, "go")), _cancel(ctx, data)])
    ctx.reply(
        Message("\n".join(lines), buttons=rows, edit_ref=ctx.event.message_ref if edit else None)
    )


# What each button of a card carries after the card's token and its action.
ACTIONS = {
    "cancel": None,
    "rsvp": None,
    "anon": None,
    "multi": None,
    "dl": (*DEADLINES, "type"),
    "to": None,
    "upg": PAGE,
    "uall": None,
    "u": ID,
    "aud": (MEMBERS, GROUPS),
    "go": None,
}


@registry.button("pl", access="member")
async def on_button(ctx: Context) -> None:
    args = ctx.press_args
    if not 2 <= len(args) <= 3 or args[1] not in ACTIONS:
        raise OutdatedPress(ctx.event.payload)
    token, act = args[0], args[1]
    # "dl" alone opens the deadline menu; with a value, it picks one.
    spec = ACTIONS[act] if len(args) == 3 or act != "dl" else None
    arg = press_part(args[2] if len(args) == 3 else None, spec)
    dialog = ctx.dialog
    mine = (
        dialog is not None
        and dialog.flow == FLOW
        and dialog.data.get("card") == token
        and dialog.data.get("chat") == ctx.event.chat_id
    )
    if not mine or dialog is None:  # someone else's card, or a draft that is over
        ctx.reply(ctx.t("poll.session_over"))
        return
    if act == "cancel":
        await ctx.end_dialog()
        ctx.reply(ctx.t("dialog.cancelled"))
        return
    step, data = dialog.step, dialog.data
    if act == "rsvp" and step == "options":
        data["opts"] = list(RSVP_OPTIONS)
        await _show_card(ctx, data)
    elif step not in ("settings", "deadline", "unit") or "opts" not in data:
        raise OutdatedPress(act)
    elif act in ("anon", "multi"):
        data[act] = not data[act]
        await _show_card(ctx, data, edit=True)
    elif act == "dl" and not arg:
        choices = [Button(ctx.t(f"poll.dl.{key}"), _pl(data, "dl", key)) for key in DEADLINES]
        rows = [choices[:3], choices[3:]]
        if ctx.event.is_private:  # typed input only works in private chats
            rows.append([Button(ctx.t("poll.dl.type"), _pl(data, "dl", "type"))])
        ctx.reply(Message(ctx.t("poll.ask_deadline"), buttons=rows))
    elif act == "dl" and arg == "type":
        await ctx.set_dialog(FLOW, "deadline", data)
        ctx.reply(ctx.t("poll.type_deadline"))
    elif act == "dl":
        data["closes"] = _preset_deadline(ctx, arg)
        await _show_card(ctx, data)
    elif act == "to" and ctx.event.is_private:
        data.pop(pickers.QUERY, None)
        await _ask_unit(ctx, data)
    elif act == "upg" and step == "unit":
        await _ask_unit(ctx, data, arg, edit=True)
    elif act == "uall" and step == "unit":
        data.pop(pickers.QUERY, None)
        await _ask_unit(ctx, data, edit=True)
    elif act == "u" and ctx.event.is_private:
        await _unit_chosen(ctx, data, await units.get(ctx.session, arg))
    elif act == "aud" and data.get("unit_id"):
        data["target"] = arg
        await _show_card(ctx, data)
    elif act == "go":
        await _send(ctx, data)
    else:
        raise OutdatedPress(act)


def _preset_deadline(ctx: Context, key: str) -> str | None:
    now = ctx.now
    local = now.astimezone(ctx.t.tz)
    if key == "1h":
        return (now + timedelta(hours=1)).isoformat()
    if key == "eod":
        return datetime.combine(local.date(), time(23, 59), tzinfo=ctx.t.tz).isoformat()
    if key in ("3d", "7d"):
        return (now + timedelta(days=int(key[0]))).isoformat()
    return None


async def _ask_unit(
    ctx: Context, data: dict[str, Any], number: int = 0, *, edit: bool = False
) -> None:
    """Every unit the organiser may poll, a page at a time; typed words search them."""
    await ctx.set_dialog(FLOW, "unit", data)
    tree = await pickers.unit_tree(ctx.session, await ctx.organiser_roots())
    shown = pickers.page(
        ctx.t,
        pickers.unit_choices(tree, lambda u: _pl(data, "u", u.id)),
        number,
        turn=lambda n: _pl(data, "upg", n),
        query=pickers.current_query(data),
        clear=_pl(data, "uall"),
    )
    ctx.reply(
        Message(
            shown.text(ctx.t("poll.ask_unit")),
            buttons=shown.rows,
            edit_ref=ctx.event.message_ref if edit else None,
        )
    )


async def _unit_chosen(ctx: Context, data: dict[str, Any], unit: Unit | None) -> None:
    if unit is None or not any(r.contains(unit) for r in await ctx.organiser_roots()):
        ctx.refuse(f"unit:{unit.code if unit else '?'}", "organiser")
        return
    data["unit_id"] = unit.id
    data.pop(pickers.QUERY, None)
    ctx.reply(
        Message(
            ctx.t("poll.ask_audience", unit=unit.name),
            buttons=[
                [Button(ctx.t("poll.aud_members"), _pl(data, "aud", MEMBERS))],
                [Button(ctx.t("poll.aud_groups"), _pl(data, "aud", GROUPS))],
            ],
        )
    )
    await ctx.set_dialog(FLOW, "settings", data)


def text_version(t: Any, poll: Poll) -> str:
    """The numbered text poll, for platforms without native polls."""
    lines = [t("poll.text_title", question=poll.question)]
    lines += [f"{i}. {o}" for i, o in enumerate(poll.options, start=1)]
    lines.append("")
    lines.append(t("poll.text_how_multi" if poll.multiple else "poll.text_how_one"))
    lines.append(t("poll.text_anonymous" if poll.anonymous else "poll.text_named"))
    if poll.closes_at is not None:
        lines.append(t("poll.text_deadline", when=t.datetime(poll.closes_at)))
    return "\n".join(lines)


async def _send(ctx: Context, data: dict[str, Any]) -> None:
    target = data.get("target")
    unit = await units.get(ctx.session, data["unit_id"]) if data.get("unit_id") else None
    if target is None or (target != HERE and unit is None):
        ctx.reply(ctx.t("poll.pick_target_first"))
        return
    closes = datetime.fromisoformat(data["closes"]) if data.get("closes") else None
    if closes is not None and closes <= ctx.now:
        ctx.reply(ctx.t("poll.deadline_passed_meanwhile"))
        return
    audience: dict[str, Any] | None = None
    if target == HERE:
        group = await groups.find(ctx.session, ctx.event.platform, ctx.event.chat_id)
        unit_id = group.unit_id if group else None
        here = Recipient(
            ctx.event.platform, ctx.event.chat_id, is_group=True, thread_id=ctx.event.thread_id
        )
        recipients = [here]
    else:
        assert unit is not None
        unit_id = unit.id
        key = "all" if target == MEMBERS else "groups"
        closed = audiences.closed_to_groups(ctx.app)  # e.g. Zalo groups, closed to its bots
        if not (await audiences.count(ctx.session, key, unit, without=closed)).reachable:
            ctx.reply(ctx.t("poll.nobody"))
            return
        audience, recipients = audiences.of_unit(key, unit, without=closed), []
    poll = await polls.create(
        session=ctx.session,
        draft=polls.PollDraft.model_validate(data),
        target=target,
        unit_id=unit_id,
        closes_at=closes,
        created_by=ctx.member.id if ctx.member else None,
        origin=polls.Origin(
            ctx.event.platform, ctx.event.chat_id, not ctx.event.is_private, ctx.event.thread_id
        ),
        now=ctx.now,
    )
    spec = {
        "id": poll.id,
        "question": poll.question,
        "options": poll.options,
        "anonymous": poll.anonymous,
        "multiple": poll.multiple,
    }
    job = DeliveryJob(
        kind="poll",
        key=f"poll:{poll.id}",
        ref_id=poll.id,
        unit_id=unit_id,
        title=ctx.t("poll.job_title", question=poll.question[:80]),
        created_by=poll.created_by,
        language=ctx.t.language,
        start_at=ctx.now,
        created_at=ctx.now,
    )
    if target != HERE:  # a progress message in the organiser's chat for fan-outs
        job.status_platform, job.status_chat_id = ctx.event.platform, ctx.event.chat_id
    content = OutboxMessage(
        text=text_version(ctx.t, poll), poll_json=json.dumps(spec, ensure_ascii=False)
    )
    if audience is None:
        queued = await outbox.queue_job(ctx.session, job, content, recipients, now=ctx.now)
    else:
        queued = await audiences.queue(ctx.session, job, content, audience, now=ctx.now)
    await plan_close(ctx.session, poll, ctx.now)
    ctx.replan = True
    await ctx.end_dialog()
    ctx.audit("poll_created", target=f"poll:{poll.id}", to=target, chats=queued or 0)
    where = {HERE: "poll.to_here", MEMBERS: "poll.to_members", GROUPS: "poll.to_groups"}[target]
    ctx.reply(
        ctx.t(
            "poll.created",
            id=poll.id,
            recipients=ctx.t(where, count=ctx.t.number(queued or 0)),
            deadline=_deadline_label(ctx, data.get("closes")),
        )
    )
