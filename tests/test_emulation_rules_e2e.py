"""Emulation rules as unions apply them, on Telegram: the CSTĐCS cap is applied when titles are
awarded at the year-end review (not at registration), "10 months since joining" is counted at
the end of the campaign's year, deadline reminders go out at an office hour, targets written as
"có ít nhất 05 chiến sĩ thi đua cơ sở" count those who reached the title, the share of awards
to members who are not leaders, and reports that write titles and percentages properly."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import FakeClock
from bot.config import ConfigError, Settings, parse_settings
from models.emulation import Campaign, Pledge
from models.members import Member
from models.outbox import DeliveryJob
from models.reminders import Reminder
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.people import seed, set_join_dates
from tests.tg import ADMIN, Bot, press, received, say, start_bot, stop_bot, tg_settings
from tests.tg_flows import launch

PCT = "\u00a0%"  # "15 %": a no-break space, so the sign never wraps onto a line of its own
REVIEW_TIME = datetime.fromisoformat("2027-12-15T03:00:00+00:00")


async def by_name(bot: Bot) -> dict[str, Member]:
    """Members by the last word of their name (A0, B1, …)."""
    async with bot.app.db.session() as session:
        people = (await session.exec(select(Member))).all()
    return {m.full_name.split()[-1]: m for m in people}


async def add_pledges(bot: Bot, plan: dict[str, dict[str, str | None]]) -> None:
    """Pledges (and their review results) straight into the database: {"A0": {"LDTT": "dat"}}.
    A pledge already made through the bot only gets its result."""
    people = await by_name(bot)
    async with bot.app.db.session() as session:
        campaign = (await session.exec(select(Campaign))).one()
        for who, titles in plan.items():
            member = people[who]
            for code, result in titles.items():
                found = (
                    await session.exec(
                        select(Pledge).where(
                            Pledge.member_id == member.id, Pledge.title_code == code
                        )
                    )
                ).first()
                if found is None:
                    found = Pledge(
                        campaign_id=campaign.id,  # type: ignore[arg-type]
                        member_id=member.id,  # type: ignore[arg-type]
                        unit_id=member.unit_id,
                        title_code=code,
                        created_at=campaign.created_at,
                    )
                found.result = result
                session.add(found)
        await session.commit()


async def results(bot: Bot, who: str) -> dict[str, str | None]:
    member = (await by_name(bot))[who]
    async with bot.app.db.session() as session:
        rows = (await session.exec(select(Pledge).where(Pledge.member_id == member.id))).all()
    return {p.title_code: p.result for p in rows}


async def review_card(fake: FakeTelegram, who: str) -> SentMessage:
    listing = await say(fake, ADMIN, "/thidua_xet", "Bình xét thi đua năm 2027")
    return await press(fake, ADMIN, listing, f"Đoàn Viên Số {who}", f"👤 Đoàn Viên Số {who}")


async def report(fake: FakeTelegram) -> tuple[str, object]:
    mark = fake.mark()
    fake.user_sends(ADMIN, "/thidua_baocao", first_name="Admin")
    text = await fake.wait_for(ADMIN, contains="ĐĂNG KÝ THI ĐUA NĂM", since=mark)
    sheet = await fake.wait_for(ADMIN, contains="Danh sách đăng ký thi đua", since=mark)
    return text.body, load_workbook(io.BytesIO(sheet.document[1]))  # type: ignore[index]


def emulation_settings(tmp_path: Path, fake: FakeTelegram, emulation: dict) -> Settings:
    """A bot on the fake server (as `tg_settings`) with its own [emulation] section."""
    return make_settings(
        tmp_path,
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "base_file_url": fake.base_file_url,
            "request_timeout": 1.0,
        },
        bot={"admins": ["console:1", f"telegram:{ADMIN}"]},
        emulation=emulation,
    )


# --- 18: the CSTĐCS cap is applied at the review ------------------------------------------------
async def test_cstdcs_cap_is_information_at_registration_and_enforced_at_review(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 15)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    # a small union: the first to register CSTĐCS is not refused; the cap is shown as information
    choices = await say(fake, chats[1], "/thidua", "Đăng ký thi đua năm 2027")
    assert f"không quá 15{PCT} số người đạt «Lao động tiên tiến»" in choices.body
    fake.user_presses(chats[1], choices, choices.button("Chiến sĩ thi đua"))
    await fake.wait_for_edit(chats[1], contains="✅ Chiến sĩ thi đua")
    fake.user_presses(chats[1], choices, choices.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[1], contains="✅ Lao động tiên tiến")
    ask = await press(fake, chats[1], choices, "Tiếp tục", "cam kết")
    receipt = await press(fake, chats[1], ask, "Bỏ qua", "Đã ghi nhận")
    assert "Chiến sĩ thi đua cơ sở" in receipt.body
    # the year ends: 14 reached LĐTT (15 % of 14 is 2 places); four registered CSTĐCS, one of
    # whom (D3) has no LĐTT decision yet
    plan: dict[str, dict[str, str | None]] = {
        m: {"LDTT": "dat"} for m in await by_name(bot) if m != "D3"
    }
    plan["D3"] = {"LDTT": None}
    for who in ("A0", "B1", "C2", "D3"):
        plan[who]["CSTDCS"] = None
    await add_pledges(bot, plan)
    clock.set(REVIEW_TIME)
    listing = await say(fake, ADMIN, "/thidua_xet", "Bình xét thi đua năm 2027")
    assert "Chiến sĩ thi đua cơ sở: đã xét 0/2 suất" in listing.body
    assert f"không quá 15{PCT} của 14 người đạt «Lao động tiên tiến»" in listing.body
    card = await review_card(fake, "A0")
    await press(fake, ADMIN, card, "✅ Chiến sĩ thi đua cơ sở", "đã xét 1/2 suất")
    card = await review_card(fake, "B1")
    await press(fake, ADMIN, card, "✅ Chiến sĩ thi đua cơ sở", "đã xét 2/2 suất")
    # CSTĐCS needs LĐTT reached first
    card = await review_card(fake, "D3")
    await press(fake, ADMIN, card, "✅ Chiến sĩ thi đua cơ sở", "cần xét đạt «Lao động tiên tiến»")
    # the third is refused: the places are taken
    card = await review_card(fake, "C2")
    refused = await press(fake, ADMIN, card, "✅ Chiến sĩ thi đua cơ sở", "Đã đủ suất")
    assert "2/2" in refused.body
    assert (await results(bot, "C2"))["CSTDCS"] is None
    assert (await results(bot, "D3"))["CSTDCS"] is None
    # LĐTT cannot be taken back from someone whose CSTĐCS stands on it
    card = await review_card(fake, "A0")
    await press(fake, ADMIN, card, "❌ Lao động tiên tiến", "sang «Chưa đạt» trước")
    assert await results(bot, "A0") == {"LDTT": "dat", "CSTDCS": "dat"}


# --- 19: months since joining, counted at the end of the campaign's year -----------------------
async def test_months_since_joining_are_counted_at_the_end_of_the_year(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    await set_join_dates(bot, chats, date(2026, 3, 15))  # 8 months today, 21 by 31/12/2027
    await launch(fake)
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
    assert "đủ 10 tháng" not in choices.body
    assert "Lao động tiên tiến" in str(choices.buttons())
    assert "Chiến sĩ thi đua cơ sở" in str(choices.buttons())


async def test_joining_in_the_campaign_year_is_too_new(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    clock.set(datetime.fromisoformat("2027-04-10T03:00:00+00:00"))
    chats = await seed(bot.app, 2)
    await set_join_dates(bot, chats, date(2027, 4, 1))  # 8 months by 31/12/2027
    years = await say(fake, ADMIN, "/thidua_mo", "Phát động thi đua năm nào")
    await press(fake, ADMIN, years, "2027", "Hạn chót đăng ký")
    titles = await say(fake, ADMIN, "30/06/2027", "Chọn các danh hiệu")
    preview = await press(fake, ADMIN, titles, "Tiếp tục", "Phát động thi đua năm 2027")
    await press(fake, ADMIN, preview, "Phát động", "Đã phát động thi đua năm 2027")
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
    assert "cần vào công đoàn đủ 10 tháng tính đến ngày 31/12/2027" in choices.body
    assert "Lao động tiên tiến" not in str(choices.buttons())


# --- 20: deadline reminders at an office hour --------------------------------------------------
async def reminder_times(bot: Bot) -> list[str]:
    async with bot.app.db.session() as session:
        rows = (
            await session.exec(select(Reminder).where(Reminder.kind == "emulation_deadline"))
        ).all()
    tz = bot.app.settings.tz
    return sorted(f"{r.due_at.astimezone(tz):%d/%m/%Y %H:%M}" for r in rows)


async def test_deadline_reminders_go_out_at_eight_in_the_morning(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    await launch(fake)  # deadline: the end of 31/01/2027
    assert await reminder_times(bot) == ["24/01/2027 08:00", "30/01/2027 08:00"]
    clock.set(datetime.fromisoformat("2027-01-24T00:59:00+00:00"))  # 07:59 in Hà Nội
    assert await bot.app.scheduler.run_due() == 0
    clock.set(datetime.fromisoformat("2027-01-24T01:00:00+00:00"))  # 08:00
    assert await bot.app.scheduler.run_due() == 1
    await fake.wait_until(
        lambda: sum(received(fake, chats, "Nhắc đăng ký thi đua").values()) == 2,
        what="the reminder to both members at 08:00",
    )


async def test_a_reminder_that_missed_its_hour_waits_for_the_next_morning(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    await launch(fake)
    # the bot was down at 08:00 on 24/01 and comes back at 22:30: not a time to write to people
    clock.set(datetime.fromisoformat("2027-01-24T15:30:00+00:00"))
    assert await bot.app.scheduler.run_due() == 1
    async with bot.app.db.session() as session:
        jobs = (
            await session.exec(select(DeliveryJob).where(DeliveryJob.kind == "emulation"))
        ).all()
    assert [j.key for j in jobs if j.key.startswith("emu-remind")] == []
    assert await reminder_times(bot) == ["24/01/2027 08:00", "25/01/2027 08:00", "30/01/2027 08:00"]
    clock.set(datetime.fromisoformat("2027-01-25T01:00:00+00:00"))  # 08:00 the next morning
    assert await bot.app.scheduler.run_due() == 1
    await fake.wait_until(
        lambda: sum(received(fake, chats, "Nhắc đăng ký thi đua").values()) == 2,
        what="the postponed reminder at 08:00",
    )


async def test_reminder_hour_comes_from_the_configuration(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = tg_settings(tmp_path, fake)
    settings.emulation.reminder_time = time(13, 30)
    bot = await start_bot(settings, clock)
    try:
        await seed(bot.app, 1)
        await launch(fake)
        assert await reminder_times(bot) == ["24/01/2027 13:30", "30/01/2027 13:30"]
    finally:
        await stop_bot(bot)
    assert parse_settings({"emulation": {"reminder_time": "07:45"}}).emulation.reminder_time == (
        time(7, 45)
    )
    try:
        parse_settings({"emulation": {"reminder_time": "25:00"}})
    except ConfigError as exc:
        assert "emulation.reminder_time" in str(exc)
    else:
        raise AssertionError("an hour that does not exist must be refused")


# --- 21: targets over the review's results -----------------------------------------------------
async def test_targets_count_who_reached_and_the_share_of_awards_to_non_leaders(
    fake: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = emulation_settings(
        tmp_path,
        fake,
        {
            "targets": [
                {"title": "DVXS", "measure": "min_count", "value": 3},
                {"measure": "non_leader_share", "value": 70},
            ],
            # configurable: a team leader counts as a manager in this union
            "leader_titles": ["Giám đốc", "Phó Giám đốc", "Trưởng nhóm"],
        },
    )
    bot = await start_bot(settings, clock)
    try:
        chats = await seed(bot.app, 4)
        await set_join_dates(bot, chats, date(2015, 6, 1))
        jobs = {
            "A0": "Phó Giám đốc Sở",
            "B1": "Trưởng nhóm kỹ thuật",
            "C2": "Chuyên viên",
            "D3": "Kế toán",
        }
        async with bot.app.db.session() as session:
            for member in (await session.exec(select(Member))).all():
                member.job_title = jobs[member.full_name.split()[-1]]
                session.add(member)
            await session.commit()
        await launch(fake)
        await add_pledges(
            bot,
            {
                "A0": {"LDTT": None, "DVXS": None},
                "B1": {"LDTT": None},
                "C2": {"LDTT": None, "DVXS": None},
                "D3": {"LDTT": None, "DVXS": None},
            },
        )
        # while the year runs: the registration figure, the targets wait for the review
        text, _ = await report(fake)
        assert "⏳ Ít nhất 3 người đạt «Đoàn viên công đoàn xuất sắc»" in text
        assert "hiện tại: 0 người đạt, 3 người đăng ký" in text
        assert (
            f"⏳ Ít nhất 70{PCT} số lượt khen thưởng dành cho đoàn viên không phải là cán bộ "
            "lãnh đạo, quản lý — hiện tại: chưa có kết quả bình xét"
        ) in text
        # the review: everyone reaches LĐTT, two of three ĐVCĐ xuất sắc; two of the six awards
        # went to leaders (the Phó Giám đốc and the team leader)
        clock.set(REVIEW_TIME)
        await add_pledges(
            bot,
            {
                "A0": {"LDTT": "dat", "DVXS": "chua_dat"},
                "B1": {"LDTT": "dat"},
                "C2": {"LDTT": "dat", "DVXS": "dat"},
                "D3": {"LDTT": "dat", "DVXS": "dat"},
            },
        )
        text, _ = await report(fake)
        assert "⚠️ Ít nhất 3 người đạt «Đoàn viên công đoàn xuất sắc»" in text
        assert "hiện tại: 2 người đạt, 3 người đăng ký" in text
        assert f"hiện tại: 67{PCT} (4/6 lượt)" in text
        assert "⚠️ Ít nhất 70" in text
    finally:
        await stop_bot(bot)


def test_a_target_without_a_title_is_only_the_non_leader_share() -> None:
    try:
        parse_settings({"emulation": {"targets": [{"measure": "min_count", "value": 5}]}})
    except ConfigError as exc:
        assert "emulation.targets[0].title" in str(exc)
    else:
        raise AssertionError("a count target needs its title")


# --- 22: short names, Vietnamese percentages, the commitment in the spreadsheet ---------------
async def test_report_writes_title_names_and_percentages_properly(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 2)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
    fake.user_presses(chats[0], choices, choices.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[0], contains="✅ Lao động tiên tiến")
    fake.user_presses(chats[0], choices, choices.button("Giỏi việc nước"))
    await fake.wait_for_edit(chats[0], contains="✅ Giỏi việc nước")
    await press(fake, chats[0], choices, "Tiếp tục", "cam kết")
    await say(fake, chats[0], "Hoàn thành xuất sắc nhiệm vụ được giao", "Đã ghi nhận")
    text, wb = await report(fake)
    assert "• Tổ công đoàn Văn phòng: 2 ĐV · LĐTT 1, GVN-ĐVN 1" in text
    assert f"• Lao động tiên tiến: 1/2 (50{PCT})" in text
    assert f"95{PCT} đoàn viên đạt «Lao động tiên tiến»" in text
    for code in ("LDTT", "GVNDVN", "CSTDCS", "DVXS"):
        assert code not in text
    assert ".0%" not in text and "%)" not in text.replace(f"{PCT})", "")
    people = wb["Đoàn viên"]  # type: ignore[index]
    header = next(people.iter_rows(max_row=1, values_only=True))
    rows = list(people.iter_rows(min_row=2, values_only=True))
    titles, commitment = header.index("Danh hiệu đăng ký"), header.index("Cam kết")
    assert [r[titles] for r in rows if r[titles]] == ["LĐTT, GVN-ĐVN"]
    assert [r[commitment] for r in rows if r[commitment]] == [
        "Hoàn thành xuất sắc nhiệm vụ được giao"
    ]
    legend = list(wb["Danh hiệu"].iter_rows(min_row=2, values_only=True))  # type: ignore[index]
    assert ("DVXS", "ĐVCĐ xuất sắc", "Đoàn viên công đoàn xuất sắc") in legend
    review = next(wb["Bình xét"].iter_rows(max_row=1, values_only=True))  # type: ignore[index]
    assert "LĐTT — đăng ký" in review
    # the review list names the titles the same way
    clock.set(REVIEW_TIME)
    listing = await say(fake, ADMIN, "/thidua_xet", "Bình xét thi đua năm 2027")
    assert "Đoàn Viên Số A0 (LĐTT, GVN-ĐVN)" in str(listing.buttons())
