"""Meetings and polls in the database for the web pages' tests: the board of SCT, the tổ
trưởng of two of its tổ, the board of another union, members; a meeting with its answers;
polls with their votes."""

from __future__ import annotations

import json
from datetime import timedelta

from models import meetings, members, polls, units
from models.meetings import Invite, MeetingDraft
from models.polls import MEMBERS, Origin, PollCopy, PollDraft, PollVote
from tests.people import add_member
from tests.web import Site, make_role

BOARD, LEADER, OTHER_LEADER, OTHER_BOARD, MEMBER = "2", "4", "5", "6", "7"


async def people(s: Site) -> dict[str, int]:
    """The board of SCT, the tổ trưởng of its Văn phòng and of its Kỹ thuật, the board of
    another union (SXD), and members; returns member ids by name."""
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    await make_role(
        s.app, "console", OTHER_LEADER, "Vũ Thị Kỹ", "SCT-KT", "to_truong", "+84903333334"
    )
    await make_role(s.app, "console", OTHER_BOARD, "Đinh Văn Xa", "SXD", "bch", "+84902222222")
    ids: dict[str, int] = {}
    for name, unit, phone in (
        ("Lê Văn Bình", "SCT-VP", "+84913000001"),
        ("Nguyễn Thị Ánh", "SCT-VP", "+84913000002"),
        ("Hoàng Văn Dũng", "SCT-VP", "+84913000003"),
        ("Phạm Văn An", "SCT-VP", "+84913000004"),
        ("Nguyễn Văn Xây", "SXD-VP", "+84913000006"),
    ):
        member = await add_member(s.app, name, unit, phone)
        assert member.id is not None
        ids[name] = member.id
    async with s.app.db.session() as session:
        ident = await members.ensure_identity(session, "console", MEMBER, "Bình")
        ident.member_id = ids["Lê Văn Bình"]
        await session.commit()
    return ids


async def meeting(
    s: Site,
    unit_code: str,
    title: str,
    people: dict[int, tuple[str | None, str | None, bool]],
    *,
    hours: float = 48,
) -> int:
    """A meeting of the unit in `hours`, its invitees' answers (answer, reason, came)."""
    now = s.clock.now()
    async with s.app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None and unit.id is not None
        draft = MeetingDraft(
            unit_id=unit.id,
            title=title,
            kind="to",
            starts=now + timedelta(hours=hours),
            ends=now + timedelta(hours=hours + 2),
            place="Phòng họp tầng 3",
            audience="all",
        )
        meeting = await meetings.create(
            session=session,
            draft=draft,
            organiser_id=None,
            platform="console",
            chat_id=BOARD,
            checkin_code="K7MX3P",
            now=now,
        )
        assert meeting.id is not None
        for member_id, (answer, reason, came) in people.items():
            session.add(
                Invite(
                    meeting_id=meeting.id,
                    member_id=member_id,
                    answer=answer,
                    reason=reason,
                    answered_at=now if answer else None,
                    attended=came or None,
                    checked_in_at=now if came else None,
                )
            )
        await session.commit()
        return meeting.id


async def poll(
    s: Site,
    unit_code: str,
    question: str,
    options: list[str],
    votes: dict[int, tuple[str, list[int]]],
    *,
    anonymous: bool = False,
    sent_to: tuple[int, ...] | list[int] = (),
    created_by: int | None = None,
) -> int:
    async with s.app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        poll = await polls.create(
            session=session,
            draft=PollDraft(q=question, opts=options, anon=anonymous),
            target=MEMBERS,
            unit_id=unit.id,
            closes_at=None,
            created_by=created_by,
            origin=Origin("console", BOARD, False),
            now=s.clock.now(),
        )
        assert poll.id is not None
        for member_id in sent_to:
            session.add(
                PollCopy(
                    poll_id=poll.id,
                    platform="console",
                    chat_id=f"c{member_id}",
                    member_id=member_id,
                )
            )
        for member_id, (name, choices) in votes.items():
            session.add(
                PollVote(
                    poll_id=poll.id,
                    platform="console",
                    user_id=f"u{member_id}",
                    member_id=member_id,
                    name=name,
                    choices_json=json.dumps(choices),
                    updated_at=s.clock.now(),
                )
            )
        await session.commit()
        return poll.id


async def vp_meeting(s: Site, ids: dict[str, int]) -> int:
    return await meeting(
        s,
        "SCT-VP",
        "Sinh hoạt tổ tháng 12",
        {
            ids["Lê Văn Bình"]: ("yes", None, True),
            ids["Nguyễn Thị Ánh"]: ("no", "Đi công tác", False),
            ids["Hoàng Văn Dũng"]: ("maybe", None, False),
            ids["Phạm Văn An"]: (None, None, False),
        },
    )


async def two_polls(s: Site, ids: dict[str, int]) -> tuple[int, int]:
    voters = {
        ids["Lê Văn Bình"]: ("Lê Văn Bình", [0]),
        ids["Nguyễn Thị Ánh"]: ("Nguyễn Thị Ánh", [0]),
        ids["Hoàng Văn Dũng"]: ("Hoàng Văn Dũng", [1]),
    }
    everyone = [ids[n] for n in ("Lê Văn Bình", "Nguyễn Thị Ánh", "Hoàng Văn Dũng", "Phạm Văn An")]
    named = await poll(
        s, "SCT-VP", "Đi dã ngoại thứ Bảy?", ["Có", "Không", "Có thể"], voters, sent_to=everyone
    )
    secret = await poll(
        s,
        "SCT-VP",
        "Tín nhiệm tổ trưởng?",
        ["Tín nhiệm", "Không tín nhiệm"],
        voters,
        anonymous=True,
        sent_to=everyone,
    )
    return named, secret
