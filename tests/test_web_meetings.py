"""The meetings and polls pages: the organiser's meetings with their answers, a meeting's
invitees (who answered what, who came), the yearly attendance report and its .xlsx; the polls
with their results and, for named polls only and only to those /ketqua shows them, who chose
what. Another union's or another tổ's meeting or poll, a forged id, a plain member: refused
(403) and audited."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
from openpyxl import load_workbook
from sqlmodel import select

from models import meetings, members, units
from models.audit import AuditEntry
from tests.meetings_polls import (
    BOARD,
    LEADER,
    MEMBER,
    OTHER_BOARD,
    OTHER_LEADER,
    meeting,
    people,
    poll,
    two_polls,
    vp_meeting,
)
from tests.web import Site, csrf_of, site


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list((await session.exec(query)).all())


def _cells(html: str) -> list[list[str]]:
    """The body rows of the page's tables, as text."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", "", c).split())
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)
        ]
        for r in rows
        if "<td" in r
    ]


# --- meetings -------------------------------------------------------------------------------
async def test_the_meetings_page_lists_the_organisers_meetings_with_their_answers(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        await vp_meeting(s, ids)
        await meeting(
            s, "SXD-VP", "Họp tổ Sở Xây dựng", {ids["Nguyễn Văn Xây"]: ("yes", None, False)}
        )
        await meeting(s, "SCT-KT", "Họp tổ Kỹ thuật", {}, hours=-72)  # held 3 days ago
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/hop")
        assert page.status_code == 200
        rows = _cells(page.text)
        # title (unit), when, invited, yes, maybe, no, not answered, present
        assert rows[0][0].startswith("Sinh hoạt tổ tháng 12") and rows[0][2:] == [
            "4",
            "1",
            "1",
            "1",
            "1",
            "1",
        ]
        assert rows[1][0].startswith("Họp tổ Kỹ thuật")
        assert "Đã diễn ra trong 30 ngày qua" in page.text
        assert "Họp tổ Sở Xây dựng" not in page.text
        assert "/web/hop/baocao" in page.text
        # A tổ trưởng sees their own tổ only, and no yearly report (the board's, as in chat).
        async with s.browser() as leader:
            await s.sign_in(leader, LEADER)
            mine = await leader.get("/web/hop")
            assert "Sinh hoạt tổ tháng 12" in mine.text and "Họp tổ Kỹ thuật" not in mine.text
            assert "/web/hop/baocao" not in mine.text


async def test_a_meetings_page_shows_who_answered_what_and_who_came(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        meeting_id = await vp_meeting(s, ids)
        await s.sign_in(browser, LEADER)
        page = await browser.get("/web/hop/xem", params={"id": meeting_id})
        assert page.status_code == 200
        assert "K7MX3P" in page.text and "Phòng họp tầng 3" in page.text
        rows = [r[1:] for r in _cells(page.text)]
        assert rows == [  # the Vietnamese order: An, Ánh, Bình, Dũng
            ["Phạm Văn An", "Tổ công đoàn Văn phòng", "Chưa trả lời", "", "Chưa điểm danh"],
            ["Nguyễn Thị Ánh", "Tổ công đoàn Văn phòng", "Vắng", "Đi công tác", "Chưa điểm danh"],
            [
                "Lê Văn Bình",
                "Tổ công đoàn Văn phòng",
                "Tham dự",
                "",
                "Có mặt (tự điểm danh lúc Thứ Hai, 23/11/2026 09:00)",
            ],
            ["Hoàng Văn Dũng", "Tổ công đoàn Văn phòng", "Chưa chắc chắn", "", "Chưa điểm danh"],
        ]
        silent = await browser.get("/web/hop/xem", params={"id": meeting_id, "traloi": "none"})
        assert [r[1] for r in _cells(silent.text)] == ["Phạm Văn An"]
        absent = await browser.get("/web/hop/xem", params={"id": meeting_id, "traloi": "no"})
        assert [r[1] for r in _cells(absent.text)] == ["Nguyễn Thị Ánh"]


async def test_the_organiser_ticks_who_came_once_the_meeting_opens(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        an, anh, binh = ids["Phạm Văn An"], ids["Nguyễn Thị Ánh"], ids["Lê Văn Bình"]
        later = await vp_meeting(s, ids)  # in two days: too early to take attendance
        now = await meeting(
            s,
            "SCT-VP",
            "Họp tổ đột xuất",
            {an: ("yes", None, False), anh: ("yes", None, False), binh: ("yes", None, True)},
            hours=-0.25,
        )
        await s.sign_in(browser, LEADER)
        page = await browser.get("/web/hop/xem", params={"id": now})
        assert 'name="present"' in page.text
        stranger = ids["Nguyễn Văn Xây"]  # another union's member, not invited
        form = {
            "csrf": csrf_of(page.text),
            "shown": [str(an), str(anh), str(binh), str(stranger)],
            "present": [str(an), str(stranger)],  # An came; Bình's tick taken off
        }
        saved = await browser.post(f"/web/hop/xem?id={now}", data=form)
        assert saved.status_code == 200
        assert "Đã lưu điểm danh: 2 thay đổi." in saved.text
        assert "1 người không có trong danh sách mời" in saved.text
        async with s.app.db.session() as session:
            came = {i.member_id: bool(i.attended) for i in await meetings.invites(session, now)}
        assert came == {an: True, anh: False, binh: False}
        marked = await _audit(s, "attendance_marked")
        assert sorted(json.loads(m.detail_json)["member"] for m in marked) == sorted([an, binh])
        denied = await _audit(s, "access_denied")
        assert [json.loads(d.detail_json).get("member") for d in denied] == [stranger]
        early = await browser.get("/web/hop/xem", params={"id": later})
        assert 'name="present"' not in early.text
        refused = await browser.post(
            f"/web/hop/xem?id={later}",
            data={"csrf": csrf_of(early.text), "shown": [str(an)], "present": [str(an)]},
        )
        assert "Chỉ điểm danh được từ 30 phút trước giờ họp." in refused.text
        async with s.app.db.session() as session:
            assert (await meetings.invite(session, later, an)).attended is None  # type: ignore[union-attr]
        no_token = await browser.post(
            f"/web/hop/xem?id={now}", data={"shown": [str(anh)], "present": [str(anh)]}
        )
        assert no_token.status_code == 403


async def _refused(browser: httpx.AsyncClient, path: str, **params: object) -> str:
    answer = await browser.get(path, params=params)
    assert answer.status_code == 403, (path, params, answer.status_code)
    return answer.text


async def test_another_unions_or_tos_meeting_and_forged_ids_are_refused_and_audited(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s:
        ids = await people(s)
        meeting_id = await vp_meeting(s, ids)
        for who in (OTHER_BOARD, OTHER_LEADER):
            async with s.browser() as browser:
                await s.sign_in(browser, who)
                text = await _refused(browser, "/web/hop/xem", id=meeting_id)
                assert "Nguyễn Thị Ánh" not in text and "K7MX3P" not in text
                assert "Không tìm thấy cuộc họp này" in text
                listed = await browser.get("/web/hop")
                assert "Sinh hoạt tổ tháng 12" not in listed.text
        async with s.browser() as browser:
            await s.sign_in(browser, BOARD)
            for forged in ("999999", "abc", "-1", "1 OR 1=1", ""):
                await _refused(browser, "/web/hop/xem", id=forged)
        denied = await _audit(s, "access_denied")
        assert [(d.actor, d.target) for d in denied] == [
            (f"console:{OTHER_BOARD}", f"meeting:{meeting_id}"),
            (f"console:{OTHER_LEADER}", f"meeting:{meeting_id}"),
            *[
                (f"console:{BOARD}", f"meeting:{f}")
                for f in ("999999", "abc", "-1", "1 OR 1=1", "")
            ],
        ]


async def test_a_member_or_a_former_to_truong_cannot_open_the_meetings_or_polls(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s:
        ids = await people(s)
        meeting_id = await vp_meeting(s, ids)
        poll_id = await poll(s, "SCT-VP", "Đi dã ngoại?", ["Có", "Không"], {})
        async with s.browser() as browser:  # a member's session, from a page link
            await s.sign_in(browser, MEMBER, "/hoso")
            for path in (
                "/web/hop",
                "/web/hop/xem",
                "/web/hop/baocao",
                "/web/binhchon",
                "/web/binhchon/xem",
            ):
                await _refused(browser, path, id=meeting_id if "hop" in path else poll_id)
        async with s.browser() as browser:  # a tổ trưởng whose role was taken back
            await s.sign_in(browser, LEADER)
            assert (await browser.get("/web/hop")).status_code == 200
            async with s.app.db.session() as session:
                leader = (
                    await session.exec(
                        select(members.Member).where(members.Member.full_name == "Phạm Văn Tổ")
                    )
                ).one()
                unit = await units.by_code(session, "SCT-VP")
                assert leader.id is not None and unit is not None
                from models import roles

                await roles.revoke(session, leader.id, "to_truong", unit)
                await session.commit()
            text = await _refused(browser, "/web/hop/xem", id=meeting_id)
            assert "Nguyễn Thị Ánh" not in text
            await _refused(browser, "/web/binhchon/xem", id=poll_id)
        targets = [d.target for d in await _audit(s, "access_denied")]
        assert targets == [
            "web:/web/hop",
            "web:/web/hop/xem",
            "web:/web/hop/baocao",
            "web:/web/binhchon",
            "web:/web/binhchon/xem",
            "web:/web/hop/xem",
            "web:/web/binhchon/xem",
        ]


async def test_the_yearly_attendance_report_and_its_spreadsheet(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        await meeting(
            s,
            "SCT-VP",
            "Họp tháng 10",
            {ids["Lê Văn Bình"]: ("yes", None, True), ids["Nguyễn Thị Ánh"]: ("yes", None, True)},
            hours=-24 * 30,
        )
        await meeting(
            s,
            "SCT-VP",
            "Họp tháng 11",
            {ids["Lê Văn Bình"]: ("yes", None, True), ids["Nguyễn Thị Ánh"]: ("no", "Ốm", False)},
            hours=-24,
        )
        await meeting(
            s, "SXD-VP", "Họp Sở Xây dựng", {ids["Nguyễn Văn Xây"]: ("yes", None, True)}, hours=-24
        )
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/hop/baocao")
        assert page.status_code == 200
        assert _cells(page.text) == [
            ["1", "Nguyễn Thị Ánh", "2", "1", "50"],
            ["2", "Lê Văn Bình", "2", "2", "100"],
        ]
        assert "tỷ lệ có mặt chung 75%" in page.text
        past_the_end = await browser.get("/web/hop/baocao", params={"trang": "9"})
        assert _cells(past_the_end.text) == []
        assert "2 đoàn viên được mời họp; tỷ lệ có mặt chung 75%" in past_the_end.text
        assert "chưa có cuộc họp nào" not in past_the_end.text and 'rel="prev"' in past_the_end.text
        empty = await browser.get("/web/hop/baocao", params={"nam": "2025"})
        assert "Năm 2025 chưa có cuộc họp nào" in empty.text
        bad = await browser.get("/web/hop/baocao", params={"nam": "1850"})
        assert bad.status_code == 422
        sheet = await browser.get("/web/hop/baocao.xlsx", params={"nam": "2026"})
        assert sheet.status_code == 200
        assert 'filename="chuyen-can-2026.xlsx"' in sheet.headers["content-disposition"]
        ws = load_workbook(io.BytesIO(sheet.content)).active
        assert ws is not None
        assert [list(r) for r in ws.iter_rows(min_row=3, values_only=True)] == [
            [1, "Nguyễn Thị Ánh", 2, 1, 50],
            [2, "Lê Văn Bình", 2, 2, 100],
        ]
        exported = await _audit(s, "attendance_exported")
        via = [(e.target, json.loads(e.detail_json).get("via")) for e in exported]
        assert via == [("2026", "web")]
        async with s.browser() as leader:  # /baocaohop is the board's
            await s.sign_in(leader, LEADER)
            await _refused(leader, "/web/hop/baocao")
            await _refused(leader, "/web/hop/baocao.xlsx")


# --- polls ----------------------------------------------------------------------------------
async def test_a_named_polls_results_show_who_chose_what_to_the_board(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        named, _secret = await two_polls(s, ids)
        await poll(s, "SXD-VP", "Câu hỏi của Sở Xây dựng?", ["A", "B"], {})
        await s.sign_in(browser, BOARD)
        listed = await browser.get("/web/binhchon")
        assert "Đi dã ngoại thứ Bảy?" in listed.text and "Tín nhiệm tổ trưởng?" in listed.text
        assert "Câu hỏi của Sở Xây dựng?" not in listed.text
        page = await browser.get("/web/binhchon/xem", params={"id": named})
        assert page.status_code == 200
        results = [r[:3] for r in _cells(page.text)]
        assert results == [
            ["1. Có", "2", "67%"],
            ["2. Không", "1", "33%"],
            ["3. Có thể", "0", "0%"],
        ]
        assert 'width="100.0"' in page.text and 'width="50.0"' in page.text  # the bars
        who = page.text[page.text.index("Ai chọn gì") :]
        assert who.index("Nguyễn Thị Ánh") < who.index("Lê Văn Bình") < who.index("Hoàng Văn Dũng")
        assert "Chưa trả lời (1)" in page.text and "Phạm Văn An" in page.text
        assert [a.target for a in await _audit(s, "poll_votes_viewed")] == [f"poll:{named}"]
        sheet = await browser.get("/web/binhchon.xlsx", params={"id": named})
        assert sheet.status_code == 200
        book = load_workbook(io.BytesIO(sheet.content))
        assert len(book.worksheets) == 3  # results, ballots, not answered (as /ketqua's)


async def test_an_anonymous_poll_never_shows_who_chose_what(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        ids = await people(s)
        _named, secret = await two_polls(s, ids)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/binhchon/xem", params={"id": secret})
        assert page.status_code == 200
        assert [r[:2] for r in _cells(page.text)] == [
            ["1. Tín nhiệm", "2"],
            ["2. Không tín nhiệm", "1"],
        ]
        for name in ("Lê Văn Bình", "Nguyễn Thị Ánh", "Hoàng Văn Dũng"):
            assert name not in page.text
        assert "Bình chọn ẩn danh" in page.text
        assert await _audit(s, "poll_votes_viewed") == []
        sheet = await browser.get("/web/binhchon.xlsx", params={"id": secret})
        book = load_workbook(io.BytesIO(sheet.content))
        cells = [
            str(c) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r
        ]
        assert not any(n in cells for n in ("Lê Văn Bình", "Nguyễn Thị Ánh", "Hoàng Văn Dũng"))


async def test_a_to_truong_sees_the_counts_of_the_boards_poll_but_not_the_names(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s:
        ids = await people(s)
        named, _secret = await two_polls(s, ids)
        async with s.browser() as browser:
            await s.sign_in(browser, LEADER)
            page = await browser.get("/web/binhchon/xem", params={"id": named})
            assert page.status_code == 200
            assert _cells(page.text)[0][:2] == ["1. Có", "2"]
            for name in ("Lê Văn Bình", "Nguyễn Thị Ánh", "Phạm Văn An"):
                assert name not in page.text
            assert "Chỉ người tạo bình chọn và Ban Chấp hành" in page.text
            await _refused(browser, "/web/binhchon.xlsx", id=named)
        for who in (OTHER_BOARD, OTHER_LEADER):  # another union's board, another tổ
            async with s.browser() as browser:
                await s.sign_in(browser, who)
                text = await _refused(browser, "/web/binhchon/xem", id=named)
                assert "Đi dã ngoại" not in text
                await _refused(browser, "/web/binhchon.xlsx", id=named)
                assert "Đi dã ngoại" not in (await browser.get("/web/binhchon")).text
        async with s.browser() as browser:
            await s.sign_in(browser, BOARD)
            for forged in ("424242", "x", ""):
                await _refused(browser, "/web/binhchon/xem", id=forged)
        denied = [(d.actor, d.target) for d in await _audit(s, "access_denied")]
        assert denied == [
            (f"console:{LEADER}", f"poll:{named}"),
            (f"console:{OTHER_BOARD}", f"poll:{named}"),
            (f"console:{OTHER_BOARD}", f"poll:{named}"),
            (f"console:{OTHER_LEADER}", f"poll:{named}"),
            (f"console:{OTHER_LEADER}", f"poll:{named}"),
            *[(f"console:{BOARD}", f"poll:{f}") for f in ("424242", "x", "")],
        ]
