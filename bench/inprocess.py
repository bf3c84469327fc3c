"""The bot's own CPU per update, without any network: `App.handle` fed events from console users.

    .venv/bin/python -m bench.inprocess [--people 100] [--repeats 300]

Prints the CPU (time.process_time) per `/trogiup` from a known person, and per step of the
registration dialog (/dangky, the unit, name, gender, birth date, phone, job, card number, date
joined, "send"), on a temporary SQLite file. Compare with bench/intake.py, which adds
python-telegram-bot's intake and the replies' HTTP round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.chat import Event
from bot.config import parse_settings
from bot.registry import payload
from bot.runtime import build_app

UNITS = [
    {"code": "BM", "name": "Công đoàn cơ sở Benchmark", "kind": "cdcs"},
    {"code": "BM-VP", "name": "Tổ công đoàn Văn phòng", "kind": "to", "parent": "BM"},
]
STEPS = ["/dangky", "unit", "name", "gender", "born", "phone", "job", "card", "joined", "send"]


def _event(user: int, *, text: str | None = None, press: str | None = None) -> Event:
    command = text[1:] if text and text.startswith("/") else None
    return Event(
        platform="console",
        event_id=uuid.uuid4().hex,
        chat_id=str(user),
        chat_kind="private",
        user_id=str(user),
        user_name="Người thử",
        text=text,
        command=command,
        payload=press,
    )


def _registration(person: int) -> list[Event]:
    user = 100_000 + person
    born = date(1970 + person % 30, 1 + person % 12, 1 + person % 28)
    return [
        _event(user, text="/dangky"),
        _event(user, text="BM-VP"),
        _event(user, text="Nguyễn Văn An"),
        _event(user, press=payload("reg", "g", "nam")),
        _event(user, text=born.strftime("%d/%m/%Y")),
        _event(user, text=f"09{person:08d}"),
        _event(user, text="Kế toán viên"),
        _event(user, text=f"79{person:08d}"),
        _event(user, text="01/06/2015"),
        _event(user, press=payload("reg", "yes")),
    ]


async def _cpu_of(app: App, event: Event) -> float:
    started = time.process_time()
    await app.handle(event)
    return time.process_time() - started


async def run(people: int, repeats: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="congdoan-inprocess-"))
    settings = parse_settings(
        {"database": {"url": f"sqlite+aiosqlite:///{workdir}/bench.db"}, "units": UNITS}
    )
    app = await build_app(settings)
    app.add_adapter(ConsoleAdapter(app, "1", "Bench", out=io.StringIO(), export_dir=workdir))
    try:
        for _ in range(5):  # warm-up: imports, caches, the person's identity
            await app.handle(_event(1, text="/trogiup"))
        help_cpu = [await _cpu_of(app, _event(1, text="/trogiup")) for _ in range(repeats)]
        steps = [0.0] * len(STEPS)
        for person in range(people):
            for index, event in enumerate(_registration(person)):
                steps[index] += await _cpu_of(app, event)
    finally:
        await app.db.dispose()
    print(f"/trogiup: {1000 * sum(help_cpu) / len(help_cpu):.2f} ms CPU ({repeats} times)")
    print(f"registration, {people} people:")
    for name, total in zip(STEPS, steps, strict=True):
        print(f"  {name:8} {1000 * total / people:6.2f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100, help="people who register")
    parser.add_argument("--repeats", type=int, default=300, help="/trogiup sent this many times")
    args = parser.parse_args()
    asyncio.run(run(args.people, args.repeats))


if __name__ == "__main__":
    main()
