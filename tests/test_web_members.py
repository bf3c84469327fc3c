"""The member table's actions on the web: a board edits a member (the chat's rules and
messages, audited as /hoso), moves them within its own units (the chat's function and audit),
imports a roster with a preview that writes nothing and a confirmation that applies what was
previewed; a tổ trưởng reads their own tổ only. Forged units and member ids are refused (403)
and audited."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot import textutil
from handlers.common.fields import FIELDS, field_error
from handlers.members.import_page import UPLOAD_LIMIT
from models import members
from models.audit import AuditEntry
from models.members import Member
from tests.people import add_member
from tests.web import Site, csrf_of, make_role, site, unit_id

BOARD, LEADER, MEMBER = "2", "4", "6"
CARD = "/web/doanvien/hoso"
IMPORT = "/web/doanvien/nhap"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _people(s: Site) -> dict[str, Member]:
    await make_role(s.app, "console", BOARD, "Trần Văn Bảo", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")
    mai = await add_member(s.app, "Vũ Thị Mai", "SCT-VP", "+84906666666")
    async with s.app.db.session() as session:
        ident = await members.ensure_identity(session, "console", MEMBER, "Mai")
        ident.member_id = mai.id
        await session.commit()
    return {
        "binh": await add_member(s.app, "Lê Văn Bình", "SCT-VP", "+84913000001"),
        "anh": await add_member(s.app, "Nguyễn Thị Ánh", "SCT-KT", "+84913000002", gender="nu"),
        "xay": await add_member(s.app, "Nguyễn Văn Xây", "SXD-VP", "+84913000006"),
    }


async def _member(s: Site, member_id: int | None) -> Member:
    async with s.app.db.session() as session:
        found = await session.get(Member, member_id)
    assert found is not None
    return found


async def _all(s: Site) -> list[tuple[Any, ...]]:
    """Every member row as it stands, to prove nothing was written."""
    async with s.app.db.session() as session:
        rows = (await session.exec(select(Member).order_by(Member.id))).all()
    return [tuple(m.model_dump().values()) for m in rows]


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.exec(query)).all())


def _detail(entry: AuditEntry) -> dict[str, Any]:
    return dict(json.loads(entry.detail_json))


def _chat_refusal(s: Site, name: str, typed: str) -> str:
    """What the chat answers when `typed` is given for the field `name`."""
    try:
        FIELDS[name].parse(typed, s.clock.now().date())
    except textutil.InvalidInput as bad:
        return field_error(s.app.translator(), bad, f"field.{name}")
    raise AssertionError(typed)


def _profile(member: Member, **changed: str) -> dict[str, str]:
    """The edit form as the page fills it for `member`, with some fields changed."""
    typed = {
        "full_name": member.full_name,
        "gender": member.gender or "",
        "birth_date": "05/09/1990",
        "phone": textutil.format_phone_local(member.phone or ""),
        "email": member.email or "",
        "job_title": member.job_title or "Chuyên viên",
        "card_number": member.card_number or "",
        "joined_union_on": "",
    }
    return {**typed, **changed}


async def _post(browser: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await browser.get(path)
    return await browser.post(path, data={"csrf": csrf_of(page.text), **data})


# --- edit --------------------------------------------------------------------------------------
async def test_the_board_edits_a_member_by_the_chats_rules(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        people = await _people(s)
        binh = people["binh"]
        await s.sign_in(browser, BOARD)
        card = await browser.get(CARD, params={"id": str(binh.id)})
        assert card.status_code == 200 and 'name="email"' in card.text
        fields = _profile(binh, email="binh.le@gmail.com", job_title="Trưởng phòng Kế hoạch")
        saved = await _post(browser, f"{CARD}?id={binh.id}", action="save", **fields)
        assert saved.status_code == 200, saved.text
        assert re.search(r"Đã lưu: \d+ mục thay đổi.", saved.text)
        after = await _member(s, binh.id)
        assert (after.email, after.job_title) == ("binh.le@gmail.com", "Trưởng phòng Kế hoạch")
        edits = await _audit(s, "profile_updated")
        assert {(e.actor, e.target) for e in edits} == {(f"console:{BOARD}", f"member:{binh.id}")}
        assert {"email", "job_title"} <= {_detail(e)["field"] for e in edits}


async def test_a_bad_value_gets_the_chats_message_and_changes_nothing(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        people = await _people(s)
        binh = people["binh"]
        await s.sign_in(browser, BOARD)
        before = await _all(s)
        fields = _profile(binh, email="binh.le@gmail.com", phone="0912")
        refused = await _post(browser, f"{CARD}?id={binh.id}", action="save", **fields)
        assert refused.status_code == 422
        assert _chat_refusal(s, "phone", "0912") in refused.text
        assert 'id="f-phone" name="phone" value="0912"' in refused.text  # kept as typed
        # a phone that is another member's: the chat's answer, nothing saved
        taken = _profile(binh, phone="0913 000 002", email="binh.le@gmail.com")
        clash = await _post(browser, f"{CARD}?id={binh.id}", action="save", **taken)
        assert clash.status_code == 422 and s.app.translator()("profile.duplicate") in clash.text
        assert await _all(s) == before
        assert await _audit(s, "profile_updated") == []


async def test_a_field_the_member_never_had_may_stay_blank(tmp_path: Path) -> None:
    """A roster row has no birth date: the board fixes the email without inventing one; a
    required field that has a value cannot be emptied (the chat's message)."""
    async with site(tmp_path) as s, s.browser() as browser:
        binh = (await _people(s))["binh"]
        await s.sign_in(browser, BOARD)
        path = f"{CARD}?id={binh.id}"
        saved = await _post(
            browser, path, action="save", **_profile(binh, birth_date="", email="b@gmail.com")
        )
        assert saved.status_code == 200 and "Đã lưu: 1 mục thay đổi." in saved.text
        after = await _member(s, binh.id)
        assert (after.email, after.birth_date) == ("b@gmail.com", None)
        emptied = await _post(
            browser, path, action="save", **_profile(after, birth_date="", job_title="")
        )
        assert emptied.status_code == 422
        assert _chat_refusal(s, "job_title", "") in emptied.text
        assert (await _member(s, binh.id)).job_title == "Chuyên viên"


# --- move --------------------------------------------------------------------------------------
async def test_the_board_moves_a_member_inside_its_units_only(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        people = await _people(s)
        binh = people["binh"]
        kt, sxd = await unit_id(s.app, "SCT-KT"), await unit_id(s.app, "SXD-VP")
        await s.sign_in(browser, BOARD)
        card = await browser.get(CARD, params={"id": str(binh.id)})
        assert f'<option value="{kt}">' in card.text and f'value="{sxd}"' not in card.text
        forged = await _post(browser, f"{CARD}?id={binh.id}", action="move", unit=str(sxd))
        assert forged.status_code == 403
        assert (await _member(s, binh.id)).unit_id == await unit_id(s.app, "SCT-VP")
        denied = await _audit(s, "access_denied")
        assert [(d.actor, d.target) for d in denied] == [(f"console:{BOARD}", f"unit:{sxd}")]
        moved = await _post(browser, f"{CARD}?id={binh.id}", action="move", unit=str(kt))
        assert moved.status_code == 200
        assert "Đã chuyển Lê Văn Bình sang Tổ công đoàn Kỹ thuật" in moved.text
        assert (await _member(s, binh.id)).unit_id == kt
        [audit] = await _audit(s, "member_moved")
        assert (audit.target, _detail(audit)) == (
            f"member:{binh.id}",
            {"from_unit": "SCT-VP", "to_unit": "SCT-KT"},
        )


async def test_left_and_back_as_the_chats_buttons(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        binh = (await _people(s))["binh"]
        await s.sign_in(browser, BOARD)
        unticked = await _post(browser, f"{CARD}?id={binh.id}", action="left")
        assert "Chưa thực hiện được" in unticked.text
        assert (await _member(s, binh.id)).status == "active"
        left = await _post(browser, f"{CARD}?id={binh.id}", action="left", confirm="yes")
        assert "Đã ghi nhận Lê Văn Bình đã rời công đoàn." in left.text
        assert (await _member(s, binh.id)).status == "left"
        back = await _post(browser, f"{CARD}?id={binh.id}", action="back")
        assert "sinh hoạt trở lại" in back.text
        assert (await _member(s, binh.id)).status == "active"
        assert [len(await _audit(s, a)) for a in ("member_left", "member_back")] == [1, 1]


# --- who may open what -------------------------------------------------------------------------
async def test_a_to_truong_reads_their_tổ_and_nothing_else(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        people = await _people(s)
        binh, anh, xay = people["binh"], people["anh"], people["xay"]
        await s.sign_in(browser, LEADER)
        own = await browser.get(CARD, params={"id": str(binh.id)})
        assert own.status_code == 200 and "0913 000 001" in own.text
        assert 'name="email"' not in own.text and 'value="move"' not in own.text  # read only
        before = await _all(s)
        edit = await browser.post(
            f"{CARD}?id={binh.id}",
            data={"csrf": csrf_of(own.text), "action": "save", **_profile(binh, email="a@b.vn")},
        )
        assert edit.status_code == 403
        for other in (anh, xay):  # another tổ, another union: refused
            refused = await browser.get(CARD, params={"id": str(other.id)})
            assert refused.status_code == 403 and other.full_name not in refused.text
        assert (await browser.get(IMPORT)).status_code == 403
        assert await _all(s) == before
        denied = [d.target for d in await _audit(s, "access_denied")]
        assert denied == [
            f"member:{binh.id}",
            f"member:{anh.id}",
            f"member:{xay.id}",
            f"web:{IMPORT}",
        ]


async def test_the_board_cannot_open_another_unions_member(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        xay = (await _people(s))["xay"]
        await s.sign_in(browser, BOARD)
        refused = await browser.get(CARD, params={"id": str(xay.id)})
        assert refused.status_code == 403 and "Nguyễn Văn Xây" not in refused.text
        unknown = await browser.get(CARD, params={"id": "99999"})
        assert unknown.status_code == 404
        odd = await browser.get(CARD, params={"id": "' OR 1=1"})
        assert odd.status_code == 404
        assert [d.target for d in await _audit(s, "access_denied")] == [f"member:{xay.id}"]


@pytest.mark.parametrize(
    ("who", "table", "card", "import_page"),
    [(MEMBER, 403, 403, 403), (LEADER, 200, 200, 403), (BOARD, 200, 200, 200)],
)
async def test_access_matrix(
    tmp_path: Path, who: str, table: int, card: int, import_page: int
) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        binh = (await _people(s))["binh"]
        await s.sign_in(browser, who, "/hoso" if who == MEMBER else "/web")
        assert (await browser.get("/web/doanvien")).status_code == table
        assert (await browser.get(CARD, params={"id": str(binh.id)})).status_code == card
        assert (await browser.get(IMPORT)).status_code == import_page
        refused = sum(code == 403 for code in (table, card, import_page))
        assert len(await _audit(s, "access_denied")) == refused


# --- the roster import -------------------------------------------------------------------------
def _roster(*rows: list[Any], header: bool = True) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Danh sách đoàn viên"])
    if header:
        ws.append(["STT", "Họ và tên", "Giới tính", "Số điện thoại", "Chức vụ", "Mã đơn vị"])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


ROSTER = _roster(
    [1, "Đặng Thị Hoa", "Nữ", "0914 000 001", "Kế toán", "SCT-KT"],  # new
    [2, "Lê Văn Bình", "Nam", "0913000001", "Trưởng phòng", "SCT-VP"],  # job changes
    [3, "Nguyễn Thị Ánh", "", "0913000002", "", "SCT-KT"],  # nothing changes
    [4, "Số Sai", "Nam", "12345", "", "SCT-KT"],  # bad phone
    [5, "Người Khác", "Nam", "0914 000 005", "", "SXD-VP"],  # another union's unit
    [6, "Không Có", "Nam", "0914 000 006", "", "KHONGCO"],  # no such unit
    [7, "Nguyễn Văn Xây", "Nam", "0913000006", "", "SCT-VP"],  # another union's member
    [8, "Hoa Lần Hai", "Nữ", "0914000001", "", "SCT-VP"],  # same phone as row 1
)


async def _preview(browser: httpx.AsyncClient, content: bytes, name: str = "ds.xlsx") -> Any:
    form = await browser.get(IMPORT)
    return await browser.post(
        IMPORT,
        data={"csrf": csrf_of(form.text), "action": "preview"},
        files={"file": (name, content, XLSX)},
    )


def _confirm_form(html: str) -> dict[str, str]:
    found = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))
    assert found.get("action") == "confirm", html
    return found


def _roster_refusal(s: Site, phone: str) -> str:
    try:
        textutil.parse_phone(phone)
    except textutil.InvalidInput as bad:
        return s.app.translator()(bad.key, **bad.params)
    raise AssertionError(phone)


async def test_the_preview_writes_nothing_and_the_confirmation_applies_it(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        people = await _people(s)
        await s.sign_in(browser, BOARD)
        before = await _all(s)
        preview = await _preview(browser, ROSTER)
        assert preview.status_code == 200, preview.text
        text = preview.text
        assert "1 người mới, 1 người được cập nhật, 1 người không thay đổi, 5 dòng có lỗi" in text
        assert "Đặng Thị Hoa" in text
        assert "Chức vụ, công việc: <del>Chuyên viên</del> → <ins>Trưởng phòng</ins>" in text
        t = s.app.translator()
        reasons = [
            "cột «Số điện thoại»: " + _roster_refusal(s, "12345"),
            "đơn vị mã «SXD-VP» không thuộc phạm vi anh/chị quản lý.",
            "không có đơn vị mã «KHONGCO».",
            t("roster.err.member_not_yours"),
            "trùng số điện thoại hoặc số thẻ với dòng 3 của tệp.",
        ]
        for reason in reasons:
            assert reason in text, reason
        assert await _all(s) == before  # nothing written
        assert await _audit(s, "roster_imported") == []
        done = await browser.post(IMPORT, data=_confirm_form(text))
        assert done.status_code == 200
        assert (
            "1 người mới, 1 người được cập nhật, 1 người không thay đổi, 5 dòng bỏ qua" in done.text
        )
        async with s.app.db.session() as session:
            hoa = (await session.exec(select(Member).where(Member.phone == "+84914000001"))).all()
        assert [(m.full_name, m.status, m.gender) for m in hoa] == [
            ("Đặng Thị Hoa", "roster", "nu")
        ]
        assert (await _member(s, people["binh"].id)).job_title == "Trưởng phòng"
        assert (await _member(s, people["xay"].id)).unit_id == await unit_id(s.app, "SXD-VP")
        [audit] = await _audit(s, "roster_imported")
        assert (audit.actor, audit.target) == (f"console:{BOARD}", "ds.xlsx")
        assert _detail(audit) == {"created": 1, "updated": 1, "skipped": 5, "via": "web"}
        again = await browser.post(IMPORT, data=_confirm_form(text))  # the upload is spent
        assert "không còn được giữ" in again.text
        assert len(await _audit(s, "roster_imported")) == 1


async def test_the_confirmation_applies_only_what_was_previewed(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        preview = await _preview(browser, ROSTER)
        form = _confirm_form(preview.text)
        # Meanwhile Hoa registers in chat with the same phone: the plan is no longer the one shown.
        await add_member(s.app, "Đặng Thị Hoa", "SCT-KT", "+84914000001", gender="nu")
        before = await _all(s)
        changed = await browser.post(IMPORT, data=form)
        assert "Dữ liệu đã thay đổi từ lúc xem trước nên chưa ghi gì" in changed.text
        assert await _all(s) == before
        done = await browser.post(IMPORT, data=_confirm_form(changed.text))
        assert "0 người mới, 2 người được cập nhật" in done.text
        # another browser session cannot use this session's upload
        async with s.browser() as other:
            await s.sign_in(other, BOARD)
            stolen = await _preview(browser, _roster([1, "Lê Thị Nga", "Nữ", "", "", "SCT-VP"]))
            form = _confirm_form(stolen.text)
            page = await other.get(IMPORT)
            answer = await other.post(IMPORT, data={**form, "csrf": csrf_of(page.text)})
        assert "không còn được giữ" in answer.text


async def test_bad_files_get_a_polite_answer(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await s.sign_in(browser, BOARD)
        before = await _all(s)
        t = s.app.translator()
        not_xlsx = await _preview(browser, b"Ho ten;Ma don vi\nLan;SCT-VP\n", "ds.csv")
        assert not_xlsx.status_code == 422 and t("roster.bad_file") in not_xlsx.text
        fake_zip = await _preview(browser, b"PK\x03\x04" + b"\x00" * 200)
        assert fake_zip.status_code == 422 and t("roster.bad_file") in fake_zip.text
        no_header = await _preview(browser, _roster([1, "Lan", "Nữ"], header=False))
        assert no_header.status_code == 422 and t("roster.no_header") in no_header.text
        form = await browser.get(IMPORT)
        empty = await browser.post(IMPORT, data={"csrf": csrf_of(form.text), "action": "preview"})
        assert empty.status_code == 422 and t("roster.web.no_file") in empty.text
        huge = await _preview(browser, b"PK" + b"\x00" * (UPLOAD_LIMIT + 1))
        assert huge.status_code == 413 and "Tệp quá lớn (tối đa 5 MB)" in huge.text
        forged = await browser.post(IMPORT, data={"csrf": "0" * 64, "action": "preview"})
        assert forged.status_code == 403
        assert await _all(s) == before
