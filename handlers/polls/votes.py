"""Votes on polls, the count, and closing.

Native Telegram polls report named answers (`poll_answer`: one row per person, changed or
retracted in place) and, for anonymous polls, counts per copy (`poll`). Where there are no
native polls the same poll is a numbered text poll: a bare "1" or "1,3" in the chat it was
sent to answers the newest open one; "0" takes the answer back.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Address, Event
from bot.context import Context
from bot.delivery import PollSent
from bot.i18n import Translator
from handlers import registry
from models import members, outbox, polls, reminders
from models.outbox import DeliveryJob, OutboxMessage, Recipient
from models.polls import CLOSED, MEMBERS, Poll, PollCopy
from models.reminders import Reminder
from scheduler import action

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

# A number typed this long after a text poll closed is still taken as a late answer to it.
LATE_ANSWER_WINDOW = timedelta(days=7)
# ASCII digits only: "\d" would take "٣" for 3 (see textutil.parse_number).
TEXT_VOTE = re.compile(r"^\s*[0-9]{1,2}(\s*[,;\s]\s*[0-9]{1,2})*\s*$")


@dataclass
class Tally:
    counts: list[int]
    voters: int

    def share(self, index: int) -> float:
        return 100.0 * self.counts[index] / self.voters if self.voters else 0.0


async def tally(
    session: AsyncSession, poll: Poll, ballots: list[tuple[str, list[int]]] | None = None
) -> Tally:
    """Named and text votes from the database (or `ballots`, the poll's votes already read),
    plus the platform's counts of anonymous native copies: one poll sent to many chats is
    one result."""
    assert poll.id is not None
    counts = [0] * len(poll.options)
    voters = 0
    if ballots is None:
        ballots = await polls.ballots(session, poll.id)
    for _name, choices in ballots:
        voters += 1
        for choice in choices:
            if 0 <= choice < len(counts):
                counts[choice] += 1
    for reported in await polls.reported_counts(session, poll.id):
        voters += int(reported["voters"])
        for index, n in enumerate(reported["counts"][: len(counts)]):
            counts[index] += int(n)
    return Tally(counts, voters)


def results_text(t: Translator, poll: Poll, result: Tally) -> str:
    head = "poll.results_final" if poll.state == CLOSED else "poll.results_now"
    lines = [t(head, question=poll.question)]
    best = max(result.counts, default=0)
    for index, option in enumerate(poll.options):
        n = result.counts[index]
        mark = " 🏆" if poll.state == CLOSED and best and n == best else ""
        lines.append(f"{index + 1}. {option} — {t.number(n)} ({result.share(index):.0f}%){mark}")
    lines.append(t("poll.voters", count=t.number(result.voters)))
    return "\n".join(lines)


def chart_png(t: Translator, poll: Poll, result: Tally) -> bytes:
    import io

    # Imported here: matplotlib takes most of a second to load.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{i + 1}. {o[:40]}" for i, o in enumerate(poll.options)]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.4), dpi=110)
    bars = ax.barh(labels, result.counts, color="#2f6db5")
    for bar, n in zip(bars, result.counts, strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {n}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel(t("poll.chart_xlabel"))
    ax.set_title(poll.question[:80])
    ax.set_xlim(0, max([*result.counts, 1]) * 1.2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


# --- native polls ---------------------------------------------------------------------------
@registry.on_poll_state
async def on_poll_state(app: App, session: AsyncSession, event: Event) -> None:
    """Counts of an anonymous native copy (named polls are counted from the answers)."""
    state = event.poll_state
    assert state is not None
    copy = await polls.copy_by_native_id(session, state.native_id)
    poll = await session.get(Poll, copy.poll_id) if copy else None
    if copy is None or poll is None or not poll.is_open or not poll.anonymous:
        return
    await polls.set_native_counts(
        session=session, copy=copy, counts=state.counts, voters=state.voters
    )


@registry.on_poll_answer
async def on_poll_answer(ctx: Context) -> None:
    answer = ctx.event.poll_answer
    assert answer is not None
    copy = await polls.copy_by_native_id(ctx.session, answer.native_id)
    poll = await ctx.session.get(Poll, copy.poll_id) if copy else None
    if copy is None or poll is None:
        # not one of ours, or a copy whose sendPoll answer never arrived (then uncertain)
        log.warning("answer to an unknown poll %s ignored", answer.native_id)
        return
    await record_vote(ctx, poll, copy, list(answer.option_ids))


async def record_vote(ctx: Context, poll: Poll, copy: PollCopy, choices: list[int]) -> bool:
    """Store (or with no choices, remove) this person's answer; False when it cannot count."""
    event = ctx.event
    assert poll.id is not None
    if not poll.is_open:
        ctx.reply(ctx.t("poll.closed_already", question=poll.question))
        return False
    if poll.target == MEMBERS and not await _invited(ctx, poll):
        ctx.audit("poll_vote_refused", target=f"poll:{poll.id}", reason="not invited")
        ctx.reply(ctx.t("poll.not_invited", question=poll.question))
        return False
    accounts: list[tuple[str, str]] = []
    if ctx.member is not None:  # the same person may have voted from their other app
        assert ctx.member.id is not None
        accounts = [
            (i.platform, i.user_id)
            for i in await members.identities_of(ctx.session, [ctx.member.id])
        ]
    voter = polls.Voter(
        platform=event.platform,
        user_id=event.user_id,
        name=ctx.member.full_name if ctx.member else event.user_name,
        member_id=ctx.member.id if ctx.member else None,
        accounts=accounts,
    )
    assert poll.id is not None
    await polls.set_vote(
        session=ctx.session, poll_id=poll.id, voter=voter, choices=choices, at=ctx.now
    )
    return True


async def _invited(ctx: Context, poll: Poll) -> bool:
    """In a poll fanned out to members, only those it was sent to count (a forwarded copy
    can reach anyone)."""
    if ctx.member is None:
        return False
    assert poll.id is not None
    return any(c.member_id == ctx.member.id for c in await polls.copies(ctx.session, poll.id))


# --- text polls -------------------------------------------------------------------------------
@registry.on_text
async def text_vote(ctx: Context) -> bool:
    text = ctx.event.text or ""
    if not TEXT_VOTE.match(text):
        return False
    found = await polls.latest_text_poll_in(
        ctx.session, ctx.event.platform, ctx.event.chat_id, ctx.now - LATE_ANSWER_WINDOW
    )
    if found is None:
        return False
    poll, copy = found
    if not poll.is_open:
        ctx.reply(ctx.t("poll.closed_already", question=poll.question))
        return True
    numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
    count = len(poll.options)
    if numbers == [0]:
        if await record_vote(ctx, poll, copy, []):
            ctx.reply(ctx.t("poll.retracted", question=poll.question))
        return True
    if any(n < 1 or n > count for n in numbers):
        ctx.reply(ctx.t("poll.bad_number", count=count))
        return True
    if len(set(numbers)) > 1 and not poll.multiple:
        ctx.reply(ctx.t("poll.only_one"))
        return True
    if await record_vote(ctx, poll, copy, [n - 1 for n in numbers]):
        if not ctx.event.is_private:  # the group sees the receipt: it never repeats the choice
            ctx.reply(ctx.t("poll.vote_saved_group", question=poll.question))
            return True
        chosen = ", ".join(f"{n}. {poll.options[n - 1]}" for n in sorted(set(numbers)))
        ctx.reply(ctx.t("poll.vote_saved", question=poll.question, chosen=chosen))
    return True


# --- closing ----------------------------------------------------------------------------------
async def close_poll(app: App, session: AsyncSession, poll: Poll, now: datetime) -> None:
    """Close in the database first (later answers are not counted), announce the result where
    the poll was created (delivery engine), then stop the native copies in the background."""
    assert poll.id is not None
    await polls.close(session=session, poll=poll, at=now)
    await reminders.skip_for(session, ["poll_close"], poll.id, now, "closed")
    t = app.translator()
    result = await tally(session, poll)
    job = DeliveryJob(
        kind="poll_result",
        key=f"poll-result:{poll.id}",
        ref_id=poll.id,
        unit_id=poll.unit_id,
        title=t("poll.job_title", question=poll.question[:80]),
        language=t.language,
        start_at=now,
        created_at=now,
    )
    content = OutboxMessage(
        text=results_text(t, poll, result),
        file_name=f"binh-chon-{poll.id}.png",
        file_data=chart_png(t, poll, result),
    )
    origin = Recipient(
        poll.origin_platform,
        poll.origin_chat_id,
        is_group=poll.origin_is_group,
        thread_id=poll.origin_thread_id,
    )
    await outbox.queue_job(session, job, content, [origin], now=now)
    native = [
        (c.id, c.platform, c.message_ref)
        for c in await polls.copies(session, poll.id)
        if c.native_id and c.message_ref and not c.stopped
    ]
    if native:
        app.spawn(_stop_native(app, native))


async def _stop_native(app: App, native: list[tuple[Any, str, str]]) -> None:
    for copy_id, platform, ref in native:
        # through the bot that sent the copy: the one its chat talks to
        try:
            if not await app.stop_native_poll(Address(platform, ref.partition(":")[0]), ref):
                continue  # nothing to stop in that app
        except Exception as exc:  # closed in the database already: answers no longer count
            log.info("could not stop poll copy %s: %s", copy_id, exc)
            continue
        async with app.db.session() as session:
            await polls.mark_stopped(session=session, copy_id=copy_id)
            await session.commit()
        await asyncio.sleep(0)


@action("poll_close")
async def close_at_deadline(
    app: App, session: AsyncSession, row: Reminder, late: bool
) -> str | None:
    poll = await session.get(Poll, row.ref_id)
    if poll is None or not poll.is_open:
        return "already closed"
    await close_poll(app, session, poll, app.clock.now())
    return None


async def plan_close(session: AsyncSession, poll: Poll, now: datetime) -> None:
    if poll.closes_at is not None:
        assert poll.id is not None
        await reminders.add(
            session,
            kind="poll_close",
            ref_id=poll.id,
            key=f"poll-close:{poll.id}",
            due_at=poll.closes_at,
            now=now,
        )


@registry.on_poll_sent
async def record_sent_copy(session: AsyncSession, sent: PollSent) -> None:
    """The delivery engine sent a copy of a poll: votes on it find their poll by this record."""
    await polls.record_copy(
        session,
        sent.poll_id,
        sent.platform,
        sent.row.chat_id,
        is_group=sent.row.is_group,
        member_id=sent.row.member_id,
        message_ref=sent.message_ref,
    )
