"""Who a bulk message goes to: named audiences inside a unit subtree, or a list of members.

A fan-out is recorded as a job carrying its audience (`queue`), answered at once, and expanded
into outbox rows in the background page by page (`expand`, run by bot/fanout.py), so a person's
transaction never holds 100,000 inserts. The preview counts an audience with one query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import registry
from models import groups, members, outbox, roles, units
from models.outbox import DeliveryJob, OutboxMessage, Recipient

if TYPE_CHECKING:
    from bot.app import App
from models.units import Unit

# An audience of people is a query of member ids inside a unit subtree, so it can be counted
# in one statement and expanded in pages, whatever its size.
MemberQuery = Callable[[Unit], Any]


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
def everyone(unit: Unit) -> Any:
    return members.subtree_ids_query(unit)


@audience("women", "aud.women")
def women(unit: Unit) -> Any:
    return members.subtree_ids_query(unit, gender="nu")


@audience("to_truong", "aud.to_truong")
def group_leaders(unit: Unit) -> Any:
    return roles.role_holder_ids_query(unit, roles.TO_TRUONG)


@audience("bch", "aud.bch")
def board(unit: Unit) -> Any:
    return roles.role_holder_ids_query(unit, roles.BCH)


@audience("no_card", "aud.no_card")
def missing_card(unit: Unit) -> Any:
    return members.subtree_ids_query(unit, missing_card=True)


AUDIENCES["groups"] = Audience("groups", "aud.groups", None)


@dataclass
class Counted:
    people: int  # members (or group chats) in the audience
    reachable: int  # of those, how many the bot can write to


async def count(
    session: AsyncSession, key: str, unit: Unit, *, without: Sequence[str] = ()
) -> Counted:
    """The preview's figures: one COUNT query, however large the audience. `without`: the
    platforms whose groups are left out (`closed_to_groups`)."""
    chosen = AUDIENCES[key]
    if chosen.members is None:
        linked = await groups.count_linked_in_subtree(session, unit, without=without)
        return Counted(linked, linked)
    people, reachable = await members.count_reachable(session, chosen.members(unit))
    return Counted(people, reachable)


def closed_to_groups(app: App) -> tuple[str, ...]:
    """Platforms whose bot may not be in groups now (`Capabilities.groups`: Zalo while getMe's
    can_join_groups is false): their linked groups get no announcements or polls until then."""
    return tuple(sorted({a.platform for a in app.adapters.values() if not a.caps.groups}))


def of_unit(key: str, unit: Unit, *, without: Sequence[str] = ()) -> dict[str, Any]:
    """A named audience, as a delivery job stores it (`without`: platforms whose groups are
    left out, for the groups audience)."""
    spec: dict[str, Any] = {"audience": key, "unit_id": unit.id}
    if without and AUDIENCES[key].members is None:
        spec["without"] = sorted(without)
    return spec


def of_members(member_ids: Sequence[int]) -> dict[str, Any]:
    """A given list of members (the invitees of a meeting, who has not answered…)."""
    return {"members": sorted(set(member_ids))}


async def queue(
    session: AsyncSession,
    job: DeliveryJob,
    content: OutboxMessage,
    spec: dict[str, Any],
    *,
    now: datetime,
) -> int | None:
    """Record a fan-out to `spec`; its rows are added in the background (bot/fanout.py).
    Returns how many will receive it, or None when a job with the same key exists."""
    reachable = await _count_spec(session, spec)
    if not await outbox.queue_fanout(session, job, content, spec, now=now):
        return None
    return reachable


async def not_yet_added(session: AsyncSession, job: DeliveryJob) -> int:
    """How many of a fan-out job's audience have no row yet (its expansion still running)."""
    if job.audience_json is None or job.expanded_at is not None or job.id is None:
        return 0
    audience = await _count_spec(session, json.loads(job.audience_json))
    return max(0, audience - await outbox.rows_in_job(session, job.id))


async def _count_spec(session: AsyncSession, spec: dict[str, Any]) -> int:
    if "members" in spec:
        return await members.count_reachable_of(session, spec["members"])
    unit = await units.get(session, spec["unit_id"])
    if unit is None:
        return 0
    return (await count(session, spec["audience"], unit, without=spec.get("without", []))).reachable


@registry.expander
async def expand(
    session: AsyncSession, spec: dict[str, Any], cursor: int, limit: int
) -> tuple[list[Recipient] | Any, int | None]:
    """The next page of a fan-out's recipients, and the cursor after it (None: done). Group
    chats come as a list; members as a query of (member_id, platform, user_id) rows
    (`members.reachable_chats_query`), which the fan-out inserts with INSERT … SELECT."""
    if "members" in spec:
        chunk = spec["members"][cursor : cursor + limit]
        following: int | None = cursor + limit if cursor + limit < len(spec["members"]) else None
        return members.reachable_chats_query(chunk), following
    unit = await units.get(session, spec["unit_id"])
    if unit is None:
        return [], None
    chosen = AUDIENCES[spec["audience"]]
    if chosen.members is None:
        found = await groups.linked_page(
            session, unit, after=cursor, limit=limit, without=spec.get("without", [])
        )
        recipients = [
            Recipient(g.platform, g.chat_id, is_group=True, bot=g.bot, thread_id=g.thread_id)
            for g in found
        ]
        last = found[-1].id if len(found) == limit else None
        return recipients, last
    ids = await members.ids_page(session, chosen.members(unit), after=cursor, limit=limit)
    following = ids[-1] if len(ids) == limit else None
    # People: their rows are made by one INSERT … SELECT (bot/fanout.py), not in Python.
    return (members.reachable_chats_query(ids) if ids else []), following
