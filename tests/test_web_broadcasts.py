"""The board's announcements on the web: write, preview the exact count, send now or later,
follow the progress to the report; only the board's own units (refusals audited), and the
chat's refusals for bad input, with nothing changed."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import func, select

from bot.runtime import Background
from handlers.common import audiences
from models import members, units
from models.audit import AuditEntry
from models.broadcasts import Broadcast
from models.outbox import DeliveryJob
from models.reminders import Reminder
from tests.people import add_member, seed
from tests.settle import settled, until
from tests.web import Site, csrf_of, make_role, site, unit_id

BOARD, LEADER, MEMBER, OTHER_BOARD = "2", "4", "5", "6"
COMPOSE = "/web/thongbao/moi"


async def _people(s: Site) -> list[int]:
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    await make_role(s.app, "console", OTHER_BOARD, "Ngô Văn Xây", "SXD", "bch", "+84906666666")
    hoa = await add_member(s.app, "Lê Thị Hoa", "SCT-VP", "+84905555555", gender="nu")
    async with s.app.db.session() as session:
        (await members.ensure_identity(session, "console", MEMBER, "Hoa")).member_id = hoa.id
        await session.commit()
    chats = await seed(s.app, 6, "SCT-VP")  # reachable on Telegram, half of them women
    await add_member(s.app, "Đỗ Văn Chưa", "SCT-KT", "+84913000009")  # no chat: unreachable
    await seed(s.app, 3, "SXD-VP", start=30_000)  # another union's
    return chats


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list((await session.exec(query)).all())


async def _count(s: Site, table: Any) -> int:
    async with s.app.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


async def _form(browser: httpx.AsyncClient, s: Site, **fields: str) -> dict[str, str]:
    page = await browser.get(COMPOSE)
    assert page.status_code == 200, page.text
    return {
        "csrf": csrf_of(page.text),
        "text": "Họp toàn thể đoàn viên lúc 14:00 thứ Sáu tại hội trường tầng 3.",
        "unit": str(await unit_id(s.app, "SCT")),
        "audience": "all",
        "when": "now",
        **fields,
    }


@asynccontextmanager
async def _delivering(s: Site) -> AsyncIterator[None]:
    """The delivery engine (workers, fan-out, progress reporter) on the site's chats."""
    background = Background(s.app)
    background.start()
    try:
        yield
    finally:
        await background.close()


async def test_compose_preview_send_and_follow_to_the_report(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        chats = await _people(s)
        s.telegram.blocked.add(str(chats[0]))  # has blocked the bot since
        await s.sign_in(browser, BOARD)
        listing = await browser.get("/web/thongbao")
        assert listing.status_code == 200 and "Chưa có thông báo nào" in listing.text
        form = await _form(browser, s)
        preview = await browser.post(COMPOSE, data={**form, "action": "preview"})
        assert preview.status_code == 200, preview.text
        # The chat's own figures: one COUNT of the audience, the unreachable noted.
        async with s.app.db.session() as session:
            sct = await units.by_code(session, "SCT")
            assert sct is not None
            found = await audiences.count(session, "all", sct)
        everyone = len(chats) + 3  # the seeded, and the board, tổ trưởng and Hoa (console)
        assert found.reachable == everyone
        assert f"Sẽ gửi tới: {everyone} đoàn viên" in preview.text
        assert "1 đoàn viên trong nhóm này chưa dùng bot" in preview.text
        assert await _count(s, Broadcast) == 0  # a preview sends nothing
        sent = await browser.post(COMPOSE, data={**form, "action": "send"})
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == "/web/thongbao/xem?so=1"
        [created] = await _audit(s, "broadcast_created")
        assert created.target == "broadcast:1"
        assert json.loads(created.detail_json)["recipients"] == everyone
        page = await browser.get("/web/thongbao/xem?so=1")
        assert "đã xử lý 0/" in page.text and 'src="/web/poll.js"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        script = await browser.get("/web/poll.js")  # from our own origin, as the CSP asks
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        live = (await browser.get("/web/thongbao/tiendo?so=1")).json()
        assert live["over"] is False
        async with _delivering(s):
            await settled(s.app)

            async def over(_session: Any) -> bool:
                answer = await browser.get("/web/thongbao/tiendo?so=1")
                return bool(answer.json()["over"])

            await until(s.app, over, timeout=10, failure="the progress never said it was over")
        report = await browser.get("/web/thongbao/xem?so=1")
        got = everyone - 1
        assert f"⚠️ Thông báo số 1 đã gửi xong: {got}/{everyone} đã nhận" in report.text
        assert "1 không liên lạc được" in report.text
        # who did not get it: the blocked member, by name and unit
        assert re.search(
            r"<td>Đoàn Viên Số A0</td><td>Tổ công đoàn Văn phòng</td><td>không liên lạc được",
            report.text,
        )
        assert len(await _audit(s, "job_report_viewed")) == 1
        sent = [(c, m.text) for c, m in s.telegram.sent + s.console.sent]
        for chat in [*map(str, chats[1:]), BOARD, LEADER, MEMBER]:  # each got it, once
            assert sum(c == chat and "Họp toàn thể đoàn viên" in x for c, x in sent) == 1, chat
        listing = await browser.get("/web/thongbao")
        assert "Đã gửi xong, có người chưa nhận" in listing.text
        assert f"{got}/{everyone} đã nhận, 1 chưa nhận" in listing.text


async def test_schedule_later_as_the_chat_does(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        form = await _form(
            browser, s, audience="women", when="later", at="20/12/2026 14:00", repeat="weekly"
        )
        preview = await browser.post(COMPOSE, data={**form, "action": "preview"})
        assert "Sẽ gửi tới: 4 đoàn viên" in preview.text  # three seeded, and Hoa
        assert "Thời điểm: Chủ Nhật, 20/12/2026 14:00 · Hằng tuần" in preview.text
        sent = await browser.post(COMPOSE, data={**form, "action": "send"})
        assert sent.status_code == 303
        async with s.app.db.session() as session:
            item = (await session.exec(select(Broadcast))).one()
            job = (await session.exec(select(DeliveryJob))).one()
            repeat = (await session.exec(select(Reminder))).one()
        assert item.audience == "women" and item.repeat == "weekly"
        assert job.start_at == item.send_at and job.start_at.hour == 7  # 14:00 in Hà Nội
        assert repeat.kind == "broadcast_repeat" and repeat.due_at == item.send_at
        page = await browser.get(sent.headers["location"])
        assert "Sẽ gửi lúc" in page.text and "poll.js" not in page.text
        listing = await browser.get("/web/thongbao")
        assert "Đang hẹn giờ" in listing.text


async def test_bad_input_is_refused_politely_and_nothing_is_sent(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        form = await _form(browser, s)
        cases = {
            "empty": ({"text": "   "}, "chưa nhập nội dung thông báo"),
            # 2,001 emoji: 4,002 UTF-16 code units, as Telegram counts them
            "too long": ({"text": "📣" * 2001}, "dài 4.002 ký tự, vượt quá 4.000"),
            # 1,334 lines as a browser sends them (CRLF): 4,001 code units read as LF, not 5,335
            "long lines": ({"text": "ab\r\n" * 1334}, "dài 4.001 ký tự"),
            "audience": ({"audience": "everyone'--"}, "Nhóm người nhận này không có"),
            "unit": ({"unit": "abc"}, "không tìm thấy đơn vị"),
            "no unit": ({"unit": "987654"}, "không tìm thấy đơn vị"),
            "time": ({"when": "later", "at": "hôm qua lúc 9h"}, "20/12/2026 14:00"),
            "past": ({"when": "later", "at": "01/01/2020 08:00"}, "đã qua"),
        }
        for name, (fields, expected) in cases.items():
            for action in ("preview", "send"):
                answer = await browser.post(COMPOSE, data={**form, **fields, "action": action})
                assert answer.status_code == 422, (name, action, answer.status_code)
                assert expected in answer.text, (name, answer.text)
                assert 'aria-invalid="true"' in answer.text
        nobody = await browser.post(COMPOSE, data={**form, "audience": "groups", "action": "send"})
        assert nobody.status_code == 422 and "Không có người nhận nào" in nobody.text
        assert await _count(s, Broadcast) == 0 and await _count(s, DeliveryJob) == 0
        assert await _audit(s, "broadcast_created") == []


async def test_another_unions_and_forged_ids_are_refused_and_audited(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await _people(s)
        async with s.browser() as other:  # the other union's board sends one
            await s.sign_in(other, OTHER_BOARD)
            form = await _form(other, s, unit=str(await unit_id(s.app, "SXD")))
            assert (await other.post(COMPOSE, data={**form, "action": "send"})).status_code == 303
        async with s.browser() as browser:
            await s.sign_in(browser, BOARD)
            listing = await browser.get("/web/thongbao")
            assert "Chưa có thông báo nào" in listing.text  # not another union's
            for path in ("/web/thongbao/xem?so=1", "/web/thongbao/tiendo?so=1"):
                answer = await browser.get(path)
                assert answer.status_code == 403 and "Họp toàn thể" not in answer.text
            for forged in ("999", "1; drop", ""):
                answer = await browser.get(f"/web/thongbao/xem?so={forged}")
                assert answer.status_code == 404
                assert "Không tìm thấy thông báo này" in answer.text
            # sending to the other union's unit, by a forged form
            form = await _form(browser, s, unit=str(await unit_id(s.app, "SXD-VP")))
            for action in ("preview", "send"):
                answer = await browser.post(COMPOSE, data={**form, "action": action})
                assert answer.status_code == 403 and "không thuộc phạm vi" in answer.text
        assert await _count(s, Broadcast) == 1
        targets = {e.target for e in await _audit(s, "access_denied")}
        assert {"broadcast:1", "broadcast:999", "broadcast:?", "unit:SXD-VP"} <= targets


async def test_members_and_group_leaders_may_not_open_the_pages(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await _people(s)
        for user, asks in ((LEADER, "/web"), (MEMBER, "/hoso")):  # a member has no /web
            async with s.browser() as browser:
                await s.sign_in(browser, user, asks)
                for path in ("/web/thongbao", COMPOSE, "/web/thongbao/xem?so=1"):
                    answer = await browser.get(path)
                    assert answer.status_code == 403, (user, path)
                    assert "Ban Chấp hành" in answer.text
                home = await browser.get("/web")
                assert "/web/thongbao" not in home.text
        targets = [e.target for e in await _audit(s, "access_denied")]
        assert targets.count("web:/web/thongbao") == 2
        assert await _count(s, Broadcast) == 0
