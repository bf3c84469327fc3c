"""Numbers that are not ASCII digits, or too big for the database: "²" and "٣" pass
`str.isdigit()` (and `int()` then fails on "²" or reads "٣" as 3), ids beyond 2^63 overflow
SQLite. Every number a person types or a button carries is read by one helper
(`textutil.parse_number`); anything else is answered like any other wrong input."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import textutil, timeparse
from bot.app import App
from bot.textutil import InvalidInput
from tests.conftest import ConsoleUser
from tests.world import (
    ADMIN,
    MEMBER_A,
    SCT_BOARD,
    World,
    assert_no_crash,
    build,
    changed_tables,
    says,
    text_of,
)

ODD = ["²", "٣", "１", "𝟙", "¹²", "३", "⁴²", "½", "Ⅻ"]
HUGE = [str(2**63), "9" * 30, "1" * 5000]


# --- the helper ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0", "7", " 42 ", "007", "2147483647"])
def test_ascii_digits_in_range_are_numbers(text: str) -> None:
    assert textutil.parse_number(text) == int(text)


@pytest.mark.parametrize("text", [*ODD, "", " ", "-1", "+1", "1.0", "1e3", "0x1f", "1 2", "1_0"])
def test_anything_else_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        textutil.parse_number(text)
    assert bad.value.key == "invalid.number"


@pytest.mark.parametrize("text", [*HUGE, "2147483648"])
def test_numbers_beyond_the_range_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        textutil.parse_number(text)
    assert bad.value.key == "invalid.number.range"


def test_range_is_the_callers() -> None:
    assert textutil.parse_number("2026", low=2000, high=2100) == 2026
    with pytest.raises(InvalidInput):
        textutil.parse_number("1999", low=2000, high=2100)
    assert textutil.number_or_none("²") is None and textutil.number_or_none("12") == 12


# --- through the bot ----------------------------------------------------------------------------
@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    return await build(app, console)


async def quiet(w: World, user: str, caplog: pytest.LogCaptureFixture, **event: object) -> str:
    """One event; nothing crashes and nothing in the database changes."""
    before = await w.snapshot()
    out = await w.event(user, **event)
    assert_no_crash(out, caplog)
    assert changed_tables(before, await w.snapshot()) == [], (event, out)
    return out


@pytest.mark.parametrize("odd", ["²", "٣", str(2**63)])
async def test_ketqua_with_odd_digits_in_private_and_in_groups(
    world: World, caplog: pytest.LogCaptureFixture, odd: str
) -> None:
    caplog.set_level(logging.WARNING)
    wrong = await world.event(MEMBER_A, command="ketqua", args="abc")
    out = await quiet(world, MEMBER_A, caplog, command="ketqua", args=odd)
    assert out == wrong  # the answer to any other wrong id
    group = {"chat_id": "-700", "chat_kind": "group"}
    out = await quiet(world, MEMBER_A, caplog, command="ketqua", args=odd, **group)
    assert "bot vừa gặp sự cố" not in out


@pytest.mark.parametrize("odd", ["²", "٣", "１", "9" * 30])
async def test_board_commands_with_odd_digits(
    world: World, caplog: pytest.LogCaptureFixture, odd: str
) -> None:
    caplog.set_level(logging.WARNING)
    wrong = await world.event(SCT_BOARD, command="doanvien", args="abc")
    assert await quiet(world, SCT_BOARD, caplog, command="doanvien", args=odd) == wrong
    usage = text_of("mt.report_usage")
    assert usage in await quiet(world, SCT_BOARD, caplog, command="baocaohop", args=odd)
    roles_usage = text_of("roles.usage")
    out = await quiet(world, ADMIN, caplog, command="phanquyen", args=f"{odd} bch SCT")
    assert roles_usage in out


async def test_odd_digits_typed_in_the_console(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await world.say(MEMBER_A, "/menu")
    offered = world.offered(MEMBER_A)
    for odd in [*ODD, *HUGE, "0", "-1"]:
        before = await world.snapshot()
        out = await world.console.say(odd)
        assert_no_crash(out, caplog)
        assert changed_tables(before, await world.snapshot()) == []
        assert world.offered(MEMBER_A) == offered  # nothing pressed
    assert "Hồ sơ" in await world.console.say("1")  # an ASCII number still picks


async def test_odd_digits_in_payload_ids(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    i = world.ids
    meeting, member = i["meeting"], i["a"]
    for odd in ["²", "٣", "１", "𝟙", str(2**63), "9" * 30]:  # the fuzz tests try the rest
        for user, payload in [
            (MEMBER_A, f"v1:mins:{odd}"),
            (MEMBER_A, f"v1:rsvp:{odd}:y"),
            (MEMBER_A, f"v1:rsvpr:{odd}"),
            (MEMBER_A, f"v1:pr:v:{odd}"),
            (MEMBER_A, f"v1:prl:{odd}"),
            (MEMBER_A, f"v1:emr:{odd}:d"),
            (SCT_BOARD, f"v1:mml:{odd}"),  # organisers only: a member is refused first
            (SCT_BOARD, f"v1:mm:v:{odd}"),
            (SCT_BOARD, f"v1:mm:mark:{meeting}:{odd}:0"),
            (SCT_BOARD, f"v1:mm:mark:{meeting}:{member}:{odd}"),
            (SCT_BOARD, f"v1:mm:att:{meeting}:{odd}"),
            (SCT_BOARD, f"v1:appr:ok:{odd}"),
            (SCT_BOARD, f"v1:mem:v:{odd}"),
            (SCT_BOARD, f"v1:mem:p:{odd}"),
            (SCT_BOARD, f"v1:mbr:move:{odd}"),
            (SCT_BOARD, f"v1:mbr:to:{member}:{odd}"),
            (SCT_BOARD, f"v1:mbr:mvp:{member}:{odd}"),
            (SCT_BOARD, f"v1:job:stop:{odd}"),
            (SCT_BOARD, f"v1:bcl:{odd}"),
            (SCT_BOARD, f"v1:emx:m:{odd}"),
            (SCT_BOARD, f"v1:emx:lp:{odd}"),
            (SCT_BOARD, f"v1:emx:r:{odd}:d"),
            (SCT_BOARD, f"v1:etp:u:{odd}"),
            (SCT_BOARD, f"v1:etd:p:{odd}"),
            (SCT_BOARD, f"v1:etd:r:{odd}:d"),
            (SCT_BOARD, f"v1:etp:lp:{odd}"),
        ]:
            out = await quiet(world, user, caplog, payload=payload)
            assert says(out, "button.outdated"), (payload, out)


# --- dates, times and durations typed in a dialog -----------------------------------------------
NOW = datetime.fromisoformat("2026-11-23T02:00:00+00:00")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize("typed", ["9" * 20 + " phút", "9999999999 giờ", "1" * 400 + " tiếng"])
def test_huge_durations_are_refused_not_overflowing(typed: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        timeparse.parse_duration_or_end(typed, start=NOW, tz=TZ)
    assert bad.value.key == "invalid.datetime.too_long"


@pytest.mark.parametrize(
    ("parse", "typed"),
    [
        (lambda s: timeparse.parse_local_datetime(s, now=NOW, tz=TZ), "25/11 ٣h"),
        (lambda s: timeparse.parse_local_datetime(s, now=NOW, tz=TZ), "٢٥/١١ 14h"),
        (lambda s: timeparse.parse_duration_or_end(s, start=NOW, tz=TZ), "٣ tiếng"),
        (lambda s: timeparse.parse_offsets(s), "٣ giờ"),
        (lambda s: timeparse.parse_offsets(s), "１ ngày"),
    ],
)
def test_dates_and_durations_want_ascii_digits(parse: Any, typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse(typed)


async def test_huge_duration_typed_when_planning_a_meeting(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await world.say(SCT_BOARD, "/hop")
    await world.press(SCT_BOARD, "v1:mk:kind:to")
    await world.press(SCT_BOARD, "v1:mk:title")
    await world.say(SCT_BOARD, "25/11/2026 14h")
    for typed in ("9" * 20 + " phút", "9999999999 giờ", "٣ tiếng"):
        out = await world.say(SCT_BOARD, typed)
        assert_no_crash(out, caplog)
        assert says(out, "mt.ask.end"), out  # asked again


@pytest.mark.parametrize("odd", ["٣", "²", str(2**70), "0"])
def test_member_number_given_to_the_cli(odd: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`congdoan roles grant --member ٣` is refused by the argument parser, like `--member x`
    (int() would read "٣" as 3, and 2^70 would overflow the database)."""
    from bot.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["roles", "grant", "--member", odd, "--role", "bch", "--unit", "SCT"])
    assert stopped.value.code == 2 and "--member" in capsys.readouterr().err
