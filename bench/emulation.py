"""Emulation report benchmark.

    .venv/bin/python -m bench.emulation [--members 100000] [--units 1000] [--pledges 250000]

Builds a CĐCS with 1,000 tổ công đoàn, 100,000 members and 250,000 pledges, then times the
per-unit statistics query and the whole board report (text table, bar chart, .xlsx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main(members: int, unit_count: int, pledge_count: int) -> None:
    from sqlalchemy import insert

    from bot.config import parse_settings
    from bot.i18n import Translator
    from bot.runtime import build_app
    from handlers.emulation.report import build_report, summarise, workbook
    from handlers.emulation.settings import DEFAULT_TARGETS, DEFAULT_TITLES
    from models import emulation, units
    from models.emulation import Campaign, Pledge
    from models.members import Member

    workdir = tempfile.mkdtemp(prefix="congdoan-bench-")
    settings = parse_settings({"database": {"url": f"sqlite+aiosqlite:///{workdir}/e.db"}})
    app = await build_app(settings)
    rng = random.Random(7)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with app.db.session() as session:
        root = await units.upsert(session, "CDCS", "Công đoàn cơ sở Benchmark", "cdcs", None)
        leaves = [
            await units.upsert(session, f"T{i:04d}", f"Tổ công đoàn số {i}", "to", root)
            for i in range(unit_count)
        ]
        await session.commit()
        rows = [
            {
                "full_name": f"Đoàn Viên {i}",
                "name_key": f"doan vien {i}",
                "unit_id": leaves[i % unit_count].id,
                "status": "active",
                "gender": "nu" if i % 2 else "nam",
                "joined_union_on": date(2015, 1, 1),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(members)
        ]
        await session.exec(insert(Member), params=rows)  # type: ignore[call-overload]
        titles = [t.model_dump() for t in DEFAULT_TITLES]
        campaign = Campaign(
            unit_id=root.id,
            year=2027,
            deadline=now + timedelta(days=30),  # type: ignore[arg-type]
            titles_json=json.dumps(titles, ensure_ascii=False),
            targets_json=json.dumps([t.model_dump() for t in DEFAULT_TARGETS]),
            created_at=now,
        )
        session.add(campaign)
        await session.flush()
        codes = [t["code"] for t in titles if t["kind"] == "individual"]
        pairs = set()
        while len(pairs) < pledge_count:
            pairs.add((rng.randrange(1, members + 1), rng.choice(codes)))
        await session.exec(
            insert(Pledge),
            params=[  # type: ignore[call-overload]
                {
                    "campaign_id": campaign.id,
                    "member_id": m,
                    "title_code": c,
                    "unit_id": leaves[(m - 1) % unit_count].id,
                    "commitment": "",
                    "created_at": now,
                }
                for m, c in pairs
            ],
        )
        await session.commit()
    print(
        f"Data: {members:,} members in {unit_count:,} units, {pledge_count:,} pledges "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )

    t = Translator("vi", settings.tz)
    async with app.db.session() as session:
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            stats = await emulation.unit_stats(session, campaign, root)
            timings.append(time.perf_counter() - began)
        print(
            f"  per-unit statistics query ({len(stats):,} units): "
            + ", ".join(f"{1000 * x:.0f} ms" for x in timings)
        )
        one = leaves[0]
        began = time.perf_counter()
        await emulation.unit_stats(session, campaign, one)
        print(f"  one tổ's statistics: {1000 * (time.perf_counter() - began):.0f} ms")
        for _ in range(3):
            began = time.perf_counter()
            done = await build_report(session, t, campaign, root, now)
            first = time.perf_counter() - began
            xlsx = await done.make_xlsx(session)
            total = time.perf_counter() - began
            print(
                f"  board report: text + chart in {first:.2f} s, with the .xlsx {total:.2f} s "
                f"({len(done.text):,} characters, {len(done.chart) // 1024} KiB PNG, "
                f"{len(xlsx) // 1024} KiB xlsx)"
            )
        # Where the spreadsheet's time goes.
        began = time.perf_counter()
        rows = await emulation.report_rows(session, campaign, root)
        t_rows = time.perf_counter() - began
        tree = list(await units.subtree(session, root))
        stats = await emulation.unit_stats(session, campaign, root)
        summary = summarise(campaign, root, tree, stats)
        began = time.perf_counter()
        workbook(t, campaign, root, summary, rows, tree, [])
        print(f"  .xlsx steps: read {t_rows:.2f} s, write {time.perf_counter() - began:.2f} s")
    await app.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--pledges", type=int, default=250_000)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.units, args.pledges))
