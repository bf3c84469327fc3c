"""Regenerate docs/sample-emulation-report.txt and docs/sample-emulation-chart.png (shown in
the README) with the real report code on a small made-up CĐCS.

    .venv/bin/python docs/make_sample_report.py
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main() -> None:
    from bot.config import parse_settings
    from bot.i18n import Translator
    from bot.runtime import build_app
    from handlers.emulation.report import build_report
    from handlers.emulation.settings import DEFAULT_TARGETS, DEFAULT_TITLES, TargetSpec
    from models import units
    from models.emulation import Campaign, Pledge
    from models.members import Member

    workdir = tempfile.mkdtemp()
    settings = parse_settings({"database": {"url": f"sqlite+aiosqlite:///{workdir}/s.db"}})
    app = await build_app(settings)
    rng = random.Random(2027)
    now = datetime(2027, 1, 20, tzinfo=UTC)
    async with app.db.session() as session:
        root = await units.upsert(session, "SCT", "Công đoàn cơ sở Sở Công Thương", "cdcs", None)
        tos = [
            await units.upsert(session, code, name, "to", root)
            for code, name in (
                ("SCT-VP", "Tổ công đoàn Văn phòng"),
                ("SCT-QLTM", "Tổ công đoàn Quản lý Thương mại"),
                ("SCT-KT", "Tổ công đoàn Kỹ thuật An toàn"),
            )
        ]
        people = []
        for i in range(48):
            member = Member(
                full_name=f"Đoàn viên {i + 1}",
                name_key="",
                unit_id=tos[i % 3].id,  # type: ignore[arg-type]
                status="active",
                gender="nu" if i % 5 < 3 else "nam",
                joined_union_on=date(2015, 1, 1),
                job_title="Phó Trưởng phòng" if i % 8 == 0 else "Chuyên viên",
            )
            session.add(member)
            people.append(member)
        titles = [t.model_dump() for t in DEFAULT_TITLES]
        # the seeds' other common target: at least 70 % of awards to members who are not
        # leaders or managers (counted by job title once the review has begun)
        targets = [*DEFAULT_TARGETS, TargetSpec(measure="non_leader_share", value=70)]
        campaign = Campaign(
            unit_id=root.id,
            year=2027,
            deadline=now + timedelta(days=10),  # type: ignore[arg-type]
            titles_json=json.dumps(titles, ensure_ascii=False),
            targets_json=json.dumps([t.model_dump() for t in targets], ensure_ascii=False),
            created_at=now,
        )
        session.add(campaign)
        await session.flush()
        for member in people:
            chosen = [
                c
                for c, p in (("LDTT", 0.8), ("DVXS", 0.7), ("LDGLDST", 0.2), ("TMGPVT", 0.15))
                if rng.random() < p
            ]
            if member.gender == "nu" and rng.random() < 0.75:
                chosen.append("GVNDVN")
            if "LDTT" in chosen and rng.random() < 0.1:
                chosen.append("CSTDCS")
            for code in chosen:
                session.add(
                    Pledge(
                        campaign_id=campaign.id,
                        member_id=member.id,  # type: ignore[arg-type]
                        title_code=code,
                        unit_id=member.unit_id,
                        created_at=now,
                    )
                )
        await session.commit()
        t = Translator("vi", settings.tz)
        done = await build_report(session, t, campaign, root, now)
        (ROOT / "docs/sample-emulation-report.txt").write_text(done.text + "\n", encoding="utf-8")
        (ROOT / "docs/sample-emulation-chart.png").write_bytes(done.chart)
    await app.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
