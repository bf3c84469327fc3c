"""How long the web pages take with 10,000 members (docs/web.md).

    .venv/bin/python -m bench.web_pages [--members 10000] [--pending 300] [--repeats 30]

A temporary SQLite file with one CĐCS of 20 tổ, `--members` active members and `--pending`
requests; a board member's session; then each page fetched `--repeats` times in process
(httpx over ASGI, no network): the board's pending requests page, the member table (a page,
a search, a filter; the export three times), the registration form, and the emulation pages
(the campaign's progress, its chart and spreadsheet, the review: a page, a search, a tổ, and
a form deciding a page of 50 members' LĐTT, alternately reached and not). Every active member
pledged LĐTT, one in five also CSTĐCS and ĐVCĐ xuất sắc. Then the announcements:
the list (50 of them), the form, a preview (one COUNT of 10,000), the page of one sent to
everyone with 300 who did not get it, one still sending and its JSON progress. Then the
meetings pages (a general assembly that invited everyone, a year of monthly tổ meetings for
the attendance report) and the polls pages (a named and an anonymous poll sent to every
member, 70% answered). Then the member pages: a tổ
trưởng's own tổ in the table, one member's page (shown, edited, moved), the roster import's
preview (a 500-row file, and the whole export sent back) and its confirmation (500 rows).
Prints the median and the slowest time per page.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from openpyxl import Workbook
from sqlalchemy import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import links
from bot.app import App
from bot.clock import SystemClock
from bot.config import parse_settings
from bot.runtime import build_app
from bot.web import build_web_app
from bot.webui import csrf
from bot.webui.shell import COOKIE
from models import emulation, members, roles, units
from models import web as web_tokens
from models.broadcasts import Broadcast
from models.emulation import Pledge
from models.meetings import Invite, Meeting
from models.members import Identity, Member
from models.outbox import FAILED, QUEUED, SENT, UNREACHABLE, DeliveryJob, OutboxItem, OutboxMessage
from models.polls import MEMBERS, Poll, PollCopy, PollVote
from models.units import Unit

BASE = "https://bench.example.vn"
TO_COUNT = 20


async def _with_role(
    app: App, session: AsyncSession, user_id: str, name: str, role: str, unit: Unit
) -> str:
    """A member with a role on `unit`, talking as console `user_id`; their /web session."""
    assert unit.id is not None
    person = Member(full_name="", name_key="", unit_id=unit.id, status="active")
    person.set_name(name)
    session.add(person)
    await session.flush()
    assert person.id is not None
    session.add(Identity(platform="console", user_id=user_id, member_id=person.id))
    await roles.grant(session, person.id, role, unit, "bench")
    return await web_tokens.issue(
        session,
        kind=web_tokens.SESSION,
        purpose="signin",
        platform="console",
        user_id=user_id,
        now=app.clock.now(),
        ttl=timedelta(hours=1),
    )


async def _seed(app: App, count: int, pending: int) -> str:
    async with app.db.session() as session:
        root = await units.by_code(session, "BM")
        assert root is not None and root.id is not None
        tos = [await units.by_code(session, f"BM-{i}") for i in range(TO_COUNT)]
        unit_ids = [u.id for u in tos if u is not None and u.id is not None]
        for i in range(count + pending):
            member = Member(
                full_name="",
                name_key="",
                unit_id=unit_ids[i % len(unit_ids)],
                status="pending" if i >= count else "active",
                phone=f"+8491{i:07d}",
                job_title="Chuyên viên",
            )
            member.set_name(f"Nguyễn Văn Thử {i}")
            session.add(member)
        await session.flush()
        # Every active member reachable on Telegram (what an announcement's count reads).
        active = (await session.exec(select(Member.id).where(Member.status == "active"))).all()
        session.add_all(
            Identity(platform="telegram", user_id=str(100_000 + n), member_id=n)
            for n in active
            if n is not None
        )
        assert tos[0] is not None
        token = await _with_role(app, session, "2", "Trần Thị Ban", "bch", root)
        leader_token = await _with_role(app, session, "4", "Lê Văn Tổ", "to_truong", tos[0])
        await _campaign(session, app, root.id)
        await members.ensure_identity(session, "console", "3", "Người mới")
        member_token = await web_tokens.issue(
            session,
            kind=web_tokens.SESSION,
            purpose="/web/dangky",
            platform="console",
            user_id="3",
            now=app.clock.now(),
            ttl=timedelta(hours=1),
        )
        await session.commit()
    return f"{token} {member_token} {leader_token}"


async def _seed_meetings_and_polls(app: App) -> tuple[int, int, int]:
    """A general assembly of everyone next week (answers of all kinds), twelve monthly
    meetings of each tổ this year with attendance, and two polls to every member; returns
    the assembly's and the polls' ids."""
    now = app.clock.now()
    async with app.db.session() as session:
        people = (await session.exec(select(Member.id, Member.unit_id))).all()
        root = await units.by_code(session, "BM")
        assert root is not None and root.id is not None

        def meeting(unit_id: int, title: str, starts: datetime) -> Meeting:
            return Meeting(
                unit_id=unit_id,
                title=title,
                kind="to",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                place="Hội trường",
                checkin_code="K7MX3P",
                created_at=now,
                updated_at=now,
            )

        assembly = meeting(root.id, "Hội nghị người lao động", now + timedelta(days=7))
        session.add(assembly)
        tos: dict[int, list[int]] = {}
        for member_id, unit_id in people:
            tos.setdefault(unit_id, []).append(member_id)
        monthly = [
            (meeting(unit_id, f"Sinh hoạt tổ tháng {m}", now - timedelta(days=30 * m)), ids)
            for unit_id, ids in tos.items()
            for m in range(1, 13)
        ]
        session.add_all([m for m, _ in monthly])
        await session.flush()
        answers = ["yes", "no", "maybe", None]
        rows = [
            {"meeting_id": assembly.id, "member_id": mid, "answer": answers[i % 4]}
            for i, (mid, _unit) in enumerate(people)
        ]
        for m, ids in monthly:
            rows += [
                {"meeting_id": m.id, "member_id": mid, "answer": "yes", "attended": i % 3 != 0}
                for i, mid in enumerate(ids)
            ]
        await session.exec(insert(Invite), params=rows)  # type: ignore[call-overload]
        poll_ids = []
        for anonymous in (False, True):
            poll = Poll(
                question="Chọn địa điểm nghỉ mát hè?",
                options_json='["Sa Pa", "Đà Lạt", "Phú Quốc", "Hạ Long"]',
                anonymous=anonymous,
                target=MEMBERS,
                unit_id=root.id,
                origin_platform="console",
                origin_chat_id="2",
                created_at=now,
            )
            session.add(poll)
            await session.flush()
            assert poll.id is not None
            poll_ids.append(poll.id)
            copies = [
                {"poll_id": poll.id, "platform": "console", "chat_id": f"m{mid}", "member_id": mid}
                for mid, _unit in people
            ]
            await session.exec(insert(PollCopy), params=copies)  # type: ignore[call-overload]
            votes = [
                {
                    "poll_id": poll.id,
                    "platform": "console",
                    "user_id": f"m{mid}",
                    "member_id": mid,
                    "name": f"Đoàn viên {mid}",
                    "choices_json": f"[{i % 4}]",
                    "updated_at": now,
                }
                for i, (mid, _unit) in enumerate(people)
                if i % 10 < 7
            ]
            await session.exec(insert(PollVote), params=votes)  # type: ignore[call-overload]
        await session.commit()
        assert assembly.id is not None
        return assembly.id, poll_ids[0], poll_ids[1]


async def _campaign(session: AsyncSession, app: App, root_id: int) -> None:
    settings = app.settings.emulation
    now = app.clock.now()
    campaign = await emulation.create_campaign(
        session=session,
        unit_id=root_id,
        year=now.year,
        deadline=now + timedelta(days=10),
        titles=[x.model_dump() for x in settings.titles],
        targets=[x.model_dump() for x in settings.targets],
        created_by=None,
        now=now,
    )
    people = (
        await session.exec(select(Member.id, Member.unit_id).where(Member.status == "active"))
    ).all()
    for number, (member_id, unit_id) in enumerate(people):
        codes = ["LDTT", "CSTDCS", "DVXS"] if number % 5 == 0 else ["LDTT"]
        for code in codes:
            session.add(
                Pledge(
                    campaign_id=campaign.id,  # type: ignore[arg-type]
                    member_id=member_id,  # type: ignore[arg-type]
                    unit_id=unit_id,
                    title_code=code,
                    created_at=now,
                )
            )


ANNOUNCEMENTS = 50
MISSED = 300


async def _seed_announcements(app: App) -> tuple[int, int]:
    """50 announcements to the whole CĐCS: all sent (the latest to every member, 300 of them
    not reached) but one still sending (half its rows queued). Returns (sent, sending) ids."""
    now = app.clock.now()
    async with app.db.session() as session:
        root = await units.by_code(session, "BM")
        assert root is not None and root.id is not None
        found = (await session.exec(select(Member.id).where(Member.status == "active"))).all()
        ids = [member_id for member_id in found if member_id is not None]
        made = []
        for n in range(ANNOUNCEMENTS):
            item = Broadcast(
                unit_id=root.id,
                author_name="Trần Thị Ban",
                audience="all",
                text=f"Thông báo thử số {n}: họp toàn thể đoàn viên lúc 14:00 thứ Sáu.",
                send_at=now - timedelta(days=ANNOUNCEMENTS - n),
                created_at=now - timedelta(days=ANNOUNCEMENTS - n),
            )
            content = OutboxMessage(text=item.text)
            session.add_all([item, content])
            await session.flush()
            job = DeliveryJob(
                kind="broadcast",
                ref_id=item.id,
                title=f"Thông báo số {item.id}",
                unit_id=root.id,
                total=len(ids),
                start_at=item.send_at,
                created_at=item.created_at,
                message_id=content.id,
                finished_at=None if n == ANNOUNCEMENTS - 2 else item.send_at,
            )
            session.add(job)
            await session.flush()
            item.job_id = job.id
            made.append((item, job, content))
        for item, job, content in made[-2:]:  # the sent one's and the sending one's rows
            still_sending = job.finished_at is None
            for i, member_id in enumerate(ids):
                state = SENT
                if still_sending and i % 2:
                    state = QUEUED
                elif not still_sending and i < MISSED:
                    state = UNREACHABLE if i % 3 else FAILED
                session.add(
                    OutboxItem(
                        job_id=job.id,  # type: ignore[arg-type]
                        message_id=content.id,  # type: ignore[arg-type]
                        dedupe_key=f"{job.id}:telegram:{member_id}",
                        platform="telegram",
                        chat_id=str(100_000 + member_id),
                        member_id=member_id,
                        state=state,
                        not_before=item.send_at,
                        updated_at=item.send_at,
                    )
                )
        await session.commit()
        sent, sending = made[-1][0].id, made[-2][0].id
    assert sent is not None and sending is not None
    return sent, sending


async def _time(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    start = time.perf_counter()
    answer = await client.request(method, path, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    assert answer.status_code in (200, 422), (path, answer.status_code, answer.text[:300])
    return elapsed


async def _unit_id(app: App, code: str) -> int:
    async with app.db.session() as session:
        unit = await units.by_code(session, code)
    assert unit is not None and unit.id is not None
    return unit.id
def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


FAMILIES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng")
MIDDLES = ("Văn", "Thị", "Minh")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hoa", "Khánh", "Lan", "Minh", "Nga", "Phúc", "Quế")


def _roster(rows: int) -> bytes:
    """A roster file: half the rows update seeded members (a new job title), half are new."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["STT", "Họ và tên", "Số điện thoại", "Chức vụ", "Mã đơn vị"])
    for i in range(rows):
        phone = f"091{i:07d}" if i % 2 == 0 else f"098{i:07d}"
        name = f"{FAMILIES[i % 7]} {MIDDLES[i % 3]} {GIVEN[i % 11]}"  # names have no digits
        ws.append([i + 1, name, phone, "Chuyên viên chính", f"BM-{i % TO_COUNT}"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


async def _post(
    client: httpx.AsyncClient, path: str, data: dict[str, str], **kw: object
) -> tuple[float, str]:
    start = time.perf_counter()
    answer = await client.post(path, data=data, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    errors = re.findall(r'class="(?:error|notice bad)"[^>]*>([^<]+)<', answer.text)
    assert answer.status_code == 200, (path, answer.status_code, errors or answer.text[:300])
    return elapsed, answer.text


async def _member_pages(board: httpx.AsyncClient, repeats: int) -> None:
    card = "/web/doanvien/hoso?id=1"
    _report(
        "GET /web/doanvien/hoso (one member)",
        [await _time(board, "GET", card) for _ in range(repeats)],
    )
    html = (await board.get(card)).text
    csrf = _csrf(html)
    fields = {
        "full_name": "Nguyễn Văn Thử",  # the seeded "… 0" has a digit, which the rules refuse
        "gender": "nam",
        "birth_date": "05/09/1990",
        "phone": "0910000000",
        "job_title": "Chuyên viên",
        "card_number": "",
        "joined_union_on": "",
    }
    saves = [
        (
            await _post(
                board, card, {"csrf": csrf, "action": "save", **fields, "email": f"t{i}@mail.vn"}
            )
        )[0]
        for i in range(repeats)
    ]
    _report("POST /web/doanvien/hoso (edit)", saves)
    targets = re.findall(r'<option value="(\d+)">', html)[:2]
    moves = [
        (await _post(board, card, {"csrf": csrf, "action": "move", "unit": targets[i % 2]}))[0]
        for i in range(repeats)
    ]
    _report("POST /web/doanvien/hoso (move)", moves)


async def _import_pages(board: httpx.AsyncClient, repeats: int) -> None:
    page = "/web/doanvien/nhap"
    csrf = _csrf((await board.get(page)).text)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for label, content, times in (
        ("500 rows", _roster(500), repeats),
        ("the export, 10,300 rows", (await board.get("/web/doanvien.xlsx")).content, 3),
    ):
        samples = []
        for _ in range(times):
            elapsed, html = await _post(
                board,
                page,
                {"csrf": csrf, "action": "preview"},
                files={"file": ("ds.xlsx", content, xlsx)},
            )
            samples.append(elapsed)
        _report(f"POST {page} (preview, {label})", samples)
    _elapsed, html = await _post(
        board,
        page,
        {"csrf": csrf, "action": "preview"},
        files={"file": ("ds.xlsx", _roster(500), xlsx)},
    )
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))
    elapsed, done = await _post(board, page, form)
    assert "Đã nhập danh sách" in done, done[:500]
    _report(f"POST {page} (confirm, 500 rows)", [elapsed])


def _report(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    print(f"{name:<44} median {statistics.median(ms):7.1f} ms   slowest {ms[-1]:7.1f} ms")


async def main(count: int, pending: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        units_conf = [{"code": "BM", "name": "Công đoàn cơ sở Benchmark", "kind": "cdcs"}] + [
            {"code": f"BM-{i}", "name": f"Tổ công đoàn số {i}", "kind": "to", "parent": "BM"}
            for i in range(TO_COUNT)
        ]
        settings = parse_settings(
            {
                "database": {"url": f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"},
                "units": units_conf,
                "web": {"public_url": BASE},
            }
        )
        app = await build_app(settings, SystemClock())
        tokens = (await _seed(app, count, pending)).split()
        assembly, named, secret = await _seed_meetings_and_polls(app)
        transport = httpx.ASGITransport(app=build_web_app(None, "", app=app))
        print(f"{count} members, {pending} pending, {repeats} fetches each (SQLite, in process)")
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as board:
            board.cookies.set(COOKIE, tokens[0], path="/web")
            await board.get("/web/duyet")  # warm the templates
            _report(
                "GET /web/duyet (200 shown)",
                [await _time(board, "GET", "/web/duyet") for _ in range(repeats)],
            )
            for name, path in (
                ("GET /web/doanvien (page 1 of all)", "/web/doanvien"),
                ("GET /web/doanvien?trang=150", "/web/doanvien?trang=150"),
                ("GET /web/doanvien?q=nguyen van thu 12", "/web/doanvien?q=nguyen+van+thu+12"),
                ("GET /web/doanvien?trangthai=pending", "/web/doanvien?trangthai=pending"),
            ):
                _report(name, [await _time(board, "GET", path) for _ in range(repeats)])
            _report(
                "GET /web/doanvien.xlsx (10,300 rows)",
                [await _time(board, "GET", "/web/doanvien.xlsx") for _ in range(3)],
            )
            await _emulation(app, board, tokens[0], repeats)
            sent, sending = await _seed_announcements(app)
            form = {
                "csrf": csrf.token(links.signing_key(settings), tokens[0]),
                "text": "Họp toàn thể đoàn viên lúc 14:00 thứ Sáu.",
                "unit": str(await _unit_id(app, "BM")),
                "audience": "all",
                "when": "now",
                "action": "preview",
            }
            preview = await board.post("/web/thongbao/moi", data=form)
            # and the board member and the tổ trưởng (console identities)
            reach = f"Sẽ gửi tới: {count + 2:,}".replace(",", ".")
            assert reach in preview.text, preview.text[-800:]
            for name, method, path in (
                (f"GET /web/thongbao ({ANNOUNCEMENTS} shown)", "GET", "/web/thongbao"),
                ("GET /web/thongbao/moi", "GET", "/web/thongbao/moi"),
                ("POST /web/thongbao/moi (preview)", "POST", "/web/thongbao/moi"),
                (
                    f"GET /web/thongbao/xem (report, {MISSED} missed)",
                    "GET",
                    f"/web/thongbao/xem?so={sent}",
                ),
                ("GET /web/thongbao/xem (sending)", "GET", f"/web/thongbao/xem?so={sending}"),
                ("GET /web/thongbao/tiendo (JSON)", "GET", f"/web/thongbao/tiendo?so={sending}"),
            ):
                data = form if method == "POST" else None
                _report(name, [await _time(board, method, path, data=data) for _ in range(repeats)])
            for name, path in (
                ("GET /web/hop (21 listed)", "/web/hop"),
                ("GET /web/hop/xem (all invited)", f"/web/hop/xem?id={assembly}"),
                (
                    "GET /web/hop/xem?traloi=none&trang=9",
                    f"/web/hop/xem?id={assembly}&traloi=none&trang=9",
                ),
                ("GET /web/hop/baocao", "/web/hop/baocao"),
                ("GET /web/binhchon", "/web/binhchon"),
                ("GET /web/binhchon/xem (named)", f"/web/binhchon/xem?id={named}"),
                ("GET /web/binhchon/xem (anonymous)", f"/web/binhchon/xem?id={secret}"),
            ):
                first = await _time(board, "GET", path)  # its template compiled, caches cold
                samples = [await _time(board, "GET", path) for _ in range(repeats)]
                _report(name, samples)
                print(f"{'':<34} first fetch {first * 1000:7.1f} ms (not counted)")
            for name, path in (
                ("GET /web/hop/baocao.xlsx", "/web/hop/baocao.xlsx"),
                ("GET /web/binhchon.xlsx (named)", f"/web/binhchon.xlsx?id={named}"),
            ):
                _report(name, [await _time(board, "GET", path) for _ in range(3)])
            await _member_pages(board, repeats)
            await _import_pages(board, repeats)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as leader:
            leader.cookies.set(COOKIE, tokens[2], path="/web")
            _report(
                "GET /web/doanvien (tổ trưởng, 500)",
                [await _time(leader, "GET", "/web/doanvien") for _ in range(repeats)],
            )
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as person:
            person.cookies.set(COOKIE, tokens[1], path="/web")
            await person.get("/web/dangky")
            _report(
                "GET /web/dangky",
                [await _time(person, "GET", "/web/dangky") for _ in range(repeats)],
            )
        await app.db.dispose()


async def _emulation(app: App, board: httpx.AsyncClient, token: str, repeats: int) -> None:
    await board.get("/web/thidua/tiendo.png")  # matplotlib loads once (about a second)
    for name, path, times in (
        ("GET /web/thidua/tiendo", "/web/thidua/tiendo", repeats),
        ("GET /web/thidua/tiendo.png (chart)", "/web/thidua/tiendo.png", 10),
        ("GET /web/thidua/baocao.xlsx", "/web/thidua/baocao.xlsx", 3),
        ("GET /web/thidua/xet (page 1)", "/web/thidua/xet", repeats),
        ("GET /web/thidua/xet?trang=150", "/web/thidua/xet?trang=150", repeats),
        ("GET /web/thidua/xet?q=nguyen van thu 12", "/web/thidua/xet?q=nguyen+van+thu+12", repeats),
    ):
        _report(name, [await _time(board, "GET", path) for _ in range(times)])
    async with app.db.session() as session:
        to = await units.by_code(session, "BM-3")
        assert to is not None
        query = select(Pledge.id).where(Pledge.title_code == "LDTT", Pledge.unit_id == to.id)
        some = (await session.exec(query.limit(50))).all()
    path = f"/web/thidua/xet?donvi={to.id}"
    _report(
        "GET /web/thidua/xet?donvi=<a tổ>",
        [await _time(board, "GET", path) for _ in range(repeats)],
    )
    proof = csrf.token(links.signing_key(app.settings), token)
    samples = []
    for number in range(repeats):
        result = "chua_dat" if number % 2 else "dat"
        form = {"csrf": proof, **{f"r-{pledge_id}": result for pledge_id in some}}
        samples.append(await _time(board, "POST", "/web/thidua/xet", data=form))
    _report("POST /web/thidua/xet (50 decisions)", samples)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.pending, args.repeats))
