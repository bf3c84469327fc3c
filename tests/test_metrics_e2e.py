"""/metrics after real traffic on the fake Telegram server: updates and handler times, sends
by outcome with a 429 and its retry, the outbox by state (read on the scrape), a meeting
reminder's lateness and the scheduler's wake-ups. Each App has its own registry."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FakeClock
from models import outbox
from tests.fakes.telegram import FakeTelegram
from tests.monitoring import scrape, value
from tests.people import seed
from tests.settle import reminders_settled, settled, until
from tests.tg import ADMIN, Bot, say
from tests.tg_flows import compose, plan, send_invitations


async def test_metrics_move_with_traffic(fake: FakeTelegram, bot: Bot, clock: FakeClock) -> None:
    chats = await seed(bot.app, 3)
    before = await scrape(bot.app)
    assert value(before, "congdoan_outbox_rows", platform="telegram", state="sent") == 0
    await say(fake, ADMIN, "/trogiup", "Các lệnh")
    # One member's copy is refused once with a 429 (retry after 1 s), then goes.
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=chats[0],
    )
    preview = await compose(fake, "Họp toàn thể lúc 14:00 thứ Sáu.", "Tất cả đoàn viên")
    assert "Sẽ gửi tới: 3 đoàn viên" in preview.body
    mark = fake.mark()
    fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
    await fake.wait_for(ADMIN, contains="đang được gửi", since=mark)
    for _ in range(100):  # the retry is due a second later on the injected clock
        clock.advance(seconds=1)
        try:
            await until(bot.app, all_sent, timeout=0.3, failure="not all sent")
            break
        except AssertionError:
            continue
    after = await scrape(bot.app)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # /trogiup, /thongbao, the text, three presses and the confirmation: 7 updates at least
    assert moved("congdoan_updates_total", platform="telegram") >= 7
    assert moved("congdoan_handler_seconds_count", platform="telegram") >= 7
    assert moved("congdoan_handler_seconds_sum", platform="telegram") > 0
    assert moved("congdoan_sends_total", platform="telegram", outcome="sent") == 3
    assert moved("congdoan_sends_total", platform="telegram", outcome="rate_limited") == 1
    assert moved("congdoan_rate_limited_total", platform="telegram") == 1
    assert moved("congdoan_send_retries_total", platform="telegram") == 1
    assert value(after, "congdoan_outbox_rows", platform="telegram", state="sent") == 3
    assert value(after, "congdoan_outbox_rows", platform="telegram", state="queued") == 0
    assert value(after, "congdoan_errors_total", platform="telegram", kind="handler") == 0

    # A meeting on 25/11 at 14:00 local: its reminder a day before (24/11 07:00 UTC) is
    # handled 3 minutes late.
    wakeups = value(after, "congdoan_scheduler_wakeups_total")
    await send_invitations(fake, await plan(fake, start="25/11 14h"))
    await settled(bot.app)
    clock.advance(hours=29, minutes=3)
    await reminders_settled(bot.app)
    late = await scrape(bot.app)
    kinds = {
        labels: n
        for (name, labels), n in late.items()
        if name == "congdoan_reminder_lateness_seconds_count" and n > 0
    }
    assert len(kinds) == 1, kinds
    (labels,) = kinds
    assert value(late, "congdoan_reminder_lateness_seconds_sum", **dict(labels)) >= 180
    within_a_minute = ("congdoan_reminder_lateness_seconds_bucket", (*labels, ("le", "60.0")))
    assert late[within_a_minute] == 0
    assert value(late, "congdoan_scheduler_wakeups_total") > wakeups


async def all_sent(session: AsyncSession) -> bool:
    """Every copy of the announcement is sent (none waits out the 429 any more)."""
    counts = await outbox.count_by_state(session)
    return counts.get(("telegram", "sent"), 0) == 3 and ("telegram", "queued") not in counts
