"""Generated forged presses, for every dialog: each stage below drives the bot (in the console)
to a step, takes the buttons it offered there, and presses variants of them it never offered:
a part replaced by garbage, digits that are not ASCII ("²", "٣", "１") or too big for any id,
an extra part. Seeded (the same set on every run), a dozen per stage, so the whole run
takes a few seconds. Each press must not crash (no apology, nothing logged at ERROR), gets a polite
answer, and changes nothing in the database."""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.app import App
from tests.conftest import ConsoleUser
from tests.world import (
    MEMBER_A,
    MEMBER_B,
    SCT_BOARD,
    SXD_BOARD,
    World,
    assert_no_crash,
    build,
    changed_tables,
    says,
)

POLITE = (
    "button.outdated",
    "reg.session_over",
    "bc.session_over",
    "mt.session_over",
    "emu.session_over",
    "poll.session_over",
)
# Never a valid part anywhere (short words like "x" or "-" are: "pr:x" exports, "mk:off:-").
GARBAGE = ["", "zz", "💥", "null", "%s", "../x", "a b", "ĐƯỢC", "true", "0xff", "v1"]
PAYLOAD_CASES, DIGIT_CASES = 8, 6

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def odd_digits(number: str) -> list[str]:
    """The same number written in ways `str.isdigit()` accepts and the bot must not, and
    numbers no id or page can be."""
    return [
        number.translate(_SUPERSCRIPT),
        number.translate(_ARABIC),
        number.translate(_FULLWIDTH),
        number.translate(_DEVANAGARI),
        "".join(chr(0x1D7CE + int(d)) for d in number),  # mathematical bold digits
        f"-{number}",
        f"+{number}",
        f" {number}",
        f"{number}.0",
        str(2**63 + int(number)),
        "9" * 40,
    ]


def variants(offered: list[str]) -> tuple[list[str], list[str]]:
    """(garbage in a part or an extra part, odd digits in a numeric part) of the payloads
    offered; never one of those offered."""
    garbage: set[str] = set()
    digits: set[str] = set()
    for payload in offered:
        parts = payload.split(":")
        garbage.add("v2:" + ":".join(parts[1:]))
        for index in range(1, len(parts)):
            for bad in GARBAGE:
                garbage.add(":".join([*parts[:index], bad, *parts[index + 1 :]]))
            if parts[index].isascii() and parts[index].isdigit():
                for odd in odd_digits(parts[index]):
                    digits.add(":".join([*parts[:index], odd, *parts[index + 1 :]]))
        garbage.add(f"{payload}:{random.Random(payload).choice(GARBAGE)}")
    mine = set(offered)
    return sorted(garbage - mine), sorted(digits - mine)


@dataclass(frozen=True)
class Stage:
    name: str
    user: str
    # Drives the bot to the step; returns payloads to vary besides those shown (buttons sent
    # earlier, or to someone else).
    reach: Callable[[World], Awaitable[list[str]]]


async def _typed(w: World, user: str, *lines: str) -> list[str]:
    for line in lines:
        await w.say(user, line)
    return []


async def _pressed(w: World, user: str, *payloads: str) -> list[str]:
    for payload in payloads:
        await w.press(user, payload)
    return []


async def meeting_to(w: World, step: str) -> list[str]:
    """/hop up to `step`, each step reached by the action before it."""
    reach = [
        ("title", "v1:mk:kind:to"),
        ("start", "v1:mk:title"),
        ("end", "25/11/2026 14h"),
        ("place", "v1:mk:dur:120"),
        ("agenda", "Phòng họp"),
        ("unit", "v1:mk:noagenda"),
        ("audience", f"v1:mk:unit:{w.ids['sct_vp']}"),
        ("offsets", "v1:mk:aud:all"),
        ("repeat", "v1:mk:off:1440,60"),
        ("confirm", "v1:mk:rep:-"),
    ]
    await w.say(SCT_BOARD, "/hop")
    for name, action in reach:
        if step == "kind":
            break
        if action.startswith("v1:"):
            await w.press(SCT_BOARD, action)
        else:
            await w.say(SCT_BOARD, action)
        if name == step:
            break
    return []


async def broadcast_to(w: World, step: str) -> list[str]:
    await _typed(w, SCT_BOARD, "/thongbao", "Họp toàn thể chiều thứ Sáu")
    if step == "unit":
        return []
    await w.press(SCT_BOARD, f"v1:bc:unit:{w.ids['sct']}")
    if step == "audience":
        return []
    await w.press(SCT_BOARD, "v1:bc:aud:groups" if step == "pin" else "v1:bc:aud:all")
    if step == "when":
        return []
    if step == "repeat":
        await w.press(SCT_BOARD, "v1:bc:later")
        await w.say(SCT_BOARD, "mai 8h")
        return []
    await w.press(SCT_BOARD, "v1:bc:now")
    return []


async def poll_to(w: World, step: str) -> list[str]:
    await w.say(SCT_BOARD, "/binhchon Đi tham quan ở đâu? | Biển | Núi")
    if step == "card":
        return []
    card = next(p for p in w.offered(SCT_BOARD) if p.endswith(":anon")).split(":")[2]
    if step == "deadline":
        await w.press(SCT_BOARD, f"v1:pl:{card}:dl")
        return []
    await w.press(SCT_BOARD, f"v1:pl:{card}:to")
    if step == "audience":
        await w.press(SCT_BOARD, f"v1:pl:{card}:u:{w.ids['sct']}")
    return []


async def registration_to(w: World, user: str, step: str) -> list[str]:
    if step == "unit":
        return await _typed(w, user, "/dangky")
    if step == "browse":
        return await _typed(w, user, "/dangky SCT")
    await _typed(w, user, "/dangky SCT-VP", "Nguyễn Thị Mới")
    if step == "gender":
        return []
    await _typed(w, user, "nữ", "05/09/1990", "0912 000 111", "Chuyên viên", "79123999")
    await w.say(user, "01/06/2015")
    if step == "edit":
        await w.press(user, "v1:reg:edit")
    return []


async def quanlyhop_to(w: World, step: str) -> list[str]:
    meeting = w.ids["meeting"]
    if step == "attendance":  # ten minutes before the meeting: the sheet can be filled in
        async with w.app.db.session() as session:
            from models.meetings import Meeting

            row = await session.get(Meeting, meeting)
            assert row is not None
            start = row.starts_at
        w.app.clock.set(start - timedelta(minutes=10))  # type: ignore[attr-defined]
    await w.say(SCT_BOARD, "/quanlyhop")
    if step == "list":
        return []
    await w.press(SCT_BOARD, f"v1:mm:v:{meeting}")
    if step == "attendance":
        await w.press(SCT_BOARD, f"v1:mm:att:{meeting}")
    return []


async def campaign_open_to(w: World, step: str) -> list[str]:
    await w.say(SXD_BOARD, "/thidua_mo")
    if step == "year":
        return []
    await w.press(SXD_BOARD, "v1:emo:year:2027")
    await w.say(SXD_BOARD, "31/01/2027")
    if step == "titles":
        return []
    await w.press(SXD_BOARD, "v1:emo:preview")
    return []


def review_payloads(w: World) -> list[str]:
    return [f"v1:emr:{w.ids['pledge']}:d", f"v1:emr:{w.ids['pledge']}:c", "v1:emrn"]


STAGES = [
    Stage("menu", MEMBER_A, lambda w: _typed(w, MEMBER_A, "/menu")),
    Stage("language", MEMBER_A, lambda w: _typed(w, MEMBER_A, "/ngonngu")),
    Stage("profile", MEMBER_A, lambda w: _typed(w, MEMBER_A, "/hoso")),
    Stage("profile gender", MEMBER_A, lambda w: _pressed(w, MEMBER_A, "v1:prof:gender")),
    Stage("registration unit", "5001", lambda w: registration_to(w, "5001", "unit")),
    Stage("registration browse", "5002", lambda w: registration_to(w, "5002", "browse")),
    Stage("registration gender", "5003", lambda w: registration_to(w, "5003", "gender")),
    Stage("registration confirm", "5004", lambda w: registration_to(w, "5004", "confirm")),
    Stage("registration edit", "5005", lambda w: registration_to(w, "5005", "edit")),
    Stage("approval", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/choduyet")),
    Stage(
        "rejection reason",
        SCT_BOARD,
        lambda w: _pressed(w, SCT_BOARD, f"v1:appr:no:{w.ids['waiting']}"),
    ),
    Stage("member list", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/doanvien")),
    Stage("member search", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/timkiem nguyen")),
    Stage("member card", SCT_BOARD, lambda w: _pressed(w, SCT_BOARD, f"v1:mem:v:{w.ids['a']}")),
    Stage(
        "gone member card", SCT_BOARD, lambda w: _pressed(w, SCT_BOARD, f"v1:mem:v:{w.ids['gone']}")
    ),
    Stage("move member", SCT_BOARD, lambda w: _pressed(w, SCT_BOARD, f"v1:mbr:move:{w.ids['a']}")),
    *(
        Stage(f"meeting {s}", SCT_BOARD, lambda w, s=s: meeting_to(w, s))
        for s in (
            "kind",
            "title",
            "end",
            "agenda",
            "unit",
            "audience",
            "offsets",
            "repeat",
            "confirm",
        )
    ),
    *(
        Stage(f"broadcast {s}", SCT_BOARD, lambda w, s=s: broadcast_to(w, s))
        for s in ("unit", "audience", "when", "repeat", "pin")
    ),
    *(
        Stage(f"poll {s}", SCT_BOARD, lambda w, s=s: poll_to(w, s))
        for s in ("card", "deadline", "unit", "audience")
    ),
    Stage("meetings of a member", MEMBER_A, lambda w: _typed(w, MEMBER_A, "/lichhop")),
    Stage("answer no", MEMBER_A, lambda w: _pressed(w, MEMBER_A, f"v1:rsvp:{w.ids['meeting']}:n")),
    Stage("minutes", MEMBER_A, lambda w: _returning([f"v1:mins:{w.ids['meeting']}"])),
    *(
        Stage(f"organiser {s}", SCT_BOARD, lambda w, s=s: quanlyhop_to(w, s))
        for s in ("list", "status")
    ),
    Stage("poll results", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/ketqua")),
    Stage(
        "poll results of one",
        SCT_BOARD,
        lambda w: _typed(w, SCT_BOARD, f"/ketqua {w.ids['poll']}"),
    ),
    Stage(
        "jobs",
        SCT_BOARD,
        lambda w: _returning(
            ["v1:bcl:0", f"v1:job:stop:{w.ids['job']}", f"v1:job:who:{w.ids['job']}"]
        ),
    ),
    *(
        Stage(f"campaign {s}", SXD_BOARD, lambda w, s=s: campaign_open_to(w, s))
        for s in ("year", "titles", "confirm")
    ),
    Stage("pledge", MEMBER_B, lambda w: _typed(w, MEMBER_B, "/thidua")),
    Stage("campaign edit", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/thidua_sua")),
    Stage(
        "campaign edit titles",
        SCT_BOARD,
        lambda w: _typed(w, SCT_BOARD, "/thidua_sua", "2"),
    ),
    Stage("review list", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/thidua_xet")),
    Stage("review card", SCT_BOARD, lambda w: _pressed(w, SCT_BOARD, f"v1:emx:m:{w.ids['a']}")),
    Stage("collective review", SCT_BOARD, lambda w: _pressed(w, SCT_BOARD, "v1:emx:units")),
    Stage("collective pick", SCT_BOARD, lambda w: _typed(w, SCT_BOARD, "/thidua_tapthe")),
    Stage(
        "collective unit",
        SCT_BOARD,
        lambda w: _pressed(w, SCT_BOARD, f"v1:etp:u:{w.ids['sct_vp']}"),
    ),
    Stage("self review", MEMBER_A, lambda w: _returning(review_payloads(w))),
    # last: moves the clock to the meeting
    Stage("organiser attendance", SCT_BOARD, lambda w: quanlyhop_to(w, "attendance")),
]


async def _returning(payloads: list[str]) -> list[str]:
    return payloads


@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    return await build(app, console)


async def test_forged_presses_in_every_dialog(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pressed = 0
    for stage in STAGES:
        world.console.adapter._choices.pop(stage.user, None)
        extra = await stage.reach(world)
        caplog.clear()  # what reaching the step logged is not under test
        offered = [*world.offered(stage.user), *extra]
        assert offered, f"{stage.name}: no buttons offered"
        garbage, digits = variants(offered)
        rng = random.Random(zlib.crc32(stage.name.encode()))
        cases = rng.sample(garbage, min(PAYLOAD_CASES, len(garbage)))
        cases += rng.sample(digits, min(DIGIT_CASES, len(digits)))
        before = await world.snapshot()
        for payload in cases:
            out = await world.press(stage.user, payload)
            assert_no_crash(out, caplog)
            assert any(says(out, key) for key in POLITE), (stage.name, payload, out)
            after = await world.snapshot()
            assert changed_tables(before, after) == [], (stage.name, payload)
            before = after
            pressed += 1
        await world.say(stage.user, "/huy")  # the next stage starts afresh
    assert pressed > 400


def typed_digits(choices: int, rng: random.Random) -> list[str]:
    """Odd spellings of the numbers a person might type at a step: the choices shown (and one
    past them), a multi-select reply, and a date or a duration."""
    numbers = [str(n) for n in range(1, choices + 2)]
    spelled = {odd for n in numbers for odd in odd_digits(n)}
    spelled |= {f"1,{odd}" for odd in odd_digits("2")}
    spelled |= {f"{odd}/11/2026 14h" for odd in odd_digits("25")[:4]}
    spelled |= {f"{odd} tiếng" for odd in odd_digits("2")[:4]}
    return rng.sample(sorted(spelled), min(TYPED_CASES, len(spelled)))


TYPED_CASES = 6


async def test_odd_digits_typed_in_every_dialog(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The same steps, with odd digits typed instead of pressed: the console and Zalo read a
    typed number as a choice, and dates and durations are typed, so «٣», «²⁵/11», «2⁶³» must
    be wrong input like any other text, never a crash."""
    caplog.set_level(logging.WARNING)
    typed = 0
    for stage in STAGES:
        world.console.adapter._choices.pop(stage.user, None)
        await stage.reach(world)
        caplog.clear()
        rng = random.Random(zlib.crc32(b"typed " + stage.name.encode()))
        for line in typed_digits(len(world.offered(stage.user)), rng):
            out = await world.say(stage.user, line)
            assert_no_crash(out, caplog)
            assert out.strip(), (stage.name, line)
            typed += 1
        await world.say(stage.user, "/huy")
    assert typed > 250
