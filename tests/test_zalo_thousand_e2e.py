"""A broadcast to 1,000 Zalo members while Zalo answers as its error table says: 403s and 408s
(some passing, some for good) and a quota that runs out mid-way and stays used up. Every member
ends delivered once, failed and listed, or still queued; none is marked unreachable by a 403,
none gets it twice; while the quota stays used up Zalo is only probed, not hammered; and when
it comes back the rest goes out by itself."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FakeClock
from models.members import Identity
from models.outbox import OutboxItem
from tests.fakes.zalo import FakeZalo
from tests.settle import until
from tests.zl import (
    ZADMIN,
    reports_to,
    run_clock_until,
    start_zbot,
    stop_zbot,
    zalo_settings,
    zbroadcast,
    zchoose,
    zseed,
)

TEXT = "Thông báo chi trả trợ cấp khó khăn"


async def test_thousand_members_with_403_408_and_a_used_up_quota(
    zfake: FakeZalo, tmp_path: Path, clock: FakeClock
) -> None:
    settings = zalo_settings(
        tmp_path,
        zfake,
        zalo_delivery={
            "messages_per_second": 1000,  # the fake takes it; the pace is not what is tested
            "max_attempts": 3,
            "quota_first_pause_seconds": 10,
            "quota_max_pause_minutes": 2,
            "quota_pause_after_minutes": 1,
        },
    )
    bot = await start_zbot(settings, clock)
    try:
        people = await zseed(bot.app, 1000, start=100_000)
        for user in people[10:30]:  # 403 on every send (also how a blocked user may look)
            zfake.blocked_users.add(user)
        for user in people[30:40]:  # 408 on every send
            zfake.fail_next("sendMessage", 408, chat_id=user, times=99)
        for user in people[40:70]:  # 403 twice, then it goes through
            zfake.fail_next("sendMessage", 403, chat_id=user, times=2)
        for user in people[70:100]:  # 408 twice, then it goes through
            zfake.fail_next("sendMessage", 408, chat_id=user, times=2)
        never = set(people[10:40])
        zfake.quota_left = 650  # then "Quota exceeded" on every send, until a new day
        await zbroadcast(zfake, TEXT)
        worker = next(w for w in bot.app.workers if getattr(w, "platform", "") == "zalo")
        await run_clock_until(
            bot.app, clock, lambda: worker.quota_exhausted, what="the quota pause"
        )

        async def nothing_in_flight(session: AsyncSession) -> bool:
            query = select(OutboxItem).where(OutboxItem.state == "sending")
            return not (await session.exec(query)).first()

        async def accounted() -> Counter[str]:
            got = Counter(m.chat_id for m in zfake.sent if TEXT in m.body)
            assert max(got.values()) == 1  # nobody twice
            async with bot.app.db.session() as session:
                rows = (await session.exec(select(OutboxItem))).all()
                marked = (
                    await session.exec(
                        select(Identity).where(col(Identity.unreachable_at).is_not(None))
                    )
                ).all()
            assert len(rows) == 1000 and not marked  # nobody unreachable because of a 403
            for row in rows:
                assert (row.chat_id in got) == (row.state == "sent"), row
                assert row.state in {"sent", "failed", "queued"}, row
                if row.state == "failed":
                    assert row.chat_id in never, row
            return Counter(r.state for r in rows)

        # the quota stays used up: rows wait in the queue, Zalo is probed now and then only
        await until(bot.app, nothing_in_flight, timeout=30, failure="a send never finished")
        paused = await accounted()
        assert paused["queued"] > 0 and paused["sent"] < 1000
        refusals = zfake.quota_refusals
        start = clock.now()
        await run_clock_until(  # half an hour of quota pauses (growing, then 2 minutes each)
            bot.app,
            clock,
            lambda: (clock.now() - start).total_seconds() >= 1800,
            step=20,
            what="half an hour",
        )
        await run_clock_until(
            bot.app, clock, lambda: zfake.quota_refusals > refusals, what="a probe"
        )
        assert zfake.quota_refusals - refusals <= 17  # 30 min / 2 min pauses, + the probe
        assert await accounted() == paused  # nothing moved while Zalo refused
        # a new day: the rest goes out by itself
        zfake.quota_left = None
        await run_clock_until(bot.app, clock, reports_to(zfake, ZADMIN), step=30, what="the report")
        done = await accounted()
        assert done == {"sent": 970, "failed": 30}
        report = await zfake.wait_for(ZADMIN, contains="đã gửi xong")
        assert "970/1.000 đã nhận — 30 lỗi" in report.body
        who = await zchoose(zfake, ZADMIN, report, "Xem ai chưa nhận", "chưa nhận được")
        assert who.body.count("lỗi khi gửi") >= 1
    finally:
        await stop_zbot(bot)
