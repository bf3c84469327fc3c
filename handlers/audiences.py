"""Who a bulk message goes to: named audiences inside a unit subtree.

Each audience turns (unit, session) into recipients. Later features add their own (members who
have not registered for emulation, who have not answered an invitation…) with `@audience`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from models import groups, members, roles
from models.outbox import Recipient
from models.units import Unit

MemberQuery = Callable[[AsyncSession, Unit], Awaitable[list[int]]]


@dataclass(frozen=True)
class Audience:
    key: str
    label_key: str
    members: MemberQuery | None  # None: the unit's linked group chats instead of people


AUDIENCES: dict[str, Audience] = {}


def audience(key: str, label_key: str) -> Callable[[MemberQuery], MemberQuery]:
    def register(query: MemberQuery) -> MemberQuery:
        AUDIENCES[key] = Audience(key, label_key, query)
        return query

    return register


@audience("all", "aud.all")
async def everyone(session: AsyncSession, unit: Unit) -> list[int]:
    return await members.ids_in_subtree(session, unit)


@audience("women", "aud.women")
async def women(session: AsyncSession, unit: Unit) -> list[int]:
    return await members.ids_in_subtree(session, unit, gender="nu")


@audience("to_truong", "aud.to_truong")
async def group_leaders(session: AsyncSession, unit: Unit) -> list[int]:
    return await roles.member_ids_with_role_in(session, unit, roles.TO_TRUONG)


@audience("bch", "aud.bch")
async def board(session: AsyncSession, unit: Unit) -> list[int]:
    return await roles.member_ids_with_role_in(session, unit, roles.BCH)


@audience("no_card", "aud.no_card")
async def missing_card(session: AsyncSession, unit: Unit) -> list[int]:
    return await members.ids_in_subtree(session, unit, missing_card=True)


AUDIENCES["groups"] = Audience("groups", "aud.groups", None)


@dataclass
class Resolved:
    recipients: list[Recipient]
    people: int  # members in the audience
    unreachable: int  # of those, how many have no chat the bot can reach


async def resolve(session: AsyncSession, key: str, unit: Unit) -> Resolved:
    chosen = AUDIENCES[key]
    if chosen.members is None:
        linked = await groups.linked_in_subtree(session, unit)
        found = [Recipient(g.platform, g.chat_id, is_group=True) for g in linked]
        return Resolved(found, len(found), 0)
    member_ids = await chosen.members(session, unit)
    reachable = await members.reachable_identities(session, member_ids)
    found = [
        Recipient(i.platform, i.user_id, member_id=mid) for mid, i in sorted(reachable.items())
    ]
    return Resolved(found, len(member_ids), len(member_ids) - len(found))
