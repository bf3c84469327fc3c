"""How the bot words things: for the app it talks to (typed replies where there are no buttons),
and as a union office would write them."""

from __future__ import annotations

import re

from bot.app import App
from bot.i18n import CATALOGS, TYPED
from tests.conftest import ConsoleUser
from tests.fake_zalo import FakeZalo
from tests.test_board import add_member
from tests.zl import ZBot, zsay

# Shown only where the app has the "share my phone number" button (Telegram).
BUTTON_APPS_ONLY = {"reg.ask.phone_button"}
PRESS_WORDS = {"vi": re.compile(r"\bbấm\b|\bnút\b", re.IGNORECASE), "en": re.compile(
    r"\btap\b|\bpress\b|\bbuttons?\b", re.IGNORECASE
)}


def test_every_press_instruction_has_wording_for_apps_without_buttons() -> None:
    for language, catalog in CATALOGS.items():
        press = PRESS_WORDS[language]
        missing = [
            key
            for key, text in catalog.items()
            if press.search(text)
            and not key.endswith(TYPED)
            and key not in BUTTON_APPS_ONLY
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
