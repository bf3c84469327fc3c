"""Two unions side by side for the hardening tests, driven through the console: the board of
CĐCS SCT (console:2001) with members, a pending request, a meeting with minutes, a poll, an
announcement still sending, a campaign with pledges; the board of CĐCS SXD (console:3001) next
door. Also what those tests share: pressing any payload, reading what the bot said, and a
snapshot of every table to prove a refused press changed nothing."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

from bot.app import App
from bot.chat import Event
from bot.i18n import VI
from models import members, roles, units
from models.audit import AuditEntry
from models.emulation import Campaign, Pledge, UnitPledge
from models.groups import JoinRequest
from models.meetings import Invite, Meeting
from models.members import Member
from models.outbox import DeliveryJob
from models.polls import MEMBERS, Poll, PollCopy
from tests.conftest import ConsoleUser

SCT_BOARD, SXD_BOARD, ADMIN = "2001", "3001", "1"
MEMBER_A, MEMBER_B = "4001", "4002"
SECRET_MINUTES = "Biên bản nội bộ SCT: mức thưởng cuối năm"
# Tables a refused press may still write to: the audit log (the refusal itself) and the
# record that the event was handled.
UNCHANGED_EXCEPT = {"audit_log", "processed_events"}
# Columns that follow the person, not the press (first contact, the last time seen).
VOLATILE = {("identities", "last_seen_at"), ("identities", "display_name")}


def text_of(key: str) -> str:
    """A catalog text up to its first placeholder: what every answer with that key contains."""
    return VI[key].split("{")[0].strip()


def says(out: str, key: str) -> bool:
    """Whether `out` has the answer of catalog `key` (or its wording for apps without buttons,
    "<key>.typed", which the console gets)."""
    return any(text_of(k) in out for k in (key, key + ".typed") if k in VI)


@dataclass
class World:
    app: App
    console: ConsoleUser
    ids: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    async def press(self, user: str, payload: str) -> str:
        return await self.event(user, payload=payload)

    async def event(self, user: str, **fields: Any) -> str:
        """Hand one event from console user `user` to the bot; what the bot printed back."""
        adapter = self.console.adapter
        adapter.user_id, adapter.user_name = user, f"Người {user}"  # answers print unprefixed
        out = self.console.out
        start = len(out.getvalue())
        fields.setdefault("event_id", uuid.uuid4().hex)
        fields.setdefault("chat_id", user)
        fields.setdefault("chat_kind", "private")
        await self.app.handle(
            Event(platform="console", user_id=user, user_name=f"Người {user}", **fields)
        )
        return out.getvalue()[start:]

    async def say(self, user: str, line: str) -> str:
        """Type a line as `user` (numbers pick the choices shown, as in the terminal)."""
        await self.console.as_user(user, f"Người {user}")
        return await self.console.say(line)

    def offered(self, user: str) -> list[str]:
        """The payloads of the buttons last shown to `user` (numbered in the console)."""
        return list(self.console.adapter._choices.get(user, []))

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return await snapshot(self.app)

    async def denials(self, actor: str) -> int:
        async with self.app.db.session() as session:
            rows = (
                await session.exec(
                    select(AuditEntry).where(
                        AuditEntry.action == "access_denied", AuditEntry.actor == actor
                    )
                )
            ).all()
        return len(rows)


def _columns() -> list[tuple[str, list[str]]]:
    return [
        (table.name, [c.name for c in table.columns if (table.name, c.name) not in VOLATILE])
        for table in SQLModel.metadata.sorted_tables
        if table.name not in UNCHANGED_EXCEPT
    ]


async def snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the audit log and the handled-events record). On SQLite
    the file is read directly, without the driver's thread: the fuzz tests take one snapshot
    per press."""
    url = make_url(app.db.url)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    if url.get_backend_name() == "sqlite" and url.database:
        with closing(sqlite3.connect(url.database)) as connection:
            for name, columns in _columns():
                quoted = ", ".join(f'"{c}"' for c in columns)
                rows = connection.execute(f'SELECT {quoted} FROM "{name}"').fetchall()
                tables[name] = sorted(rows, key=repr)
        return tables
    async with app.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in UNCHANGED_EXCEPT:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            rows = (await session.exec(select(*columns))).all()  # type: ignore[call-overload]
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def assert_no_crash(out: str, caplog: pytest.LogCaptureFixture) -> None:
    """No apology for an unexpected error and nothing logged at ERROR."""
    assert "bot vừa gặp sự cố" not in out, out
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _member(
    session: Any,
    name: str,
    unit: units.Unit,
    phone: str,
    *,
    user: str | None = None,
    status: str = "active",
    gender: str = "nam",
) -> Member:
    member = Member(
        full_name="",
        name_key="",
        unit_id=unit.id,  # type: ignore[arg-type]
        phone=phone,
        gender=gender,
        status=status,
        job_title="Chuyên viên",
    )
    member.set_name(name)
    session.add(member)
    await session.flush()
    if user is not None:
        ident = await members.ensure_identity(session, "console", user, f"Người {user}")
        ident.member_id = member.id
    return member


async def build(app: App, console: ConsoleUser) -> World:
    """Both unions, with one of everything a board manages in SCT."""
    world = World(app, console)
    now = app.clock.now()
    async with app.db.session() as session:
        sct = await units.by_code(session, "SCT")
        sct_vp = await units.by_code(session, "SCT-VP")
        sct_kt = await units.by_code(session, "SCT-KT")
        sxd = await units.by_code(session, "SXD")
        sxd_vp = await units.by_code(session, "SXD-VP")
        assert sct and sct_vp and sct_kt and sxd and sxd_vp
        chair = await _member(session, "Phạm Văn Chủ", sct, "+84900002001", user=SCT_BOARD)
        other = await _member(session, "Lê Thị Xây", sxd, "+84900003001", user=SXD_BOARD)
        await roles.grant(session, chair.id, "bch", sct, "test")  # type: ignore[arg-type]
        await roles.grant(session, other.id, "bch", sxd, "test")  # type: ignore[arg-type]
        a = await _member(session, "Nguyễn Văn An", sct_vp, "+84911111111", user=MEMBER_A)
        b = await _member(
            session, "Trần Thị Bình", sct_vp, "+84922222222", user=MEMBER_B, gender="nu"
        )
        waiting = await _member(session, "Đỗ Văn Chờ", sct_kt, "+84933333333", status="pending")
        gone = await _member(session, "Hồ Văn Rời", sct_vp, "+84944444444", status="left")
        await _member(session, "Ngô Văn Ngoài", sxd_vp, "+84955555555")
        meeting = Meeting(
            unit_id=sct_vp.id,  # type: ignore[arg-type]
            organiser_id=chair.id,
            organiser_platform="console",
            organiser_chat=SCT_BOARD,
            title="Họp tổ Văn phòng SCT",
            kind="to",
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=2),
            place="Phòng họp SCT",
            checkin_code="ABC123",
            minutes_text=SECRET_MINUTES,
            created_at=now,
            updated_at=now,
        )
        session.add(meeting)
        await session.flush()
        for person in (a, b):
            session.add(Invite(meeting_id=meeting.id, member_id=person.id))  # type: ignore[arg-type]
        poll = Poll(
            question="Chọn ngày tham quan của SCT?",
            options_json=json.dumps(["Thứ Bảy", "Chủ nhật"]),
            target=MEMBERS,
            unit_id=sct.id,
            created_by=chair.id,
            origin_platform="console",
            origin_chat_id=SCT_BOARD,
            created_at=now,
        )
        session.add(poll)
        await session.flush()
        for person, user in ((a, MEMBER_A), (b, MEMBER_B)):
            session.add(
                PollCopy(poll_id=poll.id, platform="console", chat_id=user, member_id=person.id)  # type: ignore[arg-type]
            )
        job = DeliveryJob(
            kind="broadcast",
            key="bc:test:sct",
            title="Thông báo số 1 của SCT",
            unit_id=sct.id,
            created_by=chair.id,
            start_at=now + timedelta(days=1),
            created_at=now,
        )
        session.add(job)
        titles = [t.model_dump() for t in app.settings.emulation.titles]
        campaign = Campaign(
            unit_id=sct.id,  # type: ignore[arg-type]
            year=2027,
            deadline=datetime.fromisoformat("2027-01-31T16:59:00+00:00"),
            titles_json=json.dumps(titles, ensure_ascii=False),
            targets_json="[]",
            created_by=chair.id,
            created_at=now,
        )
        session.add(campaign)
        await session.flush()
        individual = next(t["code"] for t in titles if t["kind"] == "individual")
        collective = next(t["code"] for t in titles if t["kind"] == "collective")
        pledge = Pledge(
            campaign_id=campaign.id,  # type: ignore[arg-type]
            member_id=a.id,  # type: ignore[arg-type]
            unit_id=a.unit_id,
            title_code=individual,
            created_at=now,
        )
        unit_pledge = UnitPledge(
            campaign_id=campaign.id,  # type: ignore[arg-type]
            unit_id=sct_vp.id,  # type: ignore[arg-type]
            title_code=collective,
            created_at=now,
        )
        session.add_all([pledge, unit_pledge])
        await session.flush()
        join = JoinRequest(
            platform="telegram",
            chat_id="-1007770001",
            user_id="555",
            private_chat_id="555",
            unit_id=sct_vp.id,  # type: ignore[arg-type]
            requested_at=now,
        )
        session.add(join)
        await session.flush()
        for identity_user in (ADMIN,):
            await members.ensure_identity(session, "console", identity_user, "Quản trị")
        world.ids = {
            "sct": sct.id,
            "sct_vp": sct_vp.id,
            "sct_kt": sct_kt.id,
            "sxd": sxd.id,
            "sxd_vp": sxd_vp.id,
            "chair": chair.id,
            "other_board": other.id,
            "a": a.id,
            "b": b.id,
            "waiting": waiting.id,
            "gone": gone.id,
            "meeting": meeting.id,
            "poll": poll.id,
            "job": job.id,
            "campaign": campaign.id,
            "pledge": pledge.id,
            "unit_pledge": unit_pledge.id,
            "join": join.id,
        }  # type: ignore[dict-item]
        world.codes = {"individual": individual, "collective": collective}
        await session.commit()
    return world
