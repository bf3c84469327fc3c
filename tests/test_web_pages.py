"""The registration form and the board's pending requests page: the chat's rules, messages,
decisions, audit and access, from the browser side (in-process, no browser)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import col, select

from bot import textutil
from bot.adapters.telegram import _inline
from handlers.common.fields import FIELDS, field_error, local_today
from handlers.members.registration import read_reason
from models.audit import AuditEntry
from models.members import Member
from tests.web import Site, csrf_of, make_role, register_on_web, site

BOARD, OTHER_BOARD, LEADER = "2", "3", "4"


async def _people(s: Site) -> None:
    await make_role(s.app, "console", BOARD, "Trần Văn Bình", "SCT", "bch", "+84901111111")
    await make_role(s.app, "console", OTHER_BOARD, "Lê Thị Hoa", "SXD", "bch", "+84902222222")
    await make_role(s.app, "console", LEADER, "Phạm Văn Tổ", "SCT-VP", "to_truong", "+84903333333")


async def _members(s: Site) -> dict[str, Member]:
    async with s.app.db.session() as session:
        rows = (await session.exec(select(Member))).all()
    return {m.full_name: m for m in rows}


async def _audit(s: Site, action: str) -> list[AuditEntry]:
    async with s.app.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
        return list((await session.exec(query)).all())


def _chat_error(s: Site, field: str, typed: str) -> str:
    """What the chat dialog answers when `typed` is given for `field` (the same rules)."""
    t = s.app.translator()
    try:
        FIELDS[field].parse(typed, local_today(t, s.clock.now()))
    except textutil.InvalidInput as bad:
        return field_error(t, bad, f"field.{field}")
    raise AssertionError(f"{typed!r} is valid for {field}")


# --- registration ------------------------------------------------------------------------------
async def test_the_form_refuses_bad_input_with_the_chats_messages(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        sent = await register_on_web(
            s, "1001", "SCT-VP", full_name="lan", phone="0912", birth_date="31/02/1990"
        )
        assert sent.status_code == 422
        for field, typed in (("full_name", "lan"), ("phone", "0912"), ("birth_date", "31/02/1990")):
            assert _chat_error(s, field, typed) in sent.text
        assert "Có 3 mục cần sửa" in sent.text
        assert 'value="0912"' in sent.text  # what was typed stays in the form
        assert [m.status for m in (await _members(s)).values()] == []
        assert await _audit(s, "registration_submitted") == []


async def test_the_form_files_the_same_request_as_the_dialog(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await _people(s)
        sent = await register_on_web(s, "1001", "SCT-VP", card_number="")
        assert sent.status_code == 200
        assert "Đã gửi yêu cầu đăng ký tới Ban Chấp hành" in sent.text
        lan = (await _members(s))["Nguyễn Thị Lan"]
        assert (lan.status, lan.phone, lan.card_number) == ("pending", "+84912345678", None)
        assert lan.birth_date is not None and lan.birth_date.isoformat() == "1990-09-05"
        # The chat confirms to the person; the unit's board is asked, with the buttons.
        assert "Đã gửi yêu cầu đăng ký tới Ban Chấp hành" in s.console.texts("1001")
        request = s.console.to(BOARD)[-1]
        assert "Yêu cầu đăng ký đoàn viên mới — Tổ công đoàn Văn phòng" in request.text
        assert [b.label for row in request.buttons for b in row] == ["✔ Duyệt", "✖ Từ chối"]
        assert s.console.to(OTHER_BOARD) == []  # another union's board hears nothing
        assert [a.target for a in await _audit(s, "registration_submitted")] == [f"member:{lan.id}"]


async def test_a_waiting_request_is_not_filed_twice(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await register_on_web(s, "1001", "SCT-VP")
        await s.say("1001", "/dangky")
        assert "đang chờ Ban Chấp hành duyệt" in s.console.texts("1001").splitlines()[-1]


async def test_a_phone_already_registered_is_refused_on_the_form(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await _people(s)
        sent = await register_on_web(s, "1001", "SCT-VP", phone="0901111111")  # Bình's
        assert sent.status_code == 422
        assert "đã được đăng ký" in sent.text
        assert "Nguyễn Thị Lan" not in await _members(s)
        assert len(await _audit(s, "registration_duplicate")) == 1


# --- the board's page of pending requests ------------------------------------------------------
async def _three_requests(s: Site) -> dict[str, Member]:
    await register_on_web(s, "1001", "SCT-VP")
    await register_on_web(
        s, "1002", "SCT-KT", full_name="Võ Minh Châu", phone="0913000002", gender="nam"
    )
    await register_on_web(s, "1003", "SXD-VP", full_name="Đặng Thu Hà", phone="0913000003")
    return await _members(s)


async def test_the_board_approves_several_requests_at_once(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        people = await _three_requests(s)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/duyet")
        assert page.status_code == 200
        assert "Nguyễn Thị Lan" in page.text and "Võ Minh Châu" in page.text
        assert "Đặng Thu Hà" not in page.text  # another union's request
        board_chat_before = len(s.console.to(BOARD))
        ids = [people["Nguyễn Thị Lan"].id, people["Võ Minh Châu"].id]
        done = await browser.post(
            "/web/duyet",
            data={"csrf": csrf_of(page.text), "action": "approve", "member": ids},
        )
        assert done.status_code == 200
        assert "Đã duyệt 2 đoàn viên" in done.text
        assert "Không có yêu cầu nào đang chờ duyệt" in done.text
        after = await _members(s)
        assert after["Nguyễn Thị Lan"].status == "active"
        assert after["Võ Minh Châu"].status == "active"
        assert after["Đặng Thu Hà"].status == "pending"
        assert "đã được Ban Chấp hành duyệt" in s.console.texts("1001")
        assert "đã được Ban Chấp hành duyệt" in s.console.texts("1002")
        assert len(s.console.to(BOARD)) == board_chat_before  # the page was the answer
        approved = await _audit(s, "member_approved")
        assert sorted(a.target for a in approved) == sorted(f"member:{i}" for i in ids)
        assert {a.actor for a in approved} == {f"console:{BOARD}"}


async def test_another_unions_request_cannot_be_decided_from_the_page(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        people = await _three_requests(s)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/duyet")
        ha = people["Đặng Thu Hà"]
        forged = await browser.post(
            "/web/duyet",
            data={"csrf": csrf_of(page.text), "action": "approve", "member": [ha.id]},
        )
        assert "1 yêu cầu đã được xử lý trước đó hoặc không thuộc phạm vi" in forged.text
        assert (await _members(s))["Đặng Thu Hà"].status == "pending"
        denied = await _audit(s, "access_denied")
        assert [(d.actor, d.target) for d in denied] == [(f"console:{BOARD}", f"member:{ha.id}")]
        assert "đã được Ban Chấp hành duyệt" not in s.console.texts("1003")


async def test_rejecting_needs_a_reason_the_person_is_told(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        people = await _three_requests(s)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/duyet")
        lan = people["Nguyễn Thị Lan"]
        short = await browser.post(
            "/web/duyet",
            data={
                "csrf": csrf_of(page.text),
                "action": "reject",
                "member": [lan.id],
                "reason": "x",
            },
        )
        assert _reason_error(s, "x") in short.text
        assert (await _members(s))["Nguyễn Thị Lan"].status == "pending"
        reason = "Anh/chị không thuộc đơn vị này"
        done = await browser.post(
            "/web/duyet",
            data={
                "csrf": csrf_of(page.text),
                "action": "reject",
                "member": [lan.id],
                "reason": reason,
            },
        )
        assert "Đã từ chối 1 yêu cầu" in done.text
        after = (await _members(s))["Nguyễn Thị Lan"]
        assert (after.status, after.reject_reason) == ("rejected", reason)
        assert f"Lý do: {reason}" in s.console.texts("1001")
        assert [a.target for a in await _audit(s, "member_rejected")] == [f"member:{lan.id}"]


async def test_a_to_truong_cannot_open_the_boards_page(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _people(s)
        await _three_requests(s)
        await s.sign_in(browser, LEADER)  # /web is for organisers: a tổ trưởng gets a link
        home = await browser.get("/web")
        assert home.status_code == 200 and "/web/duyet" not in home.text
        refused = await browser.get("/web/duyet")
        assert refused.status_code == 403
        assert "Nguyễn Thị Lan" not in refused.text
        denied = await _audit(s, "access_denied")
        assert [(d.actor, d.target) for d in denied] == [(f"console:{LEADER}", "web:/web/duyet")]


def _reason_error(s: Site, typed: str) -> str:
    try:
        read_reason(typed)
    except textutil.InvalidInput as bad:
        return s.app.translator()(bad.key, **bad.params)
    raise AssertionError(typed)


# --- how the chat leads to the form ------------------------------------------------------------
async def test_dangky_offers_the_form_as_a_mini_app_on_telegram_and_a_link_elsewhere(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s:
        await s.say("5551", "/dangky", platform="telegram")
        [button] = s.telegram.buttons("5551")[:1]
        assert button.label == "📝 Điền biểu mẫu (nhanh hơn)"
        assert button.web_app == "https://congdoan.example.vn/web/tg?next=/web/dangky"
        assert button.url is None
        markup = _inline(s.telegram.to("5551")[0])
        assert markup is not None
        assert markup.to_dict()["inline_keyboard"][0][0]["web_app"] == {"url": button.web_app}
        # The console (like Zalo) has no Mini Apps: a one-time link for this person instead.
        await s.say("1001", "/dangky")
        links = [b.url for b in s.console.buttons("1001") if b.url]
        assert len(links) == 1 and links[0].startswith("https://congdoan.example.vn/web/in/")
        assert "Bước 1/8" in s.console.texts("1001")  # the chat dialog goes on as before


async def test_without_a_public_address_the_chat_offers_no_page(tmp_path: Path) -> None:
    async with site(tmp_path, public_url="") as s:
        await s.say("1001", "/dangky")
        assert [b.url for b in s.console.buttons("1001") if b.url is not None] == []
        await s.say("1", "/web")
        assert "chưa được cấu hình" in s.console.texts("1")


# --- the member's own profile ------------------------------------------------------------------
async def _lan_member(s: Site) -> None:
    await make_role(
        s.app, "console", "1001", "Nguyễn Thị Lan", "SCT-VP", "to_truong", "+84912345678"
    )


async def test_the_profile_form_saves_what_changed_by_the_chats_rules(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _lan_member(s)
        await _people(s)
        landing = await s.sign_in(browser, "1001", "/hoso")
        assert landing == "/web/hoso"
        form = await browser.get("/web/hoso")
        assert 'value="Nguyễn Thị Lan"' in form.text and 'value="0912 345 678"' in form.text
        csrf = csrf_of(form.text)
        fields = {
            "full_name": "Nguyễn Thị Lan",
            "gender": "nam",
            "birth_date": "",
            "phone": "0912 345 678",
            "email": "",
            "job_title": "Chuyên viên",
            "card_number": "",
            "joined_union_on": "",
        }
        bad = await browser.post(
            "/web/hoso", data={"csrf": csrf, **fields, "email": "lan@", "birth_date": "05/09/1990"}
        )
        assert bad.status_code == 422
        assert _chat_error(s, "email", "lan@") in bad.text
        taken = await browser.post(
            "/web/hoso",
            data={"csrf": csrf, **fields, "phone": "0901111111", "job_title": "Kế toán"},
        )
        assert taken.status_code == 422 and "đã được một đoàn viên khác sử dụng" in taken.text
        lan = (await _members(s))["Nguyễn Thị Lan"]
        assert (lan.phone, lan.job_title) == ("+84912345678", "Chuyên viên")  # nothing kept
        saved = await browser.post(
            "/web/hoso",
            data={
                "csrf": csrf,
                **fields,
                "email": "Lan.Nguyen@Gmail.com",
                "birth_date": "05/09/1990",
            },
        )
        assert saved.status_code == 200 and "Đã lưu: 2 mục thay đổi" in saved.text
        lan = (await _members(s))["Nguyễn Thị Lan"]
        assert lan.birth_date is not None and lan.birth_date.isoformat() == "1990-09-05"
        assert lan.email == FIELDS["email"].parse(
            "Lan.Nguyen@Gmail.com", local_today(s.app.translator(), s.clock.now())
        )
        updated = await _audit(s, "profile_updated")
        assert sorted(json.loads(a.detail_json)["field"] for a in updated) == [
            "birth_date",
            "email",
        ]


async def test_the_profile_form_is_for_members(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await s.sign_in(browser, "1001", "/dangky")
        refused = await browser.get("/web/hoso")
        assert refused.status_code == 403
        assert "Ban Chấp hành (BCH) duyệt" in refused.text
