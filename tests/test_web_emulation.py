"""The board's emulation pages on the web: the progress page shows the chat report's figures
(/thidua_baocao: per title, per unit, the targets, the same chart and spreadsheet); the review
page records decisions for several members at once through /thidua_xet's own rules (the
CSTĐCS cap, titles needed first), audited as the chat's buttons are; only the CĐCS's own
board, forged ids and values refused."""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.chat import Event
from handlers.emulation import board_pages
from models.audit import AuditEntry
from models.emulation import Pledge
from models.members import Member
from tests.emulation_world import (
    BOARD,
    LEADER,
    MEMBER,
    OTHER_BOARD,
    REVIEW_TIME,
    pledged_world,
)
from tests.web import Site, csrf_of, site, unit_id

PROGRESS, REVIEW = "/web/thidua/tiendo", "/web/thidua/xet"


async def _press(s: Site, user_id: str, payload: str) -> None:
    """A chat button pressed (the console shows them as numbered choices)."""
    await s.app.handle(
        Event(
            platform="console",
            event_id=uuid.uuid4().hex,
            chat_id=user_id,
            chat_kind="private",
            user_id=user_id,
            user_name="",
            payload=payload,
        )
    )


async def _pledges(s: Site) -> dict[tuple[str, str], Pledge]:
    """Pledges by (the last word of the member's name, title code)."""
    async with s.app.db.session() as session:
        rows = (await session.exec(select(Pledge, Member).join(Member))).all()
    return {(m.full_name.split()[-1], p.title_code): p for p, m in rows}


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.exec(query)).all())


def _text(page: str) -> str:
    """A page's visible text, tags dropped, spaces squeezed."""
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def _decide(browser: httpx.AsyncClient, data: dict[str, str], path: str = REVIEW) -> str:
    form = await browser.get(path)
    assert form.status_code == 200, form.text
    answer = await browser.post(path, data={"csrf": csrf_of(form.text), **data})
    assert answer.status_code == 200, answer.text
    return answer.text


# --- progress -------------------------------------------------------------------------------------
async def test_the_progress_page_shows_the_chat_reports_figures(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await pledged_world(s)
        await s.say(BOARD, "/thidua_baocao")
        chat = s.console.texts(BOARD)
        assert "ĐĂNG KÝ THI ĐUA NĂM 2026" in chat
        await s.sign_in(browser, BOARD)
        page = await browser.get(PROGRESS)
        assert page.status_code == 200, page.text
        # per title: "• Lao động tiên tiến: 14/17 (82 %)" in chat, a row of the table here
        lines = re.findall(r"^• (.+?): ([\d.]+)/([\d.]+) \((.+?)\)$", chat, re.M)
        assert len(lines) >= 5
        rows = re.findall(
            r'<th scope="row">([^<]+)</th>\s*<td>([\d.]+)</td>\s*<td>([\d.]+)</td>\s*'
            r'<td class="bar"><meter[^>]*></meter> <span>([^<]+)</span>',
            page.text,
        )
        assert [tuple(html.unescape(x) for x in row) for row in rows] == lines
        assert ("Lao động tiên tiến", "14", "17", "82\u00a0%") in lines
        # per unit: "• Tổ công đoàn Văn phòng: 11 ĐV · LĐTT 10, CSTĐCS 3, …" in chat
        text = _text(page.text)
        for name, count in re.findall(r"^• (Tổ công đoàn [^:]+): ([\d.]+) ĐV", chat, re.M):
            assert f"{name} {count} " in text
        # the targets, each with where it stands, marked as in chat
        marks = {"✅": "Đã đạt", "⏳": "Chờ bình xét", "⚠️": "Chưa đạt"}
        targets = re.findall(r"^(✅|⏳|⚠️) (.+) — hiện tại: (.+)$", chat, re.M)
        assert len(targets) == 4
        for mark, target, now in targets:
            assert f"{marks[mark]} — {target} — hiện tại: {now}" in text
        # the chart: the chat's own picture, described for those who cannot see it
        alt = re.search(r'<img class="chart" src="([^"]+)" alt="([^"]+)"', page.text)
        assert alt is not None and "Lao động tiên tiến 82\u00a0%" in html.unescape(alt.group(2))
        chart = await browser.get(alt.group(1))
        assert chart.headers["content-type"] == "image/png"
        sent = [m.image.content for m in s.console.to(BOARD) if m.image is not None]
        assert chart.content == sent[-1]


async def test_the_spreadsheet_is_the_chats_and_is_audited(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        campaign = await pledged_world(s)
        await s.sign_in(browser, BOARD)
        answer = await browser.get("/web/thidua/baocao.xlsx")
        assert answer.status_code == 200
        assert "dang-ky-thi-dua-2026-SCT.xlsx" in answer.headers["content-disposition"]
        book = load_workbook(io.BytesIO(answer.content))
        assert "Tổng hợp" in book.sheetnames and "Đoàn viên" in book.sheetnames
        people = [row for row in book["Đoàn viên"].iter_rows(min_row=2, values_only=True)]
        assert len(people) == 17  # every active member of SCT, SXD's not among them
        assert sum(1 for row in people if row[3] and "CSTĐCS" in row[3]) == 4
        [entry] = await _audit(s, "emulation_report")
        assert entry.target == f"campaign:{campaign}" and entry.actor == f"console:{BOARD}"
        assert json.loads(entry.detail_json) == {"via": "web"}


# --- the review -----------------------------------------------------------------------------------
async def test_decisions_are_saved_and_audited_as_the_chats_buttons(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await pledged_world(s)
        s.clock.set(REVIEW_TIME)
        pledges = await _pledges(s)
        # one decision in chat, with /thidua_xet's button
        await _press(s, BOARD, f"v1:emx:r:{pledges['V4', 'LDTT'].id}:d")
        assert (await _pledges(s))["V4", "LDTT"].result == "dat"
        await s.sign_in(browser, BOARD)
        page = await browser.get(REVIEW)
        text = _text(page.text)
        assert "Bình xét thi đua năm 2026" in text
        assert "14/17 đoàn viên đã đăng ký thi đua (3 người không đăng ký" in text
        assert "Chiến sĩ thi đua cơ sở: đã xét 0/0 suất" in text
        assert "Đỗ Văn Mới" not in text  # did not register: not reviewed
        # several at once on the web
        done = await _decide(
            browser,
            {
                f"r-{pledges['V0', 'LDTT'].id}": "dat",
                f"r-{pledges['V0', 'DVXS'].id}": "chua_dat",
                f"r-{pledges['V1', 'LDTT'].id}": "dat",
                f"r-{pledges['V4', 'LDTT'].id}": "dat",  # already so: not recorded again
            },
        )
        assert "Đã lưu 3 kết quả bình xét." in done
        after = await _pledges(s)
        assert after["V0", "LDTT"].result == "dat" and after["V0", "DVXS"].result == "chua_dat"
        assert after["V1", "LDTT"].result == "dat" and after["V2", "LDTT"].result is None
        decided = await _audit(s, "pledge_decided")
        assert [(a.actor, a.target, json.loads(a.detail_json)) for a in decided] == [
            (f"console:{BOARD}", f"pledge:{pledges['V4', 'LDTT'].id}", {"result": "dat"}),
            # a result taken back is recorded before awards (here nothing stands on it)
            (f"console:{BOARD}", f"pledge:{pledges['V0', 'DVXS'].id}", {"result": "chua_dat"}),
            (f"console:{BOARD}", f"pledge:{pledges['V0', 'LDTT'].id}", {"result": "dat"}),
            (f"console:{BOARD}", f"pledge:{pledges['V1', 'LDTT'].id}", {"result": "dat"}),
        ]
        # the page shows them now; the board's chat is not written to from the page
        assert f'name="r-{pledges["V0", "LDTT"].id}" value="dat" checked' in done
        assert "Đã lưu" not in s.console.texts(BOARD)


async def test_the_cstdcs_cap_and_needed_titles_apply_as_in_chat(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await pledged_world(s)
        s.clock.set(REVIEW_TIME)
        pledges = await _pledges(s)
        await s.sign_in(browser, BOARD)
        # 14 reach LĐTT (15 % of 14: two places) in the same press as three CSTĐCS: LĐTT are
        # recorded first, so the places exist; the third CSTĐCS is refused by the cap
        data = {f"r-{pledges[who, 'CSTDCS'].id}": "dat" for who in ("V0", "V1", "V2")}
        data.update({f"r-{p.id}": "dat" for (_, code), p in pledges.items() if code == "LDTT"})
        done = _text(await _decide(browser, data))
        assert "Đã lưu 16 kết quả bình xét." in done
        assert done.count("Đã đủ suất «Chiến sĩ thi đua cơ sở»: đã xét 2/2 suất") == 1
        assert "Đoàn Viên Số V2: Đã đủ suất" in done
        assert "Chiến sĩ thi đua cơ sở: đã xét 2/2 suất (không quá 15\u00a0% của 14" in done
        after = await _pledges(s)
        assert [w for w in ("V0", "V1", "V2") if after[w, "CSTDCS"].result == "dat"] == [
            "V0",
            "V1",
        ]
        # taking back LĐTT from V0, whose CSTĐCS stands on it, is refused with the chat's words
        refused = _text(await _decide(browser, {f"r-{pledges['V0', 'LDTT'].id}": "chua_dat"}))
        assert "Anh/chị chuyển «Chiến sĩ thi đua cơ sở» sang «Chưa đạt» trước" in refused
        assert (await _pledges(s))["V0", "LDTT"].result == "dat"
        # both at once: CSTĐCS is taken back first, then LĐTT
        both = _text(
            await _decide(
                browser,
                {
                    f"r-{pledges['V0', 'LDTT'].id}": "chua_dat",
                    f"r-{pledges['V0', 'CSTDCS'].id}": "chua_dat",
                },
            )
        )
        assert "Đã lưu 2 kết quả bình xét." in both
        # CSTĐCS needs LĐTT reached first
        needs = _text(await _decide(browser, {f"r-{pledges['V0', 'CSTDCS'].id}": "dat"}))
        assert "cần xét đạt «Lao động tiên tiến» cho đoàn viên này trước" in needs
        assert (await _pledges(s))["V0", "CSTDCS"].result == "chua_dat"
        # the progress page's review results are the chat report's
        await s.say(BOARD, "/thidua_baocao")
        chat = s.console.texts(BOARD).split("Kết quả bình xét (đạt / đã đăng ký):")[-1]
        lines = re.findall(r"^• (.+?): ([\d.]+)/([\d.]+) \((.+?)\)$", chat, re.M)
        assert ("Lao động tiên tiến", "13", "14", "93\u00a0%") in lines
        page = (await browser.get(PROGRESS)).text
        rows = re.findall(
            r'<tr><th scope="row">([^<]+)</th><td>([\d.]+)</td><td>([\d.]+)</td>'
            r"<td>([^<]+)</td></tr>",
            page,
        )
        assert [tuple(html.unescape(x) for x in row) for row in rows] == lines


async def test_the_review_list_is_searched_filtered_and_paged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board_pages, "REVIEW_PAGE_SIZE", 5)
    async with site(tmp_path) as s, s.browser() as browser:
        await pledged_world(s)
        await s.sign_in(browser, BOARD)

        def names(page: str) -> list[str]:
            return re.findall(r'<h2 class="name">Đoàn Viên Số (\w+) ', page)

        first = (await browser.get(REVIEW)).text
        assert names(first) == ["K0", "K1", "K2", "K3", "V0"]  # by given name, then the rest
        assert "14 đoàn viên (trang 1/3)." in first
        assert 'href="/web/thidua/xet?trang=2" rel="next"' in first
        last = (await browser.get(REVIEW, params={"trang": "3"})).text
        assert names(last) == ["V6", "V7", "V8", "V9"]
        assert 'rel="prev"' in last and 'rel="next"' not in last
        kt = await unit_id(s.app, "SCT-KT")
        in_unit = (await browser.get(REVIEW, params={"donvi": str(kt)})).text
        assert names(in_unit) == ["K0", "K1", "K2", "K3"]
        found = (await browser.get(REVIEW, params={"q": "doan vien so v1"})).text
        assert names(found) == ["V1"]
        # a decision sent from a filtered page comes back to the same list
        second = await browser.get(REVIEW, params={"donvi": str(kt), "trang": "1"})
        assert f'action="/web/thidua/xet?donvi={kt}&amp;trang=1"' in second.text


async def test_forged_ids_and_values_change_nothing_and_are_audited(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await pledged_world(s)
        s.clock.set(REVIEW_TIME)
        pledges = await _pledges(s)
        theirs, ours = pledges["X0", "LDTT"].id, pledges["V0", "LDTT"].id
        # SXD's board sees its own member only, and posts one of SCT's pledges besides
        await s.sign_in(browser, OTHER_BOARD)
        page = _text((await browser.get(REVIEW)).text)
        assert "Đoàn Viên Số X0" in page and "Đoàn Viên Số V0" not in page
        answer = _text(await _decide(browser, {f"r-{ours}": "dat", f"r-{theirs}": "dat"}))
        assert "Đã lưu 1 kết quả bình xét." in answer  # its own member's
        assert "1 mục không được ghi" in answer
        assert (await _pledges(s))["V0", "LDTT"].result is None
        # SCT's board: SXD's pledge, made-up ids and values, a unit of SXD, a made-up unit
        sxd_unit = await unit_id(s.app, "SXD-VP")
        async with s.browser() as sct:
            await s.sign_in(sct, BOARD)
            forged = _text(
                await _decide(
                    sct,
                    {
                        f"r-{theirs}": "chua_dat",
                        "r-999999": "dat",
                        "r-abc": "dat",
                        f"r-{pledges['V1', 'LDTT'].id}": "yes",
                        f"r-{pledges['V2', 'LDTT'].id}": "dat",
                    },
                )
            )
            assert "Đã lưu 1 kết quả bình xét." in forged
            assert "4 mục không được ghi" in forged
            elsewhere = await sct.get(REVIEW, params={"donvi": str(sxd_unit)})
            assert elsewhere.status_code == 403
            made_up = await sct.get(REVIEW, params={"donvi": "987654"})
            assert made_up.status_code == 403
            too_long = await sct.get(REVIEW, params={"q": "x" * 200, "trang": "-5"})
            assert too_long.status_code == 200
        after = await _pledges(s)
        assert after["X0", "LDTT"].result == "dat"  # SXD's own decision stands
        assert after["V1", "LDTT"].result is None and after["V2", "LDTT"].result == "dat"
        denied = [(a.actor, a.target) for a in await _audit(s, "access_denied")]
        assert (f"console:{OTHER_BOARD}", f"pledge:{ours}") in denied
        assert (f"console:{BOARD}", f"pledge:{theirs}") in denied
        assert (f"console:{BOARD}", f"unit:{sxd_unit}") in denied
        assert (f"console:{BOARD}", "unit:987654") in denied


async def test_who_may_open_the_emulation_pages(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await pledged_world(s)
        for user, status in ((LEADER, 403), (MEMBER, 403), (OTHER_BOARD, 200), (BOARD, 200)):
            async with s.browser() as browser:
                if user == MEMBER:  # a member's own link opens only their own pages
                    await s.sign_in(browser, user, "/thidua")
                else:
                    await s.sign_in(browser, user)
                for path in (PROGRESS, "/web/thidua/tiendo.png", "/web/thidua/baocao.xlsx", REVIEW):
                    answer = await browser.get(path)
                    assert answer.status_code == status, (user, path, answer.text[:200])
        denied = {(a.actor, a.target) for a in await _audit(s, "access_denied")}
        assert (f"console:{LEADER}", f"web:{PROGRESS}") in denied
        assert (f"console:{LEADER}", f"web:{REVIEW}") in denied
        assert (f"console:{MEMBER}", f"web:{REVIEW}") in denied
        # a tổ trưởng has no /thidua_baocao in chat either
        await s.say(LEADER, "/thidua_baocao")
        assert "ĐĂNG KÝ THI ĐUA" not in s.console.texts(LEADER)
        # SXD's board sees SXD's own campaign, none of SCT's figures
        async with s.browser() as browser:
            await s.sign_in(browser, OTHER_BOARD)
            page = await browser.get(PROGRESS)
            assert "Công đoàn cơ sở Sở Xây dựng" in page.text
            assert "Tổ công đoàn Văn phòng</th>" not in page.text
            assert "Tổ công đoàn Kỹ thuật" not in page.text
