"""People in the database for a test: seeded members, their join dates."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from models import members, roles, units
from models.members import Identity, Member
from tests.tg import Bot

FIRST = 20_000  # Telegram chat ids of seeded members


async def seed(
    app: App, count: int, unit_code: str = "SCT-VP", *, women_every: int = 2, start: int = FIRST
) -> list[int]:
    """Active members, each with a Telegram identity; returns their chat ids."""
    chats = []
    async with app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        for i in range(count):
            member = Member(
                full_name="",
                name_key="",
                unit_id=unit.id,
                status="active",  # type: ignore[arg-type]
                gender="nu" if i % women_every == 0 else "nam",
                phone=f"+8491{start + i:07d}",
            )
            member.set_name(f"Đoàn Viên Số {chr(65 + i % 26)}{i}")
            session.add(member)
            await session.flush()
            session.add(
                Identity(
                    platform="telegram",
                    user_id=str(start + i),
                    member_id=member.id,
                    display_name="ĐV",
                )
            )
            chats.append(start + i)
        await session.commit()
    return chats


async def add_member(
    app: App, name: str, unit_code: str, phone: str, *, gender: str = "nam", status: str = "active"
) -> Member:
    async with app.db.session() as session:
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        member = Member(
            full_name="",
            name_key="",
            unit_id=unit.id,
            phone=phone,
            gender=gender,
            status=status,
            job_title="Chuyên viên",
        )
        member.set_name(name)
        session.add(member)
        await session.commit()
        return member


async def set_join_dates(bot: Bot, chats: list[int], joined: date) -> None:
    async with bot.app.db.session() as session:
        for member in (await session.exec(select(Member))).all():
            member.joined_union_on = joined
        await session.commit()


async def make_board(
    app: App, console_user: str, name: str, unit_code: str, *, platform: str = "console"
) -> Member:
    """A BCH member of `unit_code`, talking on `platform` as user `console_user`."""
    member = await add_member(app, name, unit_code, "+8490" + console_user.zfill(7))
    async with app.db.session() as session:
        ident = await members.ensure_identity(session, platform, console_user, name)
        ident.member_id = member.id
        unit = await units.by_code(session, unit_code)
        assert unit is not None
        await roles.grant(session, member.id, "bch", unit, "test")  # type: ignore[arg-type]
        await session.commit()
    return member
