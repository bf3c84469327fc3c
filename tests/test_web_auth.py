"""The web side's sign-in: Telegram Mini App data checked as Telegram documents it, one-time
links (single use, expiry, bound to one person and one purpose), sessions in a secure cookie,
CSRF on every form, sign-out; refusals audited like the chat's."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.webui import initdata
from models.audit import AuditEntry
from models.members import Member
from models.web import WebToken
from tests.web import (
    BOT_TOKEN,
    REGISTRATION,
    Site,
    csrf_of,
    make_role,
    mini_app_data,
    site,
)

BOARD, MEMBER = "2", "1001"


async def _board(s: Site) -> None:
    await make_role(s.app, "console", BOARD, "Trần Văn Bình", "SCT", "bch", "+84901111111")


# --- Telegram Mini App initData -----------------------------------------------------------------
def _now_ts(s: Site) -> int:
    return int(s.clock.now().timestamp())


async def test_mini_app_data_signed_by_telegram_is_accepted(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        data = mini_app_data(5551, auth_date=_now_ts(s) - 30)
        user = initdata.validate(data, BOT_TOKEN, now=s.clock.now(), max_age_seconds=3600)
        assert user == initdata.MiniAppUser("5551", "Lan Nguyễn", "vi")


async def test_changed_mini_app_data_is_refused(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        data = mini_app_data(5551, auth_date=_now_ts(s))
        now = s.clock.now()
        tampered = data.replace("5551", "5552")  # another user id, same hash
        assert initdata.validate(tampered, BOT_TOKEN, now=now, max_age_seconds=3600) is None
        other_bot = mini_app_data(5551, auth_date=_now_ts(s), token="999:another-bot")
        assert initdata.validate(other_bot, BOT_TOKEN, now=now, max_age_seconds=3600) is None
        no_hash = data.rsplit("&hash=", 1)[0]
        assert initdata.validate(no_hash, BOT_TOKEN, now=now, max_age_seconds=3600) is None
        twice = data + "&user=%7B%22id%22%3A1%7D"
        assert initdata.validate(twice, BOT_TOKEN, now=now, max_age_seconds=3600) is None


async def test_old_or_future_mini_app_data_is_refused(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        now = s.clock.now()
        old = mini_app_data(5551, auth_date=_now_ts(s) - 3601)
        assert initdata.validate(old, BOT_TOKEN, now=now, max_age_seconds=3600) is None
        fresh_enough = mini_app_data(5551, auth_date=_now_ts(s) - 3599)
        assert initdata.validate(fresh_enough, BOT_TOKEN, now=now, max_age_seconds=3600)
        future = mini_app_data(5551, auth_date=_now_ts(s) + 600)
        assert initdata.validate(future, BOT_TOKEN, now=now, max_age_seconds=3600) is None


async def test_the_mini_app_opens_a_session_for_its_telegram_user(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        boot = await browser.get("/web/tg?next=/web/dangky")
        assert boot.status_code == 200 and "tgWebAppData" in boot.text
        data = mini_app_data(5551, auth_date=_now_ts(s))
        answer = await browser.post("/web/tg", data={"init_data": data, "next": "/web/dangky"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/web/dangky"
        form = await browser.get("/web/dangky")
        assert form.status_code == 200
        assert "Đăng ký đoàn viên công đoàn" in form.text
        # A page of another site as `next` is not followed (no open redirect).
        again = mini_app_data(5551, auth_date=_now_ts(s))
        answer = await browser.post("/web/tg", data={"init_data": again, "next": "https://x.io"})
        assert answer.headers["location"] == "/web"


async def test_the_mini_app_refuses_changed_data(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        data = mini_app_data(5551, auth_date=_now_ts(s)).replace("5551", "5552")
        answer = await browser.post("/web/tg", data={"init_data": data, "next": "/web/dangky"})
        assert answer.status_code == 403
        assert "Không xác thực được" in answer.text
        assert "set-cookie" not in answer.headers
        assert (await browser.get("/web/dangky")).status_code == 401


# --- one-time links and sessions ----------------------------------------------------------------
async def test_web_gives_a_one_time_link_that_opens_a_secure_session(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _board(s)
        path = await s.link_from_chat(BOARD)
        assert "một lần" in s.console.texts(BOARD) and "10 phút" in s.console.texts(BOARD)
        shown = await browser.get(path)  # a link preview fetching it spends nothing
        assert shown.status_code == 200 and "Vào trang quản lý" in shown.text
        assert (await browser.get(path)).status_code == 200
        answer = await browser.post(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/web"
        cookie = answer.headers["set-cookie"]
        for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/web", "Max-Age=43200"):
            assert attribute.lower() in cookie.lower(), cookie
        home = await browser.get("/web")
        assert home.status_code == 200 and "Yêu cầu đăng ký chờ duyệt" in home.text
        # Only hashes are stored: the token in the link is nowhere in the database.
        token = path.rsplit("/", 1)[1]
        async with s.app.db.session() as session:
            rows = (await session.exec(select(WebToken))).all()
        assert len(rows) == 2  # the link (spent) and the session
        assert all(token not in row.token_hash for row in rows)
        assert token not in cookie


async def test_a_link_works_once(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as first, s.browser() as second:
        await _board(s)
        path = await s.link_from_chat(BOARD)
        assert (await first.post(path)).status_code == 303
        reused = await second.post(path)
        assert reused.status_code == 403 and "đã được dùng" in reused.text
        assert "set-cookie" not in reused.headers
        assert (await second.get(path)).status_code == 403
        assert (await second.get("/web/duyet")).status_code == 401


async def test_a_link_expires_after_ten_minutes(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _board(s)
        path = await s.link_from_chat(BOARD)
        s.clock.advance(minutes=10, seconds=1)
        assert (await browser.get(path)).status_code == 403
        assert (await browser.post(path)).status_code == 403
        fresh = await s.link_from_chat(BOARD)
        s.clock.advance(minutes=9, seconds=50)
        assert (await browser.post(fresh)).status_code == 303


async def test_a_session_expires_and_ends_at_sign_out(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await _board(s)
        await s.sign_in(browser, BOARD)
        page = await browser.get("/web/duyet")
        assert page.status_code == 200
        out = await browser.post("/web/thoat", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 200 and "đã đăng xuất" in out.text
        assert (await browser.get("/web/duyet")).status_code == 401
        await s.sign_in(browser, BOARD)
        s.clock.advance(hours=12, seconds=1)
        assert (await browser.get("/web/duyet")).status_code == 401


async def test_a_link_opens_only_its_own_persons_session(tmp_path: Path) -> None:
    """Lan's registration link, opened in the board member's browser, signs in Lan: what the
    form sends is Lan's request, and the board's session is gone from that browser."""
    async with site(tmp_path) as s, s.browser() as browser:
        await _board(s)
        await s.sign_in(browser, BOARD)
        landing = await s.sign_in(browser, MEMBER, "/dangky")
        assert landing == "/web/dangky"
        form = await browser.get("/web/dangky")
        sent = await browser.post(
            "/web/dangky", data={"csrf": csrf_of(form.text), "unit": "2", **REGISTRATION}
        )
        assert sent.status_code == 200, sent.text
        async with s.app.db.session() as session:
            pending = (await session.exec(select(Member).where(Member.status == "pending"))).all()
        assert [m.full_name for m in pending] == ["Nguyễn Thị Lan"]
        assert "Ban Chấp hành" in s.console.texts(MEMBER)  # Lan's chat confirms
        assert (await browser.get("/web/duyet")).status_code == 403  # not the board any more


async def test_a_link_for_one_page_does_not_open_the_board_pages(tmp_path: Path) -> None:
    """A registration link, even an admin's (console:1 is an admin in the test settings and
    not yet a member), opens a member's pages only; so does a Mini App session (telegram:900,
    an admin too). The refusals are audited like the chat's access_denied."""
    async with site(tmp_path) as s, s.browser() as browser, s.browser() as mini_app:
        landing = await s.sign_in(browser, "1", "/dangky")
        assert landing == "/web/dangky"
        refused = await browser.get("/web/duyet")
        assert refused.status_code == 403
        assert "chỉ dành cho Ban Chấp hành" in refused.text
        data = mini_app_data(900, auth_date=_now_ts(s))
        await mini_app.post("/web/tg", data={"init_data": data, "next": "/web/dangky"})
        assert (await mini_app.get("/web/dangky")).status_code == 200
        assert (await mini_app.get("/web/duyet")).status_code == 403
        async with s.app.db.session() as session:
            denied = (
                await session.exec(select(AuditEntry).where(AuditEntry.action == "access_denied"))
            ).all()
        assert [(d.actor, d.target) for d in denied] == [
            ("console:1", "web:/web/duyet"),
            ("telegram:900", "web:/web/duyet"),
        ]


async def test_web_is_for_the_board_and_leaders(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await s.say(MEMBER, "/web")
        assert s.console.buttons(MEMBER) == []
        assert "Ban Chấp hành" in s.console.texts(MEMBER)


# --- CSRF --------------------------------------------------------------------------------------
async def _pending_count(s: Site) -> int:
    async with s.app.db.session() as session:
        return len((await session.exec(select(Member).where(Member.status == "pending"))).all())


async def test_a_form_without_its_csrf_token_changes_nothing(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as browser:
        await s.sign_in(browser, MEMBER, "/dangky")
        form = await browser.get("/web/dangky")
        missing = await browser.post("/web/dangky", data={"unit": "2", **REGISTRATION})
        assert missing.status_code == 403 and "Biểu mẫu đã cũ" in missing.text
        wrong = csrf_of(form.text)[::-1]
        forged = await browser.post(
            "/web/dangky", data={"csrf": wrong, "unit": "2", **REGISTRATION}
        )
        assert forged.status_code == 403
        assert (await browser.post("/web/thoat", data={"csrf": wrong})).status_code == 403
        assert await _pending_count(s) == 0
        assert s.console.texts(MEMBER).count("Ban Chấp hành") == 0


async def test_a_csrf_token_of_another_session_is_refused(tmp_path: Path) -> None:
    async with site(tmp_path) as s, s.browser() as lan, s.browser() as other:
        await s.sign_in(lan, MEMBER, "/dangky")
        await s.sign_in(other, "1002", "/dangky")
        others_token = csrf_of((await other.get("/web/dangky")).text)
        sent = await lan.post(
            "/web/dangky", data={"csrf": others_token, "unit": "2", **REGISTRATION}
        )
        assert sent.status_code == 403
        assert await _pending_count(s) == 0


async def test_the_menu_buttons_home_offers_registration_to_newcomers_only(
    tmp_path: Path,
) -> None:
    async with site(tmp_path) as s, s.browser() as newcomer, s.browser() as board:
        data = mini_app_data(5551, auth_date=_now_ts(s))
        answer = await newcomer.post("/web/tg", data={"init_data": data, "next": "/web"})
        assert answer.headers["location"] == "/web"
        home = await newcomer.get("/web")
        assert 'href="/web/dangky"' in home.text
        assert 'href="/web/duyet"' not in home.text
        await _board(s)
        await s.sign_in(board, BOARD)
        boards_home = await board.get("/web")
        assert 'href="/web/duyet"' in boards_home.text
        assert 'href="/web/dangky"' not in boards_home.text
