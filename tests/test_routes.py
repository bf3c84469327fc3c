"""The route table (`congdoan routes`): every command, button prefix and flow once, with its
access rule and the feature module that handles it."""

from __future__ import annotations

import re

import pytest

from bot import cli
from bot.registry import Registry


async def _noop(ctx: object) -> None:
    return None


def test_routes_list_every_entry_with_its_access_and_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["routes"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    rows = [re.split(r"\s+", line.strip(), maxsplit=4) for line in lines]
    by_name = {
        (kind, name): (access, where, handler) for kind, name, access, where, handler in rows
    }
    assert by_name[("command", "/thongbao")][:2] == ("board", "private")
    assert by_name[("command", "/thongbao")][2].startswith("handlers.broadcasts.compose.")
    assert by_name[("button", "bc")][0] == "board"
    assert by_name[("button", "mm")][2].startswith("handlers.meetings.manage.")
    # names are unique per kind, and every handler lives in a feature package or module
    assert len(by_name) == len(rows)
    assert all(handler.startswith("handlers.") for *_, handler in rows)


@pytest.mark.parametrize(
    "register",
    [
        lambda r: (r.button("bc")(_noop), r.button("bc")(_noop)),
        lambda r: (r.command("hop")(_noop), r.command("hop")(_noop)),
        lambda r: (r.flow("broadcast")(_noop), r.flow("broadcast")(_noop)),
    ],
)
def test_a_name_cannot_be_claimed_twice(register: object) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register(Registry())  # type: ignore[operator]
