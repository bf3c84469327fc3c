"""What monitoring costs: one /metrics scrape (its outbox GROUP BY) and one /healthz report on
a temporary SQLite file whose outbox holds N rows.

    .venv/bin/python -m bench.monitoring [--rows 200000]

The rows are written straight into the file (one job, one message; 80 % sent, 10 % queued,
10 % failed), then the scrape is timed (the second of two) and the report averaged over 20.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import parse_settings
from bot.monitoring.health import report
from bot.runtime import build_app

STATES = ["sent"] * 8 + ["queued", "failed"]


def fill(path: Path, rows: int) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC).isoformat()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO outbox_messages (id, text, buttons_json, pin_in_groups, paid) "
        "VALUES (1, 'x', '[]', 0, 0)"
    )
    conn.execute(
        "INSERT INTO delivery_jobs (id, kind, title, language, total, start_at, created_at, "
        "priority) VALUES (1, 'broadcast', 't', 'vi', 0, ?, ?, 5)",
        (now, now),
    )
    conn.executemany(
        "INSERT INTO outbox (job_id, message_id, dedupe_key, platform, chat_id, is_group, "
        "priority, state, attempts, not_before, updated_at, bot) "
        "VALUES (1, 1, ?, 'telegram', ?, 0, 5, ?, 0, ?, ?, 'telegram')",
        ((f"k{i}", str(i), STATES[i % 10], now, now) for i in range(rows)),
    )
    conn.commit()
    conn.close()


async def main(rows: int) -> None:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = await build_app(parse_settings({"database": {"url": f"sqlite+aiosqlite:///{path}"}}))
    fill(path, rows)
    scrape = 0.0
    for _ in range(2):
        began = time.perf_counter()
        await app.metrics.scrape(app)
        scrape = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(20):
        await report(app)
    health = (time.perf_counter() - began) / 20
    print(f"{rows} outbox rows: /metrics scrape {scrape * 1000:.1f} ms,", end=" ")
    print(f"/healthz {health * 1000:.2f} ms")
    await app.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().rows))
