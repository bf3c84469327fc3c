"""Several Telegram bots in one deployment ([[telegram.bots]]): each person is answered by the
bot they wrote to and reached through it by broadcasts; rows carry their bot, each bot has
its own worker, token and pace. Two fake Bot API servers stand for the two bots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.config import ConfigError, load_settings
from bot.runtime import Background, _add_adapters, build_app, close_pace, pace_key
from models.members import Identity
from models.outbox import OutboxItem
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.people import seed
from tests.settle import settled
from tests.tg import ADMIN, received, say
from tests.tg_flows import compose

OTHER_TOKEN = "654321:OTHER"


@pytest.fixture
async def fake2() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(token=OTHER_TOKEN, bot_username="congdoan_xd_bot")
    await server.start()
    yield server
    await server.stop()


async def test_each_member_through_the_bot_they_talk_to(
    fake: FakeTelegram, fake2: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(
        tmp_path,
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "base_file_url": fake.base_file_url,
            "request_timeout": 1.0,
            "bots": [
                {
                    "name": "xd",
                    "token": OTHER_TOKEN,
                    "base_url": fake2.base_url,
                    "base_file_url": fake2.base_file_url,
                }
            ],
        },
        bot={"admins": [f"telegram:{ADMIN}"]},
        delivery={"telegram": {"progress_interval_seconds": 0.2}},
    )
    app = await build_app(settings, clock)
    main, _ = _add_adapters(app, settings)
    extra = app.bots["telegram:xd"]
    for adapter in (main, extra):
        await adapter.start(polling=True, poll_timeout=1)
    background = Background(app)
    background.start()
    try:
        assert set(app.bots) == {"telegram", "telegram:xd"}
        assert pace_key("telegram", settings, main) != pace_key("telegram", settings, extra)
        chats = await seed(app, 4)
        # two members write to the second bot: it answers them, the first bot does not
        for chat in chats[2:]:
            await say(fake2, chat, "/trogiup", "/dangky")
        assert not [m for m in fake.sent if m.chat_id in chats]
        async with app.db.session() as session:
            bots = {int(i.user_id): i.bot for i in (await session.exec(select(Identity))).all()}
        assert [bots[c] for c in chats] == [None, None, "telegram:xd", "telegram:xd"]
        # an announcement from the board (on the first bot) reaches each through their own
        preview = await compose(fake, "Họp Ban Chấp hành mở rộng.", "Tất cả đoàn viên")
        mark = fake.mark()
        fake.user_presses(ADMIN, preview, preview.button("Xác nhận gửi"))
        await fake.wait_for(ADMIN, contains="đã gửi xong", since=mark)
        await settled(app)
        assert received(fake, chats, "Họp Ban Chấp hành") == {chats[0]: 1, chats[1]: 1}
        assert received(fake2, chats, "Họp Ban Chấp hành") == {chats[2]: 1, chats[3]: 1}
        async with app.db.session() as session:
            rows = (await session.exec(select(OutboxItem).order_by(OutboxItem.chat_id))).all()
        by_chat = {int(r.chat_id): (r.bot, r.state) for r in rows}
        assert [by_chat[c] for c in chats] == [
            ("telegram", "sent"),
            ("telegram", "sent"),
            ("telegram:xd", "sent"),
            ("telegram:xd", "sent"),
        ]
        # a member who writes to the first bot again is reached there from then on
        await say(fake, chats[2], "/trogiup", "/dangky")
        async with app.db.session() as session:
            moved = (
                await session.exec(select(Identity).where(Identity.user_id == str(chats[2])))
            ).one()
        assert moved.bot is None
    finally:
        await background.close()
        for adapter in (extra, main):
            await adapter.stop()
        await close_pace(app)
        await app.db.dispose()


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('[[telegram.bots]]\nname = "xd"\ntoken = "1:A"\n', "cần token của bot chính"),
        (
            'token = "1:A"\n[[telegram.bots]]\nname = "xd"\ntoken = "1:A"\n',
            "mỗi bot cần một token riêng",
        ),
        (
            'token = "1:A"\nmode = "webhook"\n[[telegram.bots]]\nname = "xd"\ntoken = "2:B"\n',
            "chỉ chạy với mode",
        ),
        ('token = "1:A"\n[[telegram.bots]]\nname = "Sở XD"\ntoken = "2:B"\n', "name"),
        (
            'token = "1:A"\n[[telegram.bots]]\nname = "xd"\ntoken = ""\n',
            "CONGDOAN_TELEGRAM_TOKEN_XD",
        ),
    ],
)
def test_extra_bots_config_is_checked(tmp_path: Path, extra: str, problem: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\n" + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert problem in str(caught.value)
    assert "1:A" not in str(caught.value) and "2:B" not in str(caught.value)  # no token shown


def test_extra_bot_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "1:A"\n[[telegram.bots]]\nname = "cdcs-xd"\ntoken = ""\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CONGDOAN_TELEGRAM_TOKEN_CDCS_XD", "2:B")
    settings = load_settings(config)
    assert settings.telegram.bots[0].token.get_secret_value() == "2:B"
    assert settings.telegram.for_bot(settings.telegram.bots[0]).token.get_secret_value() == "2:B"
