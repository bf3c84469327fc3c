"""The router's access levels: "organiser" (the board or a tổ trưởng; in a group chat any
member, for that group) is checked and logged in one place, and an outdated press is answered
once, by the router, with nothing of it kept."""

from __future__ import annotations

import pytest

from bot.app import App
from models import roles, units
from tests.conftest import ConsoleUser
from tests.world import MEMBER_A, MEMBER_B, SCT_BOARD, World, build, changed_tables, says


@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    w = await build(app, console)
    # MEMBER_B leads tổ Văn phòng of SCT; MEMBER_A is a plain member.
    async with app.db.session() as session:
        vp = await units.by_code(session, "SCT-VP")
        assert vp is not None
        await roles.grant(session, w.ids["b"], roles.TO_TRUONG, vp, "test")
        await session.commit()
    return w


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        ("/hop", "mt.not_organiser"),
        ("/quanlyhop", "mt.not_organiser"),
        ("/binhchon", "poll.private_needs_role"),
        ("/thidua_tapthe", "access.leaders_only"),
    ],
)
async def test_organiser_commands_refuse_a_plain_member_and_log_it(
    world: World, command: str, refusal: str
) -> None:
    before = await world.denials(f"console:{MEMBER_A}")
    snapshot = await world.snapshot()

    out = await world.say(MEMBER_A, command)

    assert says(out, refusal), out
    assert await world.denials(f"console:{MEMBER_A}") == before + 1
    assert changed_tables(snapshot, await world.snapshot()) == []


@pytest.mark.parametrize("command", ["/hop", "/quanlyhop", "/binhchon", "/thidua_tapthe"])
async def test_organiser_commands_let_a_to_truong_in(world: World, command: str) -> None:
    before = await world.denials(f"console:{MEMBER_B}")

    out = await world.say(MEMBER_B, command)

    assert await world.denials(f"console:{MEMBER_B}") == before, out
    assert not says(out, "mt.not_organiser"), out
    assert not says(out, "access.leaders_only"), out


async def test_a_to_truong_pressing_a_collective_decision_is_refused_by_the_router(
    world: World,
) -> None:
    before = await world.denials(f"console:{MEMBER_B}")
    snapshot = await world.snapshot()

    out = await world.press(MEMBER_B, f"v1:etd:r:{world.ids['unit_pledge']}:d")

    assert says(out, "access.board_only"), out
    assert await world.denials(f"console:{MEMBER_B}") == before + 1
    assert changed_tables(snapshot, await world.snapshot()) == []


async def test_a_press_on_a_member_who_is_gone_is_answered_outdated_and_keeps_nothing(
    world: World,
) -> None:
    snapshot = await world.snapshot()

    out = await world.press(SCT_BOARD, "v1:mem:v:999999")

    assert says(out, "button.outdated"), out
    assert changed_tables(snapshot, await world.snapshot()) == []
