"""`/lienketnhom` in private: a `?startgroup=…&admin=…` link that adds the bot to a group as an
administrator with the rights it needs, and links the group in one step; only a board member
of that unit can complete it, and a forged or expired link is refused politely."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from sqlmodel import select

from bot.clock import FakeClock
from models.audit import AuditEntry
from models.groups import ChatGroup
from tests.fakes.telegram import FakeTelegram
from tests.people import make_board, seed
from tests.tg import ADMIN, Bot, handled, say

GROUP = -1004440001
TITLE = "Tổ Văn phòng"


async def link_for(fake: FakeTelegram, user: int, code: str = "SCT-VP") -> str:
    offer = await say(fake, user, f"/lienketnhom {code}", "chọn nhóm chat")
    return offer.button("Thêm bot vào nhóm")


async def linked_groups(bot: Bot) -> list[tuple[str, int | None]]:
    async with bot.app.db.session() as session:
        found = (await session.exec(select(ChatGroup))).all()
    return [(g.chat_id, g.unit_id) for g in found if g.unit_id is not None]


async def refusals(bot: Bot, action: str) -> list[str]:
    async with bot.app.db.session() as session:
        rows = (await session.exec(select(AuditEntry).where(AuditEntry.action == action))).all()
    return [r.target for r in rows]


async def test_the_link_adds_the_bot_with_its_rights_and_links_the_group(
    fake: FakeTelegram, bot: Bot
) -> None:
    link = await link_for(fake, ADMIN)
    parsed = urlparse(link)
    query = parse_qs(parsed.query)
    assert f"{parsed.netloc}{parsed.path}" == "t.me/congdoan_test_bot"
    assert parsed.query.endswith("&admin=pin_messages+invite_users")
    assert len(query["startgroup"][0]) <= 64
    mark = fake.mark()
    fake.user_adds_bot_by_link(ADMIN, link, GROUP, title=TITLE)
    done = await fake.wait_for(
        GROUP, contains="Nhóm này đã được liên kết với Tổ công đoàn Văn phòng", since=mark
    )
    assert done.button("Đăng ký").endswith("?start=SCT-VP")
    rights = fake._bot_as_admin(GROUP)
    assert rights["can_invite_users"] is True and rights["can_pin_messages"] is True
    assert [chat for chat, _unit in await linked_groups(bot)] == [str(GROUP)]
    # the group it links then approves join requests with those rights
    fake.strict_chats = True
    (member,) = await seed(bot.app, 1)
    fake.user_asks_to_join(GROUP, member, "Hoa", title=TITLE)
    await fake.wait_until(lambda: fake.is_member(GROUP, member), what="let in")


async def test_only_the_board_of_the_unit_completes_the_link(fake: FakeTelegram, bot: Bot) -> None:
    link = await link_for(fake, ADMIN)
    (member,) = await seed(bot.app, 1)
    await make_board(bot.app, "8001", "Phạm Văn Kỹ", "SCT-KT", platform="telegram")
    # a member who is not on the board
    mark = fake.mark()
    fake.user_adds_bot_by_link(member, link, GROUP, title=TITLE)
    await fake.wait_for(GROUP, contains="chỉ dành cho Ban Chấp hành", since=mark)
    # the board of another unit
    mark = fake.mark()
    fake.user_adds_bot_by_link(8001, link, -1004440002, title="Tổ Kỹ thuật")
    await fake.wait_for(-1004440002, contains="không thuộc phạm vi", since=mark)
    await handled(bot, fake)
    assert await linked_groups(bot) == []
    assert await refusals(bot, "access_denied") == ["/lienketnhom", "unit:SCT-VP"]
    # nor can they get a link for a unit that is not theirs
    await say(fake, 8001, "/lienketnhom SCT-VP", "không thuộc phạm vi")


async def test_a_forged_or_expired_link_is_refused(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    link = await link_for(fake, ADMIN)
    token = parse_qs(urlparse(link).query)["startgroup"][0]
    unit, expires, sig = token.removeprefix("lk_").split("_")
    forged = link.replace(token, f"lk_{int(unit) + 1}_{expires}_{sig}")
    mark = fake.mark()
    fake.user_adds_bot_by_link(ADMIN, forged, GROUP, title=TITLE)
    await fake.wait_for(GROUP, contains="không đúng hoặc đã hết hạn", since=mark)
    clock.advance(hours=25)
    mark = fake.mark()
    fake.user_adds_bot_by_link(ADMIN, link, -1004440002, title=TITLE)
    await fake.wait_for(-1004440002, contains="không đúng hoặc đã hết hạn", since=mark)
    await handled(bot, fake)
    assert await linked_groups(bot) == []
    assert await refusals(bot, "group_link_refused") == [
        f"telegram:{GROUP}",
        "telegram:-1004440002",
    ]
    # the refusal names nobody and nothing about the union
    refused = [m.body for m in fake.sent if m.chat_id in (GROUP, -1004440002)]
    assert not any("Văn phòng" in body for body in refused)
