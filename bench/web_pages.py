"""How long the web pages take with 10,000 members (docs/web.md).

    .venv/bin/python -m bench.web_pages [--members 10000] [--pending 300] [--repeats 30]

A temporary SQLite file with one CĐCS of 20 tổ, `--members` active members and `--pending`
requests; a board member's and a tổ trưởng's sessions; then each page fetched `--repeats`
times in process (httpx over ASGI, no network): the board's pending requests page, the member
table (a page, a search, a filter; the export three times; a tổ trưởng's own tổ), one member's
page (shown, edited, moved), the roster import's preview (a 500-row file, and the whole export
sent back) and its confirmation (500 rows), and the registration form.
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
from datetime import timedelta
from pathlib import Path

import httpx
from openpyxl import Workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.clock import SystemClock
from bot.config import parse_settings
from bot.runtime import build_app
from bot.web import build_web_app
from bot.webui.shell import COOKIE
from models import members, roles, units
from models import web as web_tokens
from models.members import Identity, Member
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
        assert tos[0] is not None
        token = await _with_role(app, session, "2", "Trần Thị Ban", "bch", root)
        leader_token = await _with_role(app, session, "4", "Lê Văn Tổ", "to_truong", tos[0])
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


async def _time(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    start = time.perf_counter()
    answer = await client.request(method, path, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    assert answer.status_code in (200, 422), (path, answer.status_code, answer.text[:300])
    return elapsed


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
    print(f"{name:<34} median {statistics.median(ms):7.1f} ms   slowest {ms[-1]:7.1f} ms")


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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.pending, args.repeats))
