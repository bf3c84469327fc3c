"""An emulation campaign in the database for the web pages' tests: the board of SCT, a tổ
trưởng, a member, members who pledged, and another union with its own campaign."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import select

from models import emulation, members, units
from models.emulation import Pledge
from models.members import Member
from tests.people import add_member
from tests.web import Site, make_role

BOARD, LEADER, OTHER_BOARD, MEMBER = "2", "4", "6", "8"
REVIEW_TIME = datetime.fromisoformat("2026-12-15T03:00:00+00:00")


async def _campaign(s: Site, unit_code: str) -> int:
    settings = s.app.settings.emulation
    async with s.app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None and unit.id is not None
        campaign = await emulation.create_campaign(
            session=session,
            unit_id=unit.id,
            year=2026,
            deadline=s.clock.now() + timedelta(days=10),
            titles=[x.model_dump() for x in settings.titles],
            targets=[x.model_dump() for x in settings.targets],
            created_by=None,
            now=s.clock.now(),
        )
        await session.commit()
        assert campaign.id is not None
        return campaign.id


async def _pledge(s: Site, campaign_id: int, plan: dict[str, list[str]]) -> None:
    """{"V0": ["LDTT", "CSTDCS"]}: pledges of the members named "Đoàn Viên Số V0"."""
    async with s.app.db.session() as session:
        people = (await session.exec(select(Member))).all()
        by_word = {m.full_name.split()[-1]: m for m in people}
        for who, codes in plan.items():
            member = by_word[who]
            for code in codes:
                session.add(
                    Pledge(
                        campaign_id=campaign_id,
                        member_id=member.id,  # type: ignore[arg-type]
                        unit_id=member.unit_id,
                        title_code=code,
                        created_at=s.clock.now(),
                    )
                )
        await session.commit()


async def pledged_world(s: Site) -> int:
    """SCT: a board, a tổ trưởng, a member and 14 members who pledged (V0-V9 in Văn phòng,
    K0-K3 in Kỹ thuật; V0 a woman), all joined in 2015; SXD: its own board, campaign and a
    member X0 who pledged. Returns SCT's campaign."""
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    await make_role(s.app, "console", OTHER_BOARD, "Lê Thị Xây", "SXD", "bch", "+84905555555")
    plain = await add_member(s.app, "Đỗ Văn Mới", "SCT-KT", "+84907777777")
    names = [(f"V{i}", "SCT-VP") for i in range(10)] + [(f"K{i}", "SCT-KT") for i in range(4)]
    for number, (who, unit) in enumerate([*names, ("X0", "SXD-VP")]):
        gender = "nu" if who == "V0" else "nam"
        await add_member(s.app, f"Đoàn Viên Số {who}", unit, f"+8491{number:07d}", gender=gender)
    async with s.app.db.session() as session:
        for member in (await session.exec(select(Member))).all():
            member.joined_union_on = date(2015, 6, 1)
            session.add(member)
        ident = await members.ensure_identity(session, "console", MEMBER, "Đỗ Văn Mới")
        ident.member_id = plain.id
        await session.commit()
    campaign = await _campaign(s, "SCT")
    plan = {who: ["LDTT"] for who, _ in names}
    for who in ("V1", "V2", "V3"):
        plan[who] = ["LDTT", "CSTDCS", "DVXS"]
    plan["V0"] = ["LDTT", "CSTDCS", "DVXS", "GVNDVN"]
    await _pledge(s, campaign, plan)
    await _pledge(s, await _campaign(s, "SXD"), {"X0": ["LDTT"]})
    return campaign
