"""Board rights end at the union's own subtree: the board of CĐCS SXD presses every board-only
button of CĐCS SCT (forged payloads with guessed ids) and each one is refused, logged as
access_denied, and changes nothing."""

from __future__ import annotations

import logging

import pytest

from bot.app import App
from handlers import registry
from tests.conftest import ConsoleUser
from tests.world import (
    SCT_BOARD,
    SECRET_MINUTES,
    SXD_BOARD,
    World,
    assert_no_crash,
    build,
    changed_tables,
)

# What another union's board must never read in an answer.
SCT_ONLY = [
    SECRET_MINUTES,
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Đỗ Văn Chờ",
    "0911 111 111",
    "Chọn ngày tham quan",
    "Thông báo số 1 của SCT",
]


def sct_objects(w: World) -> list[str]:
    """Every board-only press that names an object of SCT (a member, a request, a job, a
    meeting, a poll, a pledge, a unit, a request to join a group)."""
    i, c = w.ids, w.codes
    meeting, poll = i["meeting"], i["poll"]
    return [
        f"v1:appr:ok:{i['waiting']}",
        f"v1:appr:no:{i['waiting']}",
        f"v1:mbr:move:{i['a']}",
        f"v1:mbr:mvp:{i['a']}:1",
        f"v1:mbr:mva:{i['a']}",
        f"v1:mbr:to:{i['a']}:{i['sxd_vp']}",
        f"v1:mbr:to:{i['a']}:{i['sct_kt']}",
        f"v1:mbr:left:{i['a']}",
        f"v1:mbr:leftok:{i['a']}",
        f"v1:mbr:back:{i['gone']}",
        f"v1:mem:v:{i['a']}",
        f"v1:job:stop:{i['job']}",
        f"v1:job:who:{i['job']}",
        f"v1:emx:m:{i['a']}",
        f"v1:emx:r:{i['pledge']}:d",
        f"v1:emx:r:{i['pledge']}:c",
        f"v1:etd:r:{i['unit_pledge']}:d",
        f"v1:etd:r:{i['unit_pledge']}:c",
        f"v1:etp:u:{i['sct_vp']}",
        f"v1:etp:t:{i['sct_vp']}:{c['collective']}",
        *(f"v1:pr:{act}:{poll}" for act in ("who", "miss", "n", "x", "c")),
        *(
            f"v1:mm:{act}:{meeting}"
            for act in ("v", "nudge", "resched", "cancel", "cancelok", "att", "mins", "atta")
        ),
        f"v1:mm:att:{meeting}:0",
        f"v1:mm:mark:{meeting}:{i['a']}:0",
        f"v1:mins:{meeting}",
        f"v1:jr:ok:{i['join']}",
        f"v1:jr:no:{i['join']}",
    ]


# Board-only presses that carry no object id: they only ever act on the presser's own union
# (their own list pages, their own dialog), so there is nothing of SCT to refuse; they must
# show nothing of SCT and change nothing of it.
OWN_SCOPE = [
    "v1:bcl:0",
    "v1:rej:cancel",
    "v1:emo:year:2027",
    "v1:eme:titles",
    "v1:emx:lp:0",
    "v1:emx:la",
    "v1:emx:units",
    "v1:mem:p:1",
    "v1:etd:p:0",
]


@pytest.fixture
async def world(app: App, console: ConsoleUser) -> World:
    w = await build(app, console)
    await w.say(SXD_BOARD, "/toi")  # the board of SXD has talked to the bot before
    return w


async def refused(w: World, payload: str, caplog: pytest.LogCaptureFixture) -> str:
    before, denied = await w.snapshot(), await w.denials(f"console:{SXD_BOARD}")
    out = await w.press(SXD_BOARD, payload)
    assert_no_crash(out, caplog)
    leaked = [s for s in SCT_ONLY if s in out]
    assert not leaked, (payload, leaked, out)
    assert await w.denials(f"console:{SXD_BOARD}") == denied + 1, (payload, out)
    assert changed_tables(before, await w.snapshot()) == [], payload
    return out


async def test_every_board_press_on_another_unions_object_is_refused_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for payload in sct_objects(world):
        await refused(world, payload, caplog)


async def test_board_presses_inside_own_dialogs_refuse_another_unions_unit(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    w, i = world, world.ids
    # an announcement: the unit picker of SXD, then SCT's tổ forged in
    await w.say(SXD_BOARD, "/thongbao")
    out = await w.say(SXD_BOARD, "Họp toàn thể chiều nay")
    assert "Sở Xây dựng" in out
    await refused(w, f"v1:bc:unit:{i['sct_vp']}", caplog)
    await refused(w, f"v1:bc:unit:{i['sct']}", caplog)
    await w.say(SXD_BOARD, "/huy")
    # a meeting: up to the unit step
    await w.say(SXD_BOARD, "/hop")
    await w.say(SXD_BOARD, "1")  # the first kind
    await w.say(SXD_BOARD, "1")  # the suggested title
    await w.say(SXD_BOARD, "25/11/2026 14h")
    await w.say(SXD_BOARD, "2 tiếng")
    await w.say(SXD_BOARD, "Phòng họp SXD")
    out = await w.say(SXD_BOARD, "Bàn kế hoạch")
    assert "đơn vị nào" in out
    await refused(w, f"v1:mk:unit:{i['sct_vp']}", caplog)
    await w.say(SXD_BOARD, "/huy")
    # a poll card: SCT as the target
    await w.say(SXD_BOARD, "/binhchon Đi đâu? | Biển | Núi")
    card = next(p for p in w.offered(SXD_BOARD) if p.endswith(":anon")).split(":")[2]
    await refused(w, f"v1:pl:{card}:u:{i['sct']}", caplog)
    await refused(w, f"v1:pl:{card}:u:{i['sct_vp']}", caplog)


async def test_board_presses_without_an_object_stay_in_the_own_union(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for payload in OWN_SCOPE:
        before = await world.snapshot()
        out = await world.press(SXD_BOARD, payload)
        assert_no_crash(out, caplog)
        assert not [s for s in SCT_ONLY if s in out], (payload, out)
        assert changed_tables(before, await world.snapshot()) == [], payload


def test_the_matrix_covers_every_board_prefix() -> None:
    """A new board-only prefix must join the matrix above."""
    board = {prefix for prefix, (_, access) in registry.buttons.items() if access == "board"}
    covered = {p.split(":")[1] for p in OWN_SCOPE}
    covered |= {p.split(":")[1] for p in sct_objects(_FakeWorld())}  # type: ignore[arg-type]
    covered |= {"bc"}  # pressed inside the presser's own dialog, above
    assert board <= covered, board - covered


class _FakeWorld:
    ids = {k: 1 for k in ("meeting", "poll", "waiting", "a", "sxd_vp", "sct_kt", "gone", "job")}
    ids |= {"pledge": 1, "unit_pledge": 1, "sct_vp": 1, "sct": 1, "join": 1}
    codes = {"collective": "X", "individual": "Y"}


async def test_the_unions_own_board_still_reads_its_minutes(world: World) -> None:
    """Not invited, but on the board of the meeting's CĐCS: the minutes are theirs to read."""
    out = await world.press(SCT_BOARD, f"v1:mins:{world.ids['meeting']}")
    assert SECRET_MINUTES in out
    assert await world.denials(f"console:{SCT_BOARD}") == 0
