"""Registering pledges (/thidua) as one form: the titles with the reasons for the others, the
chat's checks and messages, the same saved pledges, audit and receipt."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select

from models import emulation, units
from models.audit import AuditEntry
from models.emulation import Pledge
from models.members import Member
from tests.web import Site, csrf_of, make_role, site

LAN, BINH = "1001", "1002"


async def _campaign(s: Site, open_for: timedelta = timedelta(days=10)) -> int:
    titles = [title.model_dump() for title in s.app.settings.emulation.titles]
    async with s.app.db.session() as session:
        unit = await units.by_code(session, "SCT")
        assert unit is not None and unit.id is not None
        campaign = await emulation.create_campaign(
            session=session,
            unit_id=unit.id,
            year=2026,
            deadline=s.clock.now() + open_for,
            titles=titles,
            targets=[],
            created_by=None,
            now=s.clock.now(),
        )
        await session.commit()
        assert campaign.id is not None
        return campaign.id


async def _people(s: Site) -> None:
    await make_role(s.app, "console", LAN, "Nguyễn Thị Lan", "SCT-VP", "to_truong", "+84912345678")
    await make_role(s.app, "console", BINH, "Lê Văn Bình", "SCT-VP", "to_truong", "+84912345679")
    async with s.app.db.session() as session:
        for member in (await session.exec(select(Member))).all():
            if member.full_name == "Nguyễn Thị Lan":
                member.gender, member.joined_union_on = "nu", date(2015, 6, 1)
                session.add(member)
        await session.commit()


async def _pledges(s: Site) -> list[tuple[str, str]]:
    async with s.app.db.session() as session:
        rows = (await session.exec(select(Pledge))).all()
    return sorted((p.title_code, p.commitment) for p in rows)


async def test_pledges_are_registered_on_one_page_with_the_chats_checks(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await _campaign(s)
        assert await s.sign_in(browser, LAN, "/thidua") == "/web/thidua"
        form = await browser.get("/web/thidua")
        assert form.status_code == 200
        assert 'value="LDTT"' in form.text and 'value="GVNDVN"' in form.text
        assert 'value="TCDVM"' not in form.text  # a collective title: the tổ registers it
        csrf = csrf_of(form.text)
        t = s.app.translator()
        nothing = await browser.post("/web/thidua", data={"csrf": csrf})
        assert t("emu.pick_one") in nothing.text
        alone = await browser.post("/web/thidua", data={"csrf": csrf, "title": ["CSTDCS"]})
        assert alone.status_code == 422
        assert "«Chiến sĩ thi đua cơ sở» cần đăng ký kèm «Lao động tiên tiến»" in alone.text
        short = await browser.post(
            "/web/thidua", data={"csrf": csrf, "title": ["LDTT"], "commitment": "x"}
        )
        assert short.status_code == 422
        assert await _pledges(s) == []
        done = await browser.post(
            "/web/thidua",
            data={
                "csrf": csrf,
                "title": ["CSTDCS", "LDTT", "TCDVM", "NOPE"],  # a collective and a made-up one
                "commitment": "Hoàn thành tốt nhiệm vụ được giao",
            },
        )
        assert done.status_code == 200
        assert "Đã ghi nhận đăng ký thi đua năm 2026" in done.text
        assert await _pledges(s) == [
            ("CSTDCS", "Hoàn thành tốt nhiệm vụ được giao"),
            ("LDTT", "Hoàn thành tốt nhiệm vụ được giao"),
        ]
        assert "Đã ghi nhận đăng ký thi đua năm 2026" in s.console.texts(LAN)  # chat confirms
        async with s.app.db.session() as session:
            saved = (
                await session.exec(select(AuditEntry).where(AuditEntry.action == "pledge_saved"))
            ).all()
        assert [json.loads(a.detail_json)["titles"] for a in saved] == [["LDTT", "CSTDCS"]]
        again = await browser.get("/web/thidua")
        assert 'value="LDTT" checked' in again.text


async def test_titles_a_member_cannot_take_show_why(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await _campaign(s)
        await s.sign_in(browser, BINH, "/thidua")
        form = await browser.get("/web/thidua")
        t = s.app.translator()
        assert t("emu.why.women_only") in form.text
        assert t("emu.why.no_join_date", months=10) in form.text
        assert 'value="GVNDVN"' not in form.text
        refused = await browser.post(
            "/web/thidua", data={"csrf": csrf_of(form.text), "title": ["GVNDVN"]}
        )
        assert refused.status_code == 422
        assert await _pledges(s) == []


async def test_without_an_open_campaign_the_page_says_so(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await _campaign(s, open_for=timedelta(hours=2))
        await s.sign_in(browser, LAN, "/thidua")
        s.clock.advance(hours=3)  # past the deadline, the session still open
        page = await browser.get("/web/thidua")
        assert s.app.translator()("emu.none_open") in page.text
