"""How the bot words things: for the app it talks to (typed replies where there are no buttons),
and as a union office would write them."""

from __future__ import annotations

import re

from bot.app import App
from bot.i18n import CATALOGS, TYPED
from tests.conftest import ConsoleUser
from tests.fakes.zalo import FakeZalo
from tests.people import add_member
from tests.zl import ZBot, zsay

# Said only where the app has the button: the share-phone keyboard, the add-to-group link.
BUTTON_APPS_ONLY = {"reg.ask.phone_button", "group.add_link"}
# Shown only on the web pages (docs/web.md), which always have buttons.
WEB_PAGES_ONLY = {
    "reg.form.intro",
    "web.signin.explain",
    "web.mini_app.outside",
    "emu.web.intro",
    "emu.web.review_intro",
    "roster.web.confirm_hint",
    "roster.web.changed",
}
PRESS_WORDS = {
    "vi": re.compile(r"\bbấm\b|\bnút\b", re.IGNORECASE),
    "en": re.compile(r"\btap\b|\bpress\b|\bbuttons?\b", re.IGNORECASE),
}


def test_every_press_instruction_has_wording_for_apps_without_buttons() -> None:
    for language, catalog in CATALOGS.items():
        press = PRESS_WORDS[language]
        missing = [
            key
            for key, text in catalog.items()
            if press.search(text)
            and not key.endswith(TYPED)
            and key not in BUTTON_APPS_ONLY | WEB_PAGES_ONLY
            and key + TYPED not in catalog
        ]
        assert missing == [], (language, missing)
        still_pressing = [k for k in catalog if k.endswith(TYPED) and press.search(catalog[k])]
        assert still_pressing == [], (language, still_pressing)


async def test_profile_optional_field_does_not_mention_a_missing_skip_button(
    app: App, console: ConsoleUser
) -> None:
    member = await add_member(app, "Nguyễn Thị Lan", "SCT-VP", "+84912345678")
    async with app.db.session() as session:
        from models import members

        ident = await members.ensure_identity(session, "console", "1001", "Lan")
        ident.member_id = member.id
        await session.commit()
    out = await console.say("/hoso")
    number = re.search(r"\[(\d+)\] Ngày vào công đoàn", out)
    assert number is not None, out
    out = await console.say(number.group(1))
    assert "Ngày vào công đoàn" in out
    assert "Bỏ qua" not in out, out  # there is no «Bỏ qua» choice here
    assert "bấm" not in out.lower()


async def test_zalo_registration_says_reply_never_press(zfake: FakeZalo, zbot: ZBot) -> None:
    user = "7778"
    mark = zfake.mark()
    await zsay(zfake, user, "/dangky SCT-VP", "Bước 2/8")
    await zsay(zfake, user, "Nguyễn Thị Lan", "Bước 3/8")
    await zsay(zfake, user, "2", "Bước 4/8")
    await zsay(zfake, user, "05/09/1990", "Bước 5/8")
    await zsay(zfake, user, "0912345678", "Bước 6/8")
    card = await zsay(zfake, user, "Chuyên viên", "Bước 7/8")
    assert "Chưa có thì trả lời «Bỏ qua»" in card.body
    joined = await zsay(zfake, user, "Bỏ qua", "Bước 8/8")
    assert "Không nhớ thì trả lời «Bỏ qua»" in joined.body
    summary = await zsay(zfake, user, "Bỏ qua", "Gửi đăng ký")
    await zsay(zfake, user, "xin chào", "trả lời bằng số")  # text at the confirm step
    sent = [m.body for m in zfake.sent[mark:] if m.chat_id == user]
    assert summary.body in sent
    assert not [body for body in sent if "bấm" in body.lower()], sent


# --- messages as a union office writes them ---------------------------------------------


async def test_broadcast_is_numbered_and_counts_members(zfake: FakeZalo, zbot: ZBot) -> None:
    from tests.zl import ZADMIN, zbroadcast, zseed

    await zseed(zbot.app, 3)
    mark = zfake.mark()
    await zbroadcast(zfake, "Họp toàn thể đoàn viên chiều thứ Sáu.")
    preview = next(m for m in zfake.sent[mark:] if "Xem trước" in m.body)
    assert "Sẽ gửi tới: 3 đoàn viên" in preview.body, preview.body
    queued = await zfake.wait_for(ZADMIN, contains="Thông báo số 1 đang được gửi", since=mark)
    assert "Thông báo số 1 đang được gửi tới 3 đoàn viên" in queued.body, queued.body
    assert "#" not in queued.body and "người/nhóm" not in queued.body


async def test_monthly_repeat_names_the_first_friday(fake, bot) -> None:  # type: ignore[no-untyped-def]
    from tests.people import seed
    from tests.tg import ADMIN
    from tests.tg_flows import plan

    await seed(bot.app, 1)
    await plan(fake, start="4/12 14h")  # Friday 4/12/2026, the first Friday of December
    repeat = next(m for m in fake.messages_to(ADMIN) if "có lặp lại" in m.body)
    labels = [label for label, _ in repeat.buttons()]
    assert "Hằng tháng: Thứ Sáu đầu tiên của tháng" in labels, labels


def test_impossible_date_says_which() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    import pytest

    from bot import timeparse
    from bot.i18n import Translator
    from bot.textutil import InvalidInput

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    t = Translator("vi", tz)
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    for typed, said in (
        ("31/02 9h", "Không có ngày 31/02, anh/chị vui lòng kiểm tra lại."),
        ("29/02/2027 9h", "Không có ngày 29/02/2027, anh/chị vui lòng kiểm tra lại."),
    ):
        with pytest.raises(InvalidInput) as info:
            timeparse.parse_local_datetime(typed, now=now, tz=tz)
        assert t(info.value.key, **info.value.params) == said


async def test_profile_change_says_updated(app: App, console: ConsoleUser) -> None:
    from models import members

    member = await add_member(app, "Nguyễn Thị Lan", "SCT-VP", "+84912345678")
    async with app.db.session() as session:
        ident = await members.ensure_identity(session, "console", "1001", "Lan")
        ident.member_id = member.id
        await session.commit()
    out = await console.say("/hoso")
    number = re.search(r"\[(\d+)\] Email", out)
    assert number is not None
    await console.say(number.group(1))
    out = await console.say("lan.nguyen@gmail.com")
    assert "Đã cập nhật email." in out, out
    assert "Đã lưu Email" not in out


def test_registration_deadline_is_worded_one_way() -> None:
    t = CATALOGS["vi"]
    params = {"year": 2027, "deadline": "31/01/2027", "unit": "CĐCS"}
    params |= {"titles": "", "commitment": ""}
    for key in ("emu.launched", "emu.reminder", "emu.receipt", "emu.edit.deadline_notice"):
        text = t[key].format(**{k: v for k, v in params.items() if "{" + k + "}" in t[key]})
        assert "chậm nhất ngày 31/01/2027" in text, (key, text)
        assert "trước ngày 31" not in text and "hết ngày 31" not in text, (key, text)


async def test_check_in_gives_the_window(fake, bot, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from sqlmodel import select

    from models.meetings import Meeting
    from tests.people import seed
    from tests.tg import say
    from tests.tg_flows import plan, send_invitations

    chats = await seed(bot.app, 1)
    await send_invitations(fake, await plan(fake))  # Wednesday 25/11/2026 14:00–16:00
    async with bot.app.db.session() as session:
        code = (await session.exec(select(Meeting))).one().checkin_code
    early = await say(fake, chats[0], f"/diemdanh {code}", "Chưa đến giờ điểm danh")
    assert "từ 13:30 đến 18:00, Thứ Tư, 25/11/2026" in early.body, early.body
    clock.set(datetime.fromisoformat("2026-11-25T12:00:00+00:00"))  # 19:00, after the window
    late = await say(fake, chats[0], f"/diemdanh {code}", "Đã hết giờ điểm danh")
    assert "từ 13:30 đến 18:00, Thứ Tư, 25/11/2026" in late.body, late.body


async def test_meeting_reminder_says_one_day(fake, bot, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from tests.people import seed
    from tests.tg_flows import plan, send_invitations

    chats = await seed(bot.app, 1)
    await send_invitations(fake, await plan(fake))
    clock.set(datetime.fromisoformat("2026-11-24T07:00:00+00:00"))  # a day before, to the minute
    await bot.app.scheduler.run_due()
    reminder = await fake.wait_for(chats[0], contains="Nhắc lịch họp")
    assert "(còn 1 ngày)" in reminder.body, reminder.body
