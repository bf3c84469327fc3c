"""Fan-out off the request path: confirming an announcement records the job and answers; its
rows are added in the background page by page, resume after a restart, and stop on cancel.
The preview counts the audience with one query, whatever its size."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.fanout import FanOut
from models import outbox, units
from models.members import Identity, Member
from models.outbox import DeliveryJob, OutboxItem
from tests.conftest import ConsoleUser


def choice(output: str, label: str) -> str:
    """The number the console shows for the button whose label contains `label`."""
    for number, text in re.findall(r"\[(\d+)\] (.+)", output):
        if label in text:
            return number
    raise AssertionError(f"no button {label!r} in:\n{output}")


async def seed_members(app: App, count: int, first: int = 5000) -> None:
    async with app.db.session() as session:
        unit = await units.by_code(session, "SCT-VP")
        assert unit is not None
        for number in range(first, first + count):
            member = Member(full_name="", name_key="", unit_id=unit.id, status="active")  # type: ignore[arg-type]
            member.set_name(f"Đoàn Viên Số {number}")
            session.add(member)
            await session.flush()
            session.add(Identity(platform="console", user_id=str(number), member_id=member.id))
        await session.commit()


async def compose(console: ConsoleUser, text: str) -> str:
    """As the admin: write an announcement to everyone in SCT, up to the preview."""
    await console.as_user("1", "Quản trị")
    await console.say("/thongbao")
    out = await console.say(text)
    out = await console.say(choice(out, "Toàn bộ Công đoàn cơ sở Sở Công Thương"))
    out = await console.say(choice(out, "Tất cả đoàn viên"))
    return await console.say(choice(out, "Gửi ngay"))


async def rows(app: App) -> list[str]:
    async with app.db.session() as session:
        return list((await session.exec(select(OutboxItem.chat_id))).all())


async def the_job(app: App) -> DeliveryJob:
    async with app.db.session() as session:
        job = (await session.exec(select(DeliveryJob))).one()
    return job


async def test_confirm_records_the_job_and_rows_follow_in_pages(
    app: App, console: ConsoleUser
) -> None:
    await seed_members(app, 50)
    preview = await compose(console, "Họp toàn thể chiều thứ Sáu")
    assert "Sẽ gửi tới: 50 đoàn viên" in preview
    answer = await console.say(choice(preview, "Xác nhận gửi"))
    assert "50" in answer
    job = await the_job(app)
    assert await rows(app) == []  # nothing bulk in the person's transaction
    assert job.audience_json is not None and job.expanded_at is None
    assert job.id is not None
    # three pages, then the process stops
    first = FanOut(app, page=7)
    for _ in range(3):
        assert await first.step(job.id) == 7
    assert len(await rows(app)) == 21
    # after a restart the expansion resumes at its cursor: every member once
    restarted = FanOut(app, page=7)
    assert await restarted.expand_all() == 29
    chats = await rows(app)
    assert len(chats) == len(set(chats)) == 50
    job = await the_job(app)
    assert job.total == 50 and job.expanded_at is not None
    assert await restarted.expand_all() == 0  # nothing left: nothing added twice


async def test_cancel_stops_the_expansion(app: App, console: ConsoleUser) -> None:
    await seed_members(app, 30)
    preview = await compose(console, "Thông báo sẽ dừng")
    await console.say(choice(preview, "Xác nhận gửi"))
    job = await the_job(app)
    assert job.id is not None
    fanout = FanOut(app, page=10)
    assert await fanout.step(job.id) == 10
    async with app.db.session() as session:
        found = await outbox.job(session, job.id)
        assert found is not None
        assert await outbox.cancel_job(session, found, app.clock.now()) == 10
        await session.commit()
    assert await fanout.expand_all() == 0
    async with app.db.session() as session:
        states = (await session.exec(select(OutboxItem.state))).all()
    assert states == ["cancelled"] * 10


async def test_stopping_before_the_expansion_ends_counts_the_whole_audience(
    app: App, console: ConsoleUser
) -> None:
    """The board stops an announcement whose rows are not all added yet: the answer counts
    everyone who will not get it, not only the rows already there (it said "0 tin" when the
    stop came before the first page)."""
    await seed_members(app, 30)
    preview = await compose(console, "Thông báo sẽ dừng sớm")
    await console.say(choice(preview, "Xác nhận gửi"))
    job = await the_job(app)
    assert job.id is not None
    assert await FanOut(app, page=10).step(job.id) == 10  # one page of three
    listing = await console.say("/huythongbao")
    stopped = await console.say(choice(listing, "Thông báo số 1"))
    assert "Đã dừng Thông báo số 1: 30 tin chưa gửi" in stopped
    assert await FanOut(app, page=10).expand_all() == 0


class Statements:
    def __init__(self, app: App) -> None:
        self.count = 0
        sa_event.listen(app.db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


async def preview_statements(app: App, console: ConsoleUser) -> int:
    await console.as_user("1", "Quản trị")
    await console.say("/thongbao")
    out = await console.say("Đếm người nhận")
    out = await console.say(choice(out, "Toàn bộ Công đoàn cơ sở Sở Công Thương"))
    out = await console.say(choice(out, "Tất cả đoàn viên"))
    statements = Statements(app)
    before = statements.count
    preview = await console.say(choice(out, "Gửi ngay"))
    assert "Xem trước" in preview
    await console.say("/huy")
    return statements.count - before


async def test_preview_cost_does_not_grow_with_the_audience(app: App, console: ConsoleUser) -> None:
    await seed_members(app, 20)
    small = await preview_statements(app, console)
    await seed_members(app, 600, first=9000)
    large = await preview_statements(app, console)
    assert small == large  # the count is one query, not a list of everyone


async def reachable_chats_in_python(
    session: AsyncSession, member_ids: Sequence[int]
) -> list[tuple[int, str, str, str | None]]:
    """The pick `members.reachable_chats_query` makes, written out in Python (how the fan-out
    chose recipients before its INSERT … SELECT): (member id, platform, chat id, bot)."""
    best: dict[int, tuple[tuple[datetime, int], str, str, str | None]] = {}
    for chunk_start in range(0, len(member_ids), 2000):
        chunk = list(member_ids[chunk_start : chunk_start + 2000])
        query = select(
            Identity.member_id,
            Identity.platform,
            Identity.user_id,
            Identity.last_seen_at,
            Identity.created_at,
            Identity.id,
            Identity.bot,
        ).where(col(Identity.member_id).in_(chunk), col(Identity.unreachable_at).is_(None))
        for member_id, platform, user_id, seen, created, ident_id, bot in (
            await session.exec(query)
        ).all():
            rank = (seen or created, -(ident_id or 0))
            current = best.get(member_id)
            if current is None or rank > current[0]:
                best[member_id] = (rank, platform, user_id, bot)
    return [(mid, found[1], found[2], found[3]) for mid, found in sorted(best.items())]


async def test_rows_made_in_sql_pick_the_same_chat_as_python(app: App) -> None:
    """The fan-out's INSERT … SELECT (members.reachable_chats_query) picks, per member, the
    identity the Python reference above picks: seen last (else created last), the older one
    on a tie, none that is unreachable; members nobody can reach are left out."""
    from datetime import UTC, datetime, timedelta

    from models import members

    base = datetime(2026, 5, 1, tzinfo=UTC)
    async with app.db.session() as session:
        unit = await units.by_code(session, "SCT-VP")
        assert unit is not None
        people = []
        for number in range(6):
            member = Member(full_name="", name_key="", unit_id=unit.id, status="active")  # type: ignore[arg-type]
            member.set_name(f"Người Thứ {number}")
            session.add(member)
            await session.flush()
            people.append(member.id)
        a, b, c, d, e, f = people
        idents = [
            # a: Zalo seen later than Telegram
            Identity(platform="telegram", user_id="a1", member_id=a, last_seen_at=base),
            Identity(
                platform="zalo", user_id="a2", member_id=a, last_seen_at=base + timedelta(hours=2)
            ),
            # b: never seen; created later wins
            Identity(platform="telegram", user_id="b1", member_id=b, created_at=base),
            Identity(platform="zalo", user_id="b2", member_id=b, created_at=base + timedelta(1)),
            # c: a tie: the older identity (lower id)
            Identity(platform="telegram", user_id="c1", member_id=c, last_seen_at=base),
            Identity(platform="zalo", user_id="c2", member_id=c, last_seen_at=base),
            # d: the later one blocked the bot
            Identity(platform="telegram", user_id="d1", member_id=d, last_seen_at=base),
            Identity(
                platform="zalo",
                user_id="d2",
                member_id=d,
                last_seen_at=base + timedelta(hours=5),
                unreachable_at=base + timedelta(hours=6),
            ),
            # e: unreachable everywhere; f: no identity at all
            Identity(platform="telegram", user_id="e1", member_id=e, unreachable_at=base),
        ]
        for ident in idents:
            session.add(ident)
            await session.flush()
        await session.commit()
    async with app.db.session() as session:
        in_python = await reachable_chats_in_python(session, people)
        in_sql = [tuple(r) for r in (await session.exec(members.reachable_chats_query(people)))]
    # (the query names the main bot by its platform where the Python list has None)
    assert in_sql == [(m, p, u, bot or p) for m, p, u, bot in in_python]
    assert [row[:3] for row in in_sql] == [
        (a, "zalo", "a2"),
        (b, "zalo", "b2"),
        (c, "telegram", "c1"),
        (d, "telegram", "d1"),
    ]
    assert f not in {row[0] for row in in_sql}
