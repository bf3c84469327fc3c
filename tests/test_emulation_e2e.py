"""Emulation end to end on Telegram: the board launches the year's campaign, members register
titles they are eligible for (rules from configuration), the unregistered are reminded, and
the board gets the report as text, chart and spreadsheet."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import FakeClock
from models.emulation import Pledge
from tests.fakes.telegram import FakeTelegram
from tests.people import seed, set_join_dates
from tests.tg import ADMIN, Bot, press, received, say
from tests.tg_flows import launch


async def test_launch_register_remind_and_report(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    chats = await seed(bot.app, 6)  # even numbers are women
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    await fake.wait_until(
        lambda: sum(received(fake, chats, "phát động phong trào").values()) == 6,
        what="the launch notice",
    )
    # a woman registers LĐTT + GVN-ĐVN with a commitment
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua năm 2027")
    assert "Tổ công đoàn vững mạnh" not in str(choices.buttons())  # collective: not for people
    fake.user_presses(chats[0], choices, choices.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[0], contains="✅ Lao động tiên tiến")
    fake.user_presses(chats[0], choices, choices.button("Giỏi việc nước"))
    await fake.wait_for_edit(chats[0], contains="✅ Giỏi việc nước")
    ask = await press(fake, chats[0], choices, "Tiếp tục", "cam kết")
    receipt = await say(fake, chats[0], "Hoàn thành xuất sắc nhiệm vụ được giao", "Đã ghi nhận")
    assert "Giỏi việc nước, đảm việc nhà" in receipt.body and ask
    # a man cannot pick GVN-ĐVN (not offered, reason shown), CSTĐCS needs LĐTT and is capped
    choices = await say(fake, chats[1], "/thidua", "Đăng ký thi đua")
    assert "dành cho đoàn viên nữ" in choices.body
    fake.user_presses(chats[1], choices, choices.button("Chiến sĩ thi đua"))
    await fake.wait_for_edit(chats[1], contains="✅ Chiến sĩ thi đua")
    await press(fake, chats[1], choices, "Tiếp tục", "cần đăng ký kèm «Lao động tiên tiến»")
    fake.user_presses(chats[1], choices, choices.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[1], contains="✅ Lao động tiên tiến")
    # the cap (15 % of those who reach LĐTT) is applied at the review, not when registering
    await press(fake, chats[1], choices, "Tiếp tục", "cam kết")
    # reminders one week before the deadline (08:00) go only to those who have not registered
    clock.set(datetime.fromisoformat("2027-01-24T01:00:00+00:00"))
    await bot.app.scheduler.run_due()
    await fake.wait_until(
        lambda: sum(received(fake, chats, "Nhắc đăng ký thi đua").values()) == 5,
        what="reminders to the five who have not registered",
    )
    assert chats[0] not in received(fake, chats, "Nhắc đăng ký thi đua")
    # the report
    mark = fake.mark()
    fake.user_sends(ADMIN, "/thidua_baocao", first_name="Admin")
    text = await fake.wait_for(ADMIN, contains="ĐĂNG KÝ THI ĐUA NĂM 2027", since=mark)
    assert "Lao động tiên tiến: 1/6 (17\u00a0%)" in text.body
    assert "Giỏi việc nước, đảm việc nhà: 1/3 (33\u00a0%)" in text.body
    assert "⚠️" in text.body
    chart = await fake.wait_for(ADMIN, contains="Biểu đồ", since=mark)
    assert chart.photo is not None and chart.photo[:8] == b"\x89PNG\r\n\x1a\n"
    sheet = await fake.wait_for(ADMIN, contains="Danh sách đăng ký thi đua", since=mark)
    assert fake.sent.index(chart) < fake.sent.index(sheet)  # the table first, the file after
    wb = load_workbook(io.BytesIO(sheet.document[1]))  # type: ignore[index]
    people = list(wb["Đoàn viên"].iter_rows(min_row=2, values_only=True))
    assert len(people) == 6 and [r[3] for r in people if r[3]] == ["LĐTT, GVN-ĐVN"]
    assert [r[0] for r in wb["Danh hiệu"].iter_rows(min_row=2, values_only=True)][:2] == [
        "LDTT",
        "CSTDCS",
    ]
    # after the deadline nothing can change
    clock.set(datetime.fromisoformat("2027-02-01T03:00:00+00:00"))
    await say(fake, chats[0], "/thidua", "đã hết hạn sửa")
    async with bot.app.db.session() as session:
        assert len((await session.exec(select(Pledge))).all()) == 2


async def test_eligibility_from_configuration(fake: FakeTelegram, bot: Bot) -> None:
    chats = await seed(bot.app, 2)  # no join dates: "10 months since joining" cannot be counted
    await launch(fake)
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua")
    assert "cần có ngày vào công đoàn trong hồ sơ" in choices.body
    assert "Lao động tiên tiến" not in str(choices.buttons())
    await say(fake, ADMIN, "/thidua_mo", "Phát động thi đua năm nào")
    years = fake.messages_to(ADMIN)[-1]
    await press(fake, ADMIN, years, "2027", "đã có phong trào thi đua")


def test_bad_targets_in_config_are_named(tmp_path: Path) -> None:
    from bot.config import ConfigError, parse_settings

    try:
        parse_settings(
            {"emulation": {"targets": [{"title": "KHONGCO", "measure": "min_count", "value": 5}]}}
        )
    except ConfigError as exc:
        assert "emulation.targets[0].title" in str(exc)
    else:
        raise AssertionError("a target on a missing title must be refused")


async def test_year_end_review(fake: FakeTelegram, bot: Bot, clock: FakeClock) -> None:
    chats = await seed(bot.app, 2)
    await set_join_dates(bot, chats, date(2015, 6, 1))
    await launch(fake)
    choices = await say(fake, chats[0], "/thidua", "Đăng ký thi đua")
    fake.user_presses(chats[0], choices, choices.button("Lao động tiên tiến"))
    await fake.wait_for_edit(chats[0], contains="✅ Lao động tiên tiến")
    ask = await press(fake, chats[0], choices, "Tiếp tục", "cam kết")
    await press(fake, chats[0], ask, "Bỏ qua", "Đã ghi nhận")
    await say(fake, chats[0], "/thidua_tudanhgia", "Chưa đến lúc")
    clock.set(datetime.fromisoformat("2027-12-15T03:00:00+00:00"))
    refused = await say(fake, chats[1], "/thidua_tudanhgia", "không thuộc diện bình xét")
    item = await say(fake, chats[0], "/thidua_tudanhgia", "tự đánh giá: chưa có")
    await press(fake, chats[0], item, "Đạt", "ghi chú ngắn")
    await say(fake, chats[0], "Hoàn thành 100% kế hoạch", "Đã lưu tự đánh giá")
    listing = await say(fake, ADMIN, "/thidua_xet", "1/2 đoàn viên đã đăng ký")
    card = await press(fake, ADMIN, listing, "Đoàn Viên", "Hoàn thành 100% kế hoạch")
    await press(fake, ADMIN, card, "✅ Lao động tiên tiến", "kết quả bình xét: Đạt")
    # a member cannot decide
    mark = fake.mark()
    fake.user_presses(chats[1], refused, "v1:emx:r:1:d")
    await fake.wait_for(chats[1], contains="chỉ dành cho Ban Chấp hành", since=mark)
    mark = fake.mark()
    fake.user_sends(ADMIN, "/thidua_baocao", first_name="Admin")
    report = await fake.wait_for(ADMIN, contains="ĐĂNG KÝ THI ĐUA NĂM 2027", since=mark)
    assert "50\u00a0%" in report.body  # 1 of 2 members reached LĐTT (target 95 %: ⚠️)
    async with bot.app.db.session() as session:
        pledge = (await session.exec(select(Pledge))).one()
    assert (pledge.self_result, pledge.result) == ("dat", "dat")


async def test_report_text_first_and_a_failed_spreadsheet_is_told(
    fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(bot.app, 2)
    await launch(fake)

    def broken(*_args: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr("handlers.emulation.report.workbook", broken)
    mark = fake.mark()
    fake.user_sends(ADMIN, "/thidua_baocao", first_name="Admin")
    report = await fake.wait_for(ADMIN, contains="ĐĂNG KÝ THI ĐUA NĂM 2027", since=mark)
    failed = await fake.wait_for(ADMIN, contains="chưa tạo được tệp Excel", since=mark)
    assert fake.sent.index(report) < fake.sent.index(failed)
    assert not [m for m in fake.sent[mark:] if m.document]
