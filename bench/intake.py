"""Intake benchmark: how fast and how reliably `congdoan run` answers people.

    .venv/bin/python -m bench.intake                       # all four parts, ~6 minutes
    .venv/bin/python -m bench.intake --only throughput --updates 2000
    .venv/bin/python -m bench.intake --only fanout,startup --recipients 100000

One stand-in Bot API server runs on 127.0.0.1 (bench/botapi_standin.py). Against it, each as
a real subprocess with its own token:

throughput  a bare python-telegram-bot echo bot (bench/echo_bot.py), sequential and with
            concurrent_updates(256), and the sequential echo writing each update as one row
            through SQLModel (the least a bot that keeps what it hears can do with this
            stack), then `congdoan run` (temporary config and SQLite file):
            bursts of N updates queued at once — registration dialog steps (/dangky …, many
            new people, each step a separate update), /trogiup and /lichhop from members —
            and the ratio congdoan / each echo.
latency     registration steps at a steady rate (40 updates/s): p50/p99/max from the moment
            an update is queued at the server to the arrival of the bot's answer.
fanout      a board member walks through /thongbao to the whole CĐCS (100,000 members seeded
            straight into SQLite); the moment they confirm, 500 people start registering and
            100 members ask /trogiup. Time to answer the preview and the confirm, time until
            all outbox rows are queued, updates never answered, the bot's peak RSS.
startup     time from starting `congdoan run` to its first answer, with an empty outbox and
            with 100,000 queued outbox rows.

An update counts as answered when the bot's message with the expected text (the next step's
question, the help…) arrives; known side messages (the "phone saved" note, the share-phone
keyboard, broadcast deliveries) are skipped. The bot's pace limits are raised to the config
maximum (`--pace`) so that its rate limiter, not its speed, does not set the figures; the
stand-in enforces no flood limits. Everything stops by itself; each wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.botapi_standin import (  # noqa: E402
    BotApiStandIn,
    Queued,
    Sent,
    press_update,
    text_update,
)

PARTS = ("throughput", "latency", "fanout", "startup")
# The anchors of part (a): label, concurrent_updates (0: sequential), one SQLModel write each.
ECHOES = [
    ("sequential", 0, False),
    ("concurrent_updates(256)", 256, False),
    ("sequential + 1 SQLModel write", 0, True),
]
BOARD = 900  # telegram:900 is a config admin: the board everywhere
MEMBER_BASE = 10_000_000  # chat ids of the seeded members
NEWCOMER_BASE = 50_000_000  # chat ids of people who register during the run
UNITS = [
    ("BENCH", "Công đoàn cơ sở Benchmark", "cdcs", ""),
    ("BENCH-VP", "Tổ công đoàn Văn phòng", "to", "BENCH"),
    ("BENCH-KT", "Tổ công đoàn Kỹ thuật", "to", "BENCH"),
    ("BENCH-TM", "Tổ công đoàn Thương mại", "to", "BENCH"),
]
LEAVES = [code for code, _, kind, _ in UNITS if kind == "to"]
BROADCAST_TEXT = "Họp toàn thể đoàn viên lúc 14:00 thứ Sáu tại hội trường tầng 3."
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Ngọc", "Quốc", "Thanh", "Hữu", "Kim"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phúc"]
GIVEN += ["Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến", "Hạnh", "Khoa", "Linh"]
JOBS = ["Chuyên viên phòng Kế hoạch", "Kế toán viên", "Kỹ sư an toàn", "Nhân viên văn thư"]


# --- what the bot is expected to say ------------------------------------------------------------
class Texts:
    """Expected answers as fragments of the bot's own message catalog (so a reworded message
    does not break the benchmark): the longest literal part of each template."""

    def __init__(self) -> None:
        from zoneinfo import ZoneInfo

        from bot.i18n import VI, Translator

        self.catalog = VI
        self.t = Translator("vi", ZoneInfo("Asia/Ho_Chi_Minh"))
        self.missing: set[str] = set()

    def fragment(self, key: str) -> str | None:
        template = self.catalog.get(key)
        if template is None:
            return None
        literals = [lit for lit, *_ in string.Formatter().parse(template)]
        return max(literals, key=len).strip() or None

    def expect(self, *keys: str) -> tuple[str, ...]:
        """Any of these messages; () (anything) when none of the keys exists any more."""
        found = tuple(f for f in (self.fragment(k) for k in keys) if f)
        if not found:
            self.missing.update(keys)
        return found


# --- matching answers to updates ---------------------------------------------------------------
@dataclass
class Expect:
    chat: int
    markers: tuple[str, ...]  # the answer contains one of these; () = any message
    queued: Queued
    answered_at: float | None = None
    outcome: str = ""  # "ok", "apology" (the bot's error message) or "unexpected"
    text: str = ""

    @property
    def latency(self) -> float:
        assert self.answered_at is not None
        return self.answered_at - self.queued.queued_at


class Tracker:
    """Per chat, the updates waiting for an answer, oldest first. A message that is neither
    the expected answer nor a known side message answers the oldest one as "unexpected"
    (so a dropped update shows as exactly one unanswered update, not a broken chain)."""

    def __init__(self, apology: tuple[str, ...], side: tuple[str, ...]) -> None:
        self.apology, self.side = apology, side
        self.pending: dict[int, deque[Expect]] = {}
        self.side_messages = 0
        self.overtaken = 0
        self.untracked = 0
        self.last_answer = 0.0
        self.markups: dict[int, tuple[int, str]] = {}  # chat -> (message id, markup) of last
        self.watched: set[int] = set()  # chats whose inline keyboards are kept

    def expect(self, chat: int, markers: tuple[str, ...], queued: Queued) -> Expect:
        item = Expect(chat, markers, queued)
        self.pending.setdefault(chat, deque()).append(item)
        return item

    def on_sent(self, sent: Sent) -> None:
        if (
            sent.chat_id in self.watched
            and sent.reply_markup
            and "inline_keyboard" in (sent.reply_markup)
        ):
            self.markups[sent.chat_id] = (sent.message_id, sent.reply_markup)
        waiting = self.pending.get(sent.chat_id)
        if not waiting:
            self.untracked += 1  # a broadcast delivery, a progress message…
            return
        text = sent.text
        # Replies to one person's updates can overtake each other (a burst sends step k+1
        # before the answer to step k is out): the oldest update this message answers.
        found = next(
            (i for i in waiting if not i.markers or any(m in text for m in i.markers)), None
        )
        if found is not None and found is not waiting[0]:
            self.overtaken += 1
        if found is None:
            if any(s in text for s in self.side):
                self.side_messages += 1
                return
            found = waiting[0]
            found.outcome = "apology" if any(a in text for a in self.apology) else "unexpected"
        waiting.remove(found)
        if not waiting:
            del self.pending[sent.chat_id]
        found.answered_at, found.outcome = sent.at, found.outcome or "ok"
        found.text = text
        self.last_answer = sent.at

    def find_button(self, chat: int, *, data_suffix: str = "", label: str = "") -> str | None:
        """The callback data of the button in `chat`'s last keyboard whose data ends with
        `data_suffix` and whose label contains `label`."""
        _, markup = self.markups.get(chat, (0, '{"inline_keyboard": []}'))
        for row in json.loads(markup)["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data") or ""
                if data and data.endswith(data_suffix) and label in button.get("text", ""):
                    return str(data)
        return None

    def button(self, chat: int, data_suffix: str) -> str:
        data = self.find_button(chat, data_suffix=data_suffix)
        if data is None:
            raise RuntimeError(f"no button …{data_suffix} in the last keyboard sent to {chat}")
        return data

    async def wait(self, items: Sequence[Expect], *, timeout: float, idle: float) -> None:
        """Until every item is answered, or nothing was answered for `idle` seconds, or
        `timeout` seconds passed."""
        started = time.monotonic()
        while any(i.answered_at is None for i in items):
            now = time.monotonic()
            if now - started > timeout or now - max(self.last_answer, started) > idle:
                return
            await asyncio.sleep(0.02)


# --- the processes under test -----------------------------------------------------------------
class BotProcess:
    """A bot as a real subprocess, its output in a log file; CPU time and peak RSS read
    from /proc."""

    def __init__(self, name: str, cmd: list[str], workdir: Path) -> None:
        self.name, self.cmd, self.workdir = name, cmd, workdir
        self.log = workdir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDOAN_")}
        env |= {"PYTHONPATH": str(ROOT), "PTB_TIMEDELTA": "1", "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.started_at = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(
                *self.cmd, cwd=self.workdir, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def log_count(self, *needles: str) -> int:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return 0
        return sum(1 for line in text.splitlines() if all(n in line for n in needles))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, grace: float = 15.0) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def congdoan_command(config: Path, *args: str) -> list[str]:
    script = Path(sys.executable).parent / "congdoan"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return [*head, "--config", str(config), *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and numbers are TOML too


def write_config(path: Path, token: str, server: BotApiStandIn, db: Path, pace: int) -> None:
    lines = [
        "[bot]",
        f"admins = {_toml([f'telegram:{BOARD}'])}",
        "[database]",
        f"url = {_toml(f'sqlite+aiosqlite:///{db}')}",
        "[telegram]",
        f"token = {_toml(token)}",
        f"base_url = {_toml(server.base_url)}",
        f"base_file_url = {_toml(server.base_file_url)}",
        'mode = "polling"',
        "[web]",
        'listen = "127.0.0.1"',
        f"port = {_free_port()}",
        "[delivery.telegram]",
        f"messages_per_second = {pace}",
        "per_chat_per_second = 100",
        "per_group_per_minute = 1000",
    ]
    for code, name, kind, parent in UNITS:
        lines += ["[[units]]", f"code = {_toml(code)}", f"name = {_toml(name)}"]
        lines += [f"kind = {_toml(kind)}", f"parent = {_toml(parent)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def person_name(i: int) -> str:
    return (
        f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 11) % len(MIDDLE)]} "
        f"{GIVEN[(i // 110) % len(GIVEN)]}"
    )


def seed(db: Path, members: int, outbox_rows: int) -> None:
    """Active members with Telegram identities (chat ids MEMBER_BASE + i), and optionally one
    broadcast job with `outbox_rows` queued rows, by bulk inserts on the models' tables."""
    from sqlalchemy import create_engine, func, insert, select
    from sqlmodel import SQLModel

    import models.members
    import models.outbox
    import models.units  # noqa: F401  (the tables register on import)
    from bot.textutil import search_key

    tables = SQLModel.metadata.tables
    engine = create_engine(f"sqlite:///{db}")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        unit_ids = dict(conn.execute(select(tables["units"].c.code, tables["units"].c.id)).all())
        leaves = [unit_ids[code] for code in LEAVES]
        first = int(conn.execute(select(func.max(tables["members"].c.id))).scalar() or 0) + 1
        for start in range(0, members, 10_000):
            batch = range(start, min(start + 10_000, members))
            rows, idents = [], []
            for i in batch:
                name = person_name(i)
                rows.append(
                    {
                        "id": first + i,
                        "full_name": name,
                        "name_key": search_key(name),
                        "gender": "nu" if i % 2 else "nam",
                        "unit_id": leaves[i % len(leaves)],
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                idents.append(
                    {
                        "platform": "telegram",
                        "user_id": str(MEMBER_BASE + i),
                        "display_name": name,
                        "member_id": first + i,
                        "created_at": now,
                    }
                )
            conn.execute(insert(tables["members"]), rows)
            conn.execute(insert(tables["identities"]), idents)
        if outbox_rows:
            job = conn.execute(
                insert(tables["delivery_jobs"]).values(
                    kind="broadcast",
                    title="Benchmark",
                    unit_id=unit_ids["BENCH"],
                    status_platform="telegram",
                    status_chat_id=str(BOARD),
                    total=outbox_rows,
                    start_at=now,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            message = conn.execute(
                insert(tables["outbox_messages"]).values(text=f"📣 {BROADCAST_TEXT}")
            ).inserted_primary_key[0]
            for start in range(0, outbox_rows, 20_000):
                conn.execute(
                    insert(tables["outbox"]),
                    [
                        {
                            "job_id": job,
                            "message_id": message,
                            "dedupe_key": f"{job}:telegram:{MEMBER_BASE + i}",
                            "platform": "telegram",
                            "chat_id": str(MEMBER_BASE + i),
                            "is_group": False,
                            "member_id": first + i,
                            "priority": 5,
                            "state": "queued",
                            "attempts": 0,
                            "not_before": now,
                            "updated_at": now,
                        }
                        for i in range(start, min(start + 20_000, outbox_rows))
                    ],
                )
    engine.dispose()


def outbox_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=1.0)) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


# --- results ------------------------------------------------------------------------------------
@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: for information, no target


@dataclass
class Burst:
    sent: int
    answered: int
    seconds: float
    cpu: str  # CpuWatch.describe()
    apologies: int
    unexpected: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        notes = [f"{self.answered:,}/{self.sent:,} in {self.seconds:.1f} s"]
        notes.append(self.cpu)
        if self.apologies:
            notes.append(f"{self.apologies} apologies")
        if self.unexpected:
            notes.append(f"{len(self.unexpected)} unexpected")
        return "; ".join(notes)


def log_row(proc: BotProcess) -> Row:
    """What the bot's log says about trouble: errors, lock timeouts, busy-database retries."""
    counts = [proc.log_count(" ERROR "), proc.log_count("database is locked")]
    counts.append(proc.log_count(" WARNING ", "busy"))
    return Row(
        "bot log: ERROR lines / 'database is locked' / busy warnings",
        " / ".join(f"{c:,}" for c in counts),
    )


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


# --- the benchmark ------------------------------------------------------------------------------
class IntakeBench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.texts = Texts()
        self.server = BotApiStandIn(on_sent=self._on_sent)
        self.trackers: dict[str, Tracker] = {}
        self.rows: list[tuple[str, list[Row]]] = []
        self._bots = 0
        self._newcomers = 0
        self.failed = False
        apology = self.texts.expect("error.unexpected", "error.busy")
        side = (*self.texts.expect("reg.phone_saved"), "⬇️", BROADCAST_TEXT)
        self._tracker_args = (apology, side)
        self.register_payload = _payload("reg", "yes")

    def _on_sent(self, sent: Sent) -> None:
        tracker = self.trackers.get(sent.token)
        if tracker is not None:
            tracker.on_sent(sent)

    def new_bot(self) -> tuple[str, Tracker]:
        self._bots += 1
        token = f"{700000 + self._bots}:AAbenchIntake{self._bots:04d}"
        tracker = self.trackers[token] = Tracker(*self._tracker_args)
        return token, tracker

    # -- driving ----------------------------------------------------------------------------
    def send(
        self, token: str, tracker: Tracker, chat: int, what: str, markers: tuple[str, ...]
    ) -> Expect:
        """Queue one update: text typed by `chat`, or "press:<data>" on its last keyboard
        (or on a message the dialog does not check, for a fixed payload)."""
        if what.startswith("press:"):
            data = what.removeprefix("press:")
            message_id = tracker.markups.get(chat, (1, ""))[0]
            update = press_update(
                chat, data, message_id=message_id, bot_id=self.server.bot(token).bot_id
            )
        else:
            message_id = self.server.bot(token).take_message_id()
            update = text_update(chat, what, message_id=message_id, name=person_name(chat))
        return tracker.expect(chat, markers, self.server.push(token, update))

    async def step(
        self, token: str, tracker: Tracker, chat: int, what: str, markers: tuple[str, ...]
    ) -> Expect:
        """One update, waited for (at most 60 s)."""
        item = self.send(token, tracker, chat, what, markers)
        await tracker.wait([item], timeout=60, idle=60)
        if item.answered_at is None:
            raise RuntimeError(f"no answer to {what!r} from {chat} within 60 s")
        if item.outcome != "ok":
            print(f"  ! {what!r} from {chat}: {item.outcome} answer {item.text[:160]!r}")
        return item

    def registration(self, person: int) -> list[tuple[str, tuple[str, ...]]]:
        """The /dangky dialog as one person types it, step by step, with the answer that
        moves them on."""
        e = self.texts.expect
        born = date(1970 + person % 30, 1 + person % 12, 1 + person % 28)
        return [
            ("/dangky", e("reg.ask.unit")),
            (LEAVES[person % len(LEAVES)], e("reg.ask.full_name")),
            (person_name(person), e("reg.ask.gender")),
            ("nữ" if person % 2 else "nam", e("reg.ask.birth_date")),
            (born.strftime("%d/%m/%Y"), e("reg.ask.phone")),
            (f"09{person % 100_000_000:08d}", e("reg.ask.job_title")),
            (JOBS[person % len(JOBS)], e("reg.ask.card_number")),
            (f"79{person % 100_000_000:08d}", e("reg.ask.joined_union_on")),
            ("01/06/2015", e("reg.summary.title")),
            (f"press:{self.register_payload}", e("reg.submitted", "reg.submitted_no_board")),
        ]

    def newcomers(self, count: int) -> list[int]:
        start = NEWCOMER_BASE + self._newcomers
        self._newcomers += count
        return list(range(start, start + count))

    def registration_updates(
        self, people: Sequence[int], steps: int, limit: int | None = None
    ) -> list[tuple[int, str, tuple[str, ...]]]:
        """Everyone's first step, then everyone's second…: each person's steps stay in
        order, far apart, and many people are mid-dialog at once."""
        flows = [self.registration(p)[:steps] for p in people]
        updates = [
            (person, *flow[index])
            for index in range(steps)
            for person, flow in zip(people, flows, strict=True)
        ]
        return updates[:limit] if limit else updates

    async def burst(
        self,
        token: str,
        tracker: Tracker,
        proc: BotProcess,
        updates: Sequence[tuple[int, str, tuple[str, ...]]],
    ) -> Burst:
        """Queue all updates at once; wait until all are answered (or the bot goes quiet)."""
        cpu, started = CpuWatch(proc), time.monotonic()
        items = [self.send(token, tracker, chat, what, markers) for chat, what, markers in updates]
        await tracker.wait(items, timeout=self.args.burst_timeout, idle=self.args.idle)
        done = [i for i in items if i.answered_at is not None]
        end = max((i.answered_at or 0.0 for i in done), default=started)
        return Burst(
            sent=len(items),
            answered=len(done),
            seconds=end - items[0].queued.queued_at if items else 0.0,
            cpu=cpu.describe(),
            apologies=sum(1 for i in done if i.outcome == "apology"),
            unexpected=[i.text for i in done if i.outcome == "unexpected"],
        )

    async def wait_ready(self, token: str, proc: BotProcess, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.server.bot(token).first_get_updates is None:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited; see {proc.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start polling in {timeout:.0f} s")
            await asyncio.sleep(0.02)

    # -- bots ---------------------------------------------------------------------------------
    async def start_echo(
        self, concurrent: int, *, writes: bool = False
    ) -> tuple[str, Tracker, BotProcess]:
        token, tracker = self.new_bot()
        cmd = [sys.executable, "-m", "bench.echo_bot", self.server.base_url, token]
        if concurrent:
            cmd += ["--concurrent", str(concurrent)]
        name = f"echo-{concurrent or 'sequential'}{'-sqlite' if writes else ''}"
        if writes:
            cmd += ["--sqlite", str(self.workdir / f"{name}.db")]
        proc = BotProcess(name, cmd, self.workdir)
        await proc.start()
        await self.wait_ready(token, proc)
        return token, tracker, proc

    async def prepare_congdoan(
        self, name: str, members: int, outbox_rows: int = 0
    ) -> tuple[str, Tracker, BotProcess, Path]:
        """A config, a migrated SQLite file with the units and `members` seeded members; the
        process is created, not started."""
        token, tracker = self.new_bot()
        config, db = self.workdir / f"{name}.toml", self.workdir / f"{name}.db"
        write_config(config, token, self.server, db, self.args.pace)
        for args in (("db", "upgrade"), ("units",)):  # `units` applies the config's units
            done = await asyncio.create_subprocess_exec(
                *congdoan_command(config, *args),
                cwd=self.workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={k: v for k, v in os.environ.items() if not k.startswith("CONGDOAN_")},
            )
            _, err = await done.communicate()
            if done.returncode:
                raise RuntimeError(f"congdoan {' '.join(args)} failed: {err.decode()[-2000:]}")
        started = time.monotonic()
        await asyncio.to_thread(seed, db, members, outbox_rows)
        rows = f" and {outbox_rows:,} outbox rows" if outbox_rows else ""
        print(f"  seeded {members:,} members{rows} in {time.monotonic() - started:.1f} s")
        proc = BotProcess(name, congdoan_command(config, "run"), self.workdir)
        tracker.watched.add(BOARD)
        return token, tracker, proc, db

    async def warm_up_congdoan(self, token: str, tracker: Tracker, proc: BotProcess) -> None:
        await self.wait_ready(token, proc)
        warm = self.registration_updates(self.newcomers(5), 10)
        warm += [(MEMBER_BASE + i, "/trogiup", self.texts.expect("help.title")) for i in range(20)]
        warm += [(MEMBER_BASE + i, "/lichhop", self.lichhop_answer) for i in range(20, 40)]
        result = await self.burst(token, tracker, proc, warm)
        if result.answered < result.sent or result.unexpected:
            samples = "".join(f"\n    unexpected: {t[:160]!r}" for t in result.unexpected[:3])
            raise RuntimeError(f"warm-up: {result.describe()}; see {proc.log}{samples}")

    @property
    def lichhop_answer(self) -> tuple[str, ...]:
        return self.texts.expect("mt.none_for_you")

    # -- parts --------------------------------------------------------------------------------
    async def throughput_and_latency(self, parts: set[str]) -> None:
        n = self.args.updates
        rows: list[Row] = []
        echo: dict[str, Burst] = {}
        if "throughput" in parts:
            for label, concurrent, writes in ECHOES:
                token, tracker, proc = await self.start_echo(concurrent, writes=writes)
                try:
                    # One update per chat: concurrent echoes may answer a chat out of order.
                    chat = NEWCOMER_BASE + 9_000_000
                    warm = [(chat - 1 - i, f"warm {i}", (f"warm {i}",)) for i in range(50)]
                    await self.burst(token, tracker, proc, warm)
                    updates = [(chat + i, f"echo {i}", (f"echo {i}",)) for i in range(n)]
                    echo[label] = result = await self.burst(token, tracker, proc, updates)
                finally:
                    await proc.stop()
                print(f"  echo, {label}: {result.rate:,.0f} updates/s")
                rows.append(Row(f"PTB echo, {label}", f"{result.rate:,.0f}/s", result.describe()))

        token, tracker, proc, _db = await self.prepare_congdoan("congdoan-intake", 2_000)
        await proc.start()
        try:
            await self.warm_up_congdoan(token, tracker, proc)
            if "throughput" in parts:
                people = self.newcomers(math.ceil(n / 10))
                scenarios = {
                    "registration steps": self.registration_updates(people, 10, n),
                    "/trogiup": [
                        (MEMBER_BASE + i % 2_000, "/trogiup", self.texts.expect("help.title"))
                        for i in range(n)
                    ],
                    "/lichhop": [
                        (MEMBER_BASE + i % 2_000, "/lichhop", self.lichhop_answer) for i in range(n)
                    ],
                }
                for label, updates in scenarios.items():
                    await asyncio.sleep(1.0)
                    result = await self.burst(token, tracker, proc, updates)
                    print(f"  congdoan, {label}: {result.rate:,.0f} updates/s")
                    for text in result.unexpected[:3]:
                        print(f"    unexpected answer: {text[:160]!r}")
                    rows.append(
                        Row(f"congdoan run, {label}", f"{result.rate:,.0f}/s", result.describe())
                    )
                    if label == "registration steps" and echo:
                        sequential = echo["sequential"].rate
                        ratio = result.rate / sequential if sequential else 0.0
                        rows.append(
                            Row(
                                "ratio registration / bare echo (sequential)",
                                f"{ratio:.2f}",
                                "≥ 0.50",
                                ratio >= 0.50,
                            )
                        )
                        for other, _, _ in ECHOES[1:]:
                            anchor = echo[other].rate
                            rows.append(
                                Row(
                                    f"ratio registration / echo, {other}",
                                    f"{result.rate / anchor if anchor else 0.0:.2f}",
                                )
                            )
                self.rows.append((f"(a) Throughput: bursts of {n:,} updates", rows))
            if "latency" in parts:
                await asyncio.sleep(1.0)
                rows = await self.latency(token, tracker, proc)
                self.rows.append((f"(b) Latency: registration steps at {self.args.rate:g}/s", rows))
            rows.append(log_row(proc))
            if tracker.overtaken:
                rows.append(Row("answers that overtook an earlier one", f"{tracker.overtaken}"))
        finally:
            await proc.stop()

    async def latency(self, token: str, tracker: Tracker, proc: BotProcess) -> list[Row]:
        rate, seconds = self.args.rate, self.args.latency_seconds
        total = int(rate * seconds)
        # Batches of `rate` people, each typing one step a second, ten steps each.
        batches = math.ceil(total / (rate * 10))
        updates: list[tuple[int, str, tuple[str, ...]]] = []
        for _ in range(batches):
            updates += self.registration_updates(self.newcomers(int(rate)), 10)
        updates = updates[:total]
        items: list[Expect] = []
        cpu, started = CpuWatch(proc), time.monotonic()
        for index, (chat, what, markers) in enumerate(updates):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            items.append(self.send(token, tracker, chat, what, markers))
        await tracker.wait(items, timeout=60, idle=self.args.idle)
        done = [i for i in items if i.answered_at is not None]
        lat = [i.latency for i in done]
        handed = [
            i.answered_at - i.queued.handed_at
            for i in done
            if i.answered_at is not None and i.queued.handed_at is not None
        ]
        span = items[-1].queued.queued_at - items[0].queued.queued_at
        p99 = percentile(lat, 0.99)
        if dump := os.environ.get("BENCH_LATENCY_DUMP"):  # one line per update, for a timeline
            with open(dump, "w") as out:
                for index, item in enumerate(items):
                    lat_ms = 1000 * item.latency if item.answered_at is not None else -1
                    at = item.queued.queued_at - started
                    out.write(f"{at:.3f} {lat_ms:.1f} {item.chat} {updates[index][1][:30]!r}\n")
        print(f"  latency at {rate:g}/s: p50 {ms(percentile(lat, 0.5))}, p99 {ms(p99)}")
        return [
            Row(
                "updates sent / answered",
                f"{len(items):,} / {len(done):,}",
                f"at {(len(items) - 1) / span if span else 0:.1f}/s for {span:.0f} s; "
                + cpu.describe(),
            ),
            Row("queued → answer p50", ms(percentile(lat, 0.5))),
            Row("queued → answer p99", ms(p99), "< 25 ms", p99 < 0.025 and len(done) == len(items)),
            Row("queued → answer max", ms(max(lat, default=float("nan")))),
            Row(
                "handed to getUpdates → answer p50 / p99",
                f"{ms(percentile(handed, 0.5))} / {ms(percentile(handed, 0.99))}",
            ),
        ]

    async def fanout(self) -> None:
        recipients, registrants = self.args.recipients, self.args.registrants
        token, tracker, proc, db = await self.prepare_congdoan("congdoan-fanout", recipients)
        rows: list[Row] = []
        e = self.texts.expect
        await proc.start()
        try:
            await self.warm_up_congdoan(token, tracker, proc)
            await self.step(token, tracker, BOARD, "/thongbao", e("bc.ask.content"))
            await self.step(token, tracker, BOARD, BROADCAST_TEXT, e("bc.ask.unit"))
            whole = tracker.find_button(BOARD, label=UNITS[0][1])  # the whole CĐCS
            unit = f"press:{whole}" if whole else UNITS[0][0]  # else type its code
            await self.step(token, tracker, BOARD, unit, e("bc.ask.audience"))
            audience = tracker.button(BOARD, ":aud:all")
            await self.step(token, tracker, BOARD, f"press:{audience}", e("bc.ask.when"))
            now = tracker.button(BOARD, ":now")
            preview = await self.step(token, tracker, BOARD, f"press:{now}", e("bc.preview.title"))
            shown = self.texts.t.number(recipients) in preview.text
            go = tracker.button(BOARD, ":go")
            if outbox_count(db):
                raise RuntimeError("outbox not empty before the confirm")
            await asyncio.sleep(1.0)

            # The confirm, and at the same moment 500 people register and 100 members ask.
            cpu, started = CpuWatch(proc), time.monotonic()
            confirm = self.send(token, tracker, BOARD, f"press:{go}", ())
            storm = self.registration_updates(self.newcomers(registrants), 3)
            storm += [(MEMBER_BASE + 1_000 + i, "/trogiup", e("help.title")) for i in range(100)]
            others = [self.send(token, tracker, chat, what, m) for chat, what, m in storm]
            queued_in = await self._wait_outbox(db, recipients, started, timeout=60)
            await tracker.wait([confirm, *others], timeout=120, idle=max(15.0, self.args.idle))
            peak = proc.peak_rss_mb()
            lat = [i.latency for i in others if i.answered_at is not None]
            unanswered = sum(1 for i in [confirm, *others] if i.answered_at is None)
            apologies = sum(1 for i in [confirm, *others] if i.outcome == "apology")
            confirm_s = confirm.latency if confirm.answered_at is not None else float("inf")
            rows += [
                Row(
                    "preview (audience count) answered in",
                    ms(preview.latency),
                    "< 300 ms",
                    preview.latency < 0.3,
                ),
                Row(
                    f"preview shows {self.texts.t.number(recipients)} recipients",
                    "yes" if shown else f"no: …{preview.text[-60:]!r}",
                ),
                Row("confirm answered in", ms(confirm_s), "< 1 s", confirm_s < 1.0),
                Row(
                    f"all {recipients:,} outbox rows queued in",
                    ms(queued_in) if queued_in is not None else "not within 60 s",
                    "< 10 s",
                    queued_in is not None and queued_in < 10,
                ),
                Row(
                    f"updates without an answer (of {1 + len(others):,})",
                    f"{unanswered}",
                    "0",
                    unanswered == 0,
                ),
                Row(
                    f"the others' answers ({registrants} registering × 3 steps, 100 /trogiup)",
                    f"p50 {ms(percentile(lat, 0.5))}, p99 {ms(percentile(lat, 0.99))}, "
                    f"max {ms(max(lat, default=float('nan')))}",
                    f"{apologies} apologies; {cpu.describe()}",
                ),
                Row("peak RSS of the bot (VmHWM)", f"{peak:,.0f} MB", "< 200 MB", peak < 200),
                Row(
                    "broadcast messages accepted meanwhile",
                    f"{tracker.untracked:,}",
                    "the stand-in accepts every send",
                ),
                log_row(proc),
            ]
        finally:
            await proc.stop()
        title = f"(c) Fan-out: confirm a {recipients:,}-recipient broadcast while people register"
        self.rows.append((title, rows))

    async def _wait_outbox(
        self, db: Path, expected: int, started: float, timeout: float
    ) -> float | None:
        """Seconds from `started` until the outbox holds `expected` rows (polled every 50 ms
        from another connection; WAL readers do not block the bot's writes)."""
        while time.monotonic() - started < timeout:
            with contextlib.suppress(sqlite3.OperationalError):
                if await asyncio.to_thread(outbox_count, db) >= expected:
                    return time.monotonic() - started
            await asyncio.sleep(0.05)
        return None

    async def startup(self) -> None:
        rows: list[Row] = []
        count = self.args.recipients
        for label, queued in (("empty outbox", 0), (f"{count:,} queued outbox rows", count)):
            name = f"congdoan-startup-{queued}"
            token, tracker, proc, _db = await self.prepare_congdoan(name, count, queued)
            # Waiting at the server before the process starts: its first getUpdates gets it.
            probe = self.send(
                token, tracker, MEMBER_BASE + 7, "/trogiup", self.texts.expect("help.title")
            )
            await proc.start()
            try:
                await tracker.wait([probe], timeout=60, idle=60)
                first_poll = self.server.bot(token).first_get_updates
                answered = probe.answered_at
                value = ms(answered - proc.started_at) if answered else "no answer in 60 s"
                polling = ms(first_poll - proc.started_at) if first_poll else "never"
                if queued:
                    ok = answered is not None and answered - proc.started_at < 3.0
                    rows.append(Row(f"start → first answer, {label}", value, "< 3 s", ok))
                else:
                    rows.append(Row(f"start → first answer, {label}", value))
                rows.append(Row(f"  of which start → first getUpdates ({label})", polling))
                await asyncio.sleep(2.0)
                peak = f"{proc.peak_rss_mb():,.0f} MB"
                rows.append(Row(f"  peak RSS 2 s later ({label})", peak))
            finally:
                await proc.stop()
            print(f"  startup with {label}: {value}")
        self.rows.append(("(d) Startup", rows))

    # -- all --------------------------------------------------------------------------------
    async def quiet(self) -> None:
        if self.args.wait_quiet:
            await wait_quiet(self.args.wait_quiet)

    async def run(self, parts: set[str]) -> None:
        """Each part in turn; one that fails is reported and the others still run."""
        await self.server.start()
        try:
            plan = [
                ("throughput/latency", bool(parts & {"throughput", "latency"})),
                ("fanout", "fanout" in parts),
                ("startup", "startup" in parts),
            ]
            for name, wanted in plan:
                if not wanted:
                    continue
                await self.quiet()
                try:
                    if name == "fanout":
                        await self.fanout()
                    elif name == "startup":
                        await self.startup()
                    else:
                        await self.throughput_and_latency(parts)
                except Exception as exc:  # reported; the next part still runs
                    self.failed = True
                    print(f"  {name} failed: {exc}")
                    self.rows.append((f"{name}: FAILED", [Row(type(exc).__name__, str(exc))]))
        finally:
            await self.server.stop()

    def report(self, seconds: float) -> None:
        print()
        print(f"Intake benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {_machine()}")
        print(
            f"  tree {_git_head()}; pace limit {self.args.pace}/s (bot config); "
            f"stand-in Bot API on 127.0.0.1; total {seconds:.0f} s; load average {_loadavg()}"
        )
        if self.texts.missing:
            print(f"  (catalog keys not found, any answer accepted: {sorted(self.texts.missing)})")
        width = max((len(r.figure) for _, rows in self.rows for r in rows), default=40)
        for title, rows in self.rows:
            print(f"\n{title}")
            for r in rows:
                mark = "" if r.ok is None else ("✅" if r.ok else "❌")
                target = f"target {r.target}" if r.ok is not None else r.target
                print(f"  {r.figure:<{width}}  {r.value:>22}  {mark:1} {target}")


async def wait_quiet(limit: float, busy: float = 0.15, window: float = 5.0) -> None:
    """On a shared machine: wait (at most `limit` s) for `window` s in which other programs
    keep the CPUs less than `busy` (share of one core) busy."""
    started = time.monotonic()
    said = -math.inf
    while time.monotonic() - started < limit:
        before, own = _machine_busy(), _own_cpu()
        await asyncio.sleep(window)
        others = (_machine_busy() - before - (_own_cpu() - own)) / window
        if others < busy:
            return
        if time.monotonic() - said > 60:
            said = time.monotonic()
            print(f"  other programs use {others:.0%} of a core; waiting for a quiet moment")
    print("  the machine is still busy; measuring anyway")


def _payload(prefix: str, *parts: str) -> str:
    from bot.registry import payload

    return payload(prefix, *parts)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def _machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat): with the bot's and our own,
    it shows how much other programs took from the measurement."""
    with contextlib.suppress(OSError, ValueError):
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


@dataclass
class CpuWatch:
    """CPU used during a measurement, in cores: the bot, this process (the stand-in and the
    load generator) and everything else on the machine."""

    proc: BotProcess
    started: float = field(default_factory=time.monotonic)
    bot0: float = 0.0
    own0: float = field(default_factory=_own_cpu)
    busy0: float = field(default_factory=_machine_busy)

    def __post_init__(self) -> None:
        self.bot0 = self.proc.cpu_seconds()

    def shares(self) -> tuple[float, float, float]:
        wall = max(time.monotonic() - self.started, 1e-9)
        bot = self.proc.cpu_seconds() - self.bot0
        own = _own_cpu() - self.own0
        others = max(0.0, _machine_busy() - self.busy0 - bot - own)
        return bot / wall, own / wall, others / wall

    def describe(self) -> str:
        bot, own, others = self.shares()
        return f"CPU: bot {bot:.0%}, stand-in {own:.0%}, other programs {others:.0%}"


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores {model}; Python {platform.python_version()}"


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts: {','.join(PARTS)}"
    )
    parser.add_argument("--updates", type=int, default=4000, help="updates per burst (a)")
    parser.add_argument("--rate", type=float, default=40.0, help="steady updates/s (b)")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="duration of (b)")
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="audience of (c), queued rows of (d)"
    )
    parser.add_argument("--registrants", type=int, default=500, help="people registering in (c)")
    parser.add_argument(
        "--pace", type=int, default=1000, help="the bot's messages_per_second (config max 1000)"
    )
    parser.add_argument("--burst-timeout", type=float, default=300.0, help="max seconds per burst")
    parser.add_argument(
        "--idle", type=float, default=20.0, help="stop waiting after this long without an answer"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for other programs to leave the CPUs idle",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if unknown := parts - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    workdir = Path(tempfile.mkdtemp(prefix="congdoan-intake-"))
    bench = IntakeBench(args, workdir)
    started = time.monotonic()
    try:
        asyncio.run(bench.run(parts))
    finally:
        bench.report(time.monotonic() - started)
        if args.keep or bench.failed:
            print(f"\n  files (configs, databases, the bots' logs) kept in {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
