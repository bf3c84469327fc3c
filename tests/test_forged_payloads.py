"""Forged or stale button payloads: a value the bot never offered gets the "outdated button"
answer and changes nothing (before, 177 of them crashed: an IndexError, KeyErrors, int() of
"ef", a timedelta of a huge number, a repeat rule saved into a meeting that nothing could
read, negative reminder offsets that crashed at the confirmation)."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from bot.app import App
from models.meetings import Meeting
from tests.conftest import ConsoleUser
from tests.world import (
    MEMBER_A,
    SCT_BOARD,
    SXD_BOARD,
    World,
    assert_no_crash,
    build,
    changed_tables,
    says,
)


@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    return await build(app, console)


async def stale(w: World, user: str, payload: str, caplog: pytest.LogCaptureFixture) -> None:
    before = await w.snapshot()
    out = await w.press(user, payload)
    assert_no_crash(out, caplog)
    assert says(out, "button.outdated"), (payload, out)
    assert changed_tables(before, await w.snapshot()) == [], payload


async def test_menu_payload_without_a_command(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for payload in ("v1:cmd", "v1:cmd:", "v1:cmd:phanquyen", "v1:cmd:hoso:x", "v1:cmd:HOSO"):
        await stale(world, MEMBER_A, payload, caplog)
    assert "Hồ sơ" in await world.press(MEMBER_A, "v1:cmd:hoso")


async def test_profile_gender_not_offered(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    await world.press(MEMBER_A, "v1:prof:gender")
    for value in ("x", "khac", "", "NAM", "nam:1"):
        await stale(world, MEMBER_A, f"v1:profg:{value}", caplog)
    assert "Đã cập nhật" in await world.press(MEMBER_A, "v1:profg:nu")


async def _meeting_at(world: World, step: str) -> None:
    """The board of SCT plans a meeting up to `step`."""
    w = world
    await w.say(SCT_BOARD, "/hop")
    await w.press(SCT_BOARD, "v1:mk:kind:to")
    await w.press(SCT_BOARD, "v1:mk:title")
    await w.say(SCT_BOARD, "25/11/2026 14h")
    if step == "end":
        return
    await w.press(SCT_BOARD, "v1:mk:dur:120")
    await w.say(SCT_BOARD, "Phòng họp")
    await w.press(SCT_BOARD, "v1:mk:noagenda")
    await w.press(SCT_BOARD, f"v1:mk:unit:{w.ids['sct_vp']}")
    await w.press(SCT_BOARD, "v1:mk:aud:all")
    if step == "offsets":
        return
    await w.press(SCT_BOARD, "v1:mk:off:1440,60")
    assert step == "repeat"


async def test_meeting_durations_offsets_and_repeats_not_offered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    w = world
    await _meeting_at(w, "end")
    for value in (str(10**12), "9" * 30, "30", "0", "-60", "²", "", "120:x"):
        await stale(w, SCT_BOARD, f"v1:mk:dur:{value}", caplog)
    await w.press(SCT_BOARD, "v1:mk:dur:120")
    await w.say(SCT_BOARD, "Phòng họp")
    await w.press(SCT_BOARD, "v1:mk:noagenda")
    await w.press(SCT_BOARD, f"v1:mk:unit:{w.ids['sct_vp']}")
    await w.press(SCT_BOARD, "v1:mk:aud:all")
    for value in ("ef", "-5", "1440,-5", "5", "60,60", "", ",", "1440,60,30", "٣"):
        await stale(w, SCT_BOARD, f"v1:mk:off:{value}", caplog)
    await w.press(SCT_BOARD, "v1:mk:off:1440,60")
    for value in ("x", "daily", "yearly", "", "weekly:x", "WEEKLY"):
        await stale(w, SCT_BOARD, f"v1:mk:rep:{value}", caplog)
    preview = await w.press(SCT_BOARD, "v1:mk:rep:weekly")
    assert "Xem trước" in preview
    done = await w.press(SCT_BOARD, "v1:mk:go")
    assert "Đã lên lịch" in done
    async with w.app.db.session() as session:
        meeting = (
            await session.exec(select(Meeting).where(Meeting.organiser_chat == SCT_BOARD))
        ).all()[-1]
    assert meeting.repeat == "weekly" and meeting.offsets == [1440, 60]


async def test_other_dialog_values_not_offered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    w, i = world, world.ids
    # a decision that is neither "ok" nor "no" is not a rejection
    for action in ("maybe", "", "OK"):
        await stale(w, SCT_BOARD, f"v1:appr:{action}:{i['waiting']}", caplog)
    # the registration's unit browser
    await w.say("5001", "/dangky")
    for value in ("^abc", "^", "=", "=x", "^²", f"^{2**64}", f"={2**64}"):
        await stale(w, "5001", f"v1:reg:unit:{value}", caplog)
    # opening a campaign: only the years offered, only configured titles
    await w.say(SXD_BOARD, "/thidua_mo")
    for value in ("1999", "2030", "99999", "²"):
        await stale(w, SXD_BOARD, f"v1:emo:year:{value}", caplog)
    await w.press(SXD_BOARD, "v1:emo:year:2027")
    await w.say(SXD_BOARD, "31/01/2027")
    for value in ("NOPE", "", "ldtt"):
        await stale(w, SXD_BOARD, f"v1:emo:t:{value}", caplog)
    # an announcement: pin is yes or no
    await w.say(SCT_BOARD, "/thongbao")
    await w.say(SCT_BOARD, "Xin chào")
    await w.press(SCT_BOARD, f"v1:bc:unit:{i['sct']}")
    await w.press(SCT_BOARD, "v1:bc:aud:groups")
    await w.press(SCT_BOARD, "v1:bc:now")
    for value in ("7", "", "yes"):
        await stale(w, SCT_BOARD, f"v1:bc:pin:{value}", caplog)
    # parts the bot never adds
    for payload in ("v1:bc:pin:1:x", "v1:mins:1:2", f"v1:rsvp:{i['meeting']}:y:x"):
        await stale(w, SCT_BOARD if "bc" in payload else MEMBER_A, payload, caplog)
