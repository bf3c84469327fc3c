"""The web pages in tests: the bot's Starlette app in-process (httpx over ASGI), chats that
record what the bot sends, and the steps a person takes (ask /web, open the link, send a
form with its CSRF token)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bot.adapters.console import CAPS as CONSOLE_CAPS
from bot.app import App
from bot.chat import Button, Capabilities, Event, Message
from bot.clock import FakeClock
from bot.ratelimit import Limits, RateLimiter
from bot.runtime import build_app
from bot.sending import Unreachable
from bot.web import build_web_app
from bot.webui import initdata
from models import members, roles, units
from tests.conftest import make_settings

PUBLIC_URL = "https://congdoan.example.vn"
BOT_TOKEN = "123456:web-test-token"


def _no_flood_limits() -> RateLimiter:
    return RateLimiter(Limits(global_count=1000, chat_count=1000, group_count=1000, margin=0.0))


@dataclass
class Chats:
    """An app's chats as the bot wrote to them: (chat id, message) in order. The delivery
    engine can send through it (a limiter without limits); a chat in `blocked` has blocked
    the bot, as the app would answer."""

    platform: str
    caps: Capabilities
    sent: list[tuple[str, Message]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    limiter: RateLimiter = field(default_factory=_no_flood_limits)
    paid_limiter: RateLimiter | None = None

    async def send(self, chat_id: str, message: Message, *, bulk: bool = False) -> str | None:
        if chat_id in self.blocked:
            raise Unreachable("Forbidden: bot was blocked by the user")
        self.sent.append((chat_id, message))
        return str(len(self.sent))

    def must_wait(self, chat_id: str) -> bool:
        return self.limiter.chat_would_wait(chat_id)

    def private_link(self, start: str) -> str | None:
        return None

    def to(self, chat_id: str) -> list[Message]:
        return [m for c, m in self.sent if c == chat_id]

    def texts(self, chat_id: str) -> str:
        return "\n".join(m.text for m in self.to(chat_id))

    def buttons(self, chat_id: str) -> list[Button]:
        return [b for m in self.to(chat_id) for row in m.buttons for b in row]


def event(platform: str, user_id: str, text: str, name: str = "") -> Event:
    command = text[1:].split()[0] if text.startswith("/") else None
    return Event(
        platform=platform,
        event_id=uuid.uuid4().hex,
        chat_id=user_id,
        chat_kind="private",
        user_id=user_id,
        user_name=name or f"user {user_id}",
        text=text,
        command=command,
        args=text.partition(" ")[2] if command else "",
    )


@dataclass
class Site:
    app: App
    clock: FakeClock
    console: Chats
    telegram: Chats

    @asynccontextmanager
    async def browser(self) -> AsyncIterator[httpx.AsyncClient]:
        """A browser of its own (its own cookies)."""
        transport = httpx.ASGITransport(app=build_web_app(None, "", app=self.app))
        async with httpx.AsyncClient(
            transport=transport, base_url=PUBLIC_URL, follow_redirects=False
        ) as client:
            yield client

    async def say(self, user_id: str, text: str, platform: str = "console") -> None:
        await self.app.handle(event(platform, user_id, text))

    async def link_from_chat(self, user_id: str, text: str = "/web") -> str:
        """The one-time link the bot gives in answer to `text`, as a path."""
        chats = self.console
        before = len(chats.buttons(user_id))
        await self.say(user_id, text)
        urls = [b.url for b in chats.buttons(user_id)[before:] if b.url]
        assert len(urls) == 1, chats.texts(user_id)
        base = self.app.settings.web.public_url
        assert urls[0].startswith(base + "/web/in/")
        return urls[0].removeprefix(base)

    async def sign_in(self, browser: httpx.AsyncClient, user_id: str, text: str = "/web") -> str:
        """Open the chat's link in `browser` and press its button; returns where it led."""
        path = await self.link_from_chat(user_id, text)
        page = await browser.get(path)
        assert page.status_code == 200, page.text
        answer = await browser.post(path)
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


@asynccontextmanager
async def site(tmp_path: Path, **web: Any) -> AsyncIterator[Site]:
    settings = make_settings(
        tmp_path,
        web={"public_url": PUBLIC_URL, **web},
        telegram={"token": BOT_TOKEN},
    )
    clock = FakeClock()
    app = await build_app(settings, clock)
    console = Chats("console", CONSOLE_CAPS)
    telegram = Chats("telegram", replace(CONSOLE_CAPS, inline_buttons=True, web_app=True))
    app.add_adapter(console)
    app.add_adapter(telegram)
    try:
        yield Site(app, clock, console, telegram)
    finally:
        await app.db.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, html
    return found.group(1)


def mini_app_data(user_id: int, *, auth_date: int, token: str = BOT_TOKEN, **extra: str) -> str:
    """initData as a Telegram client would hand it to the page (signed with `token`)."""
    from urllib.parse import urlencode

    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": f'{{"id":{user_id},"first_name":"Lan","last_name":"Nguyễn","language_code":"vi"}}',
        "auth_date": str(auth_date),
        **extra,
    }
    return urlencode({**fields, "hash": initdata.sign(fields, token)})


async def make_role(
    app: App, platform: str, user_id: str, name: str, unit_code: str, role: str, phone: str
) -> None:
    """A member with a role on a unit, reached on `platform` as `user_id`."""
    from tests.people import add_member

    member = await add_member(app, name, unit_code, phone)
    async with app.db.session() as session:
        ident = await members.ensure_identity(session, platform, user_id, name)
        ident.member_id = member.id
        unit = await units.by_code(session, unit_code)
        assert unit is not None and member.id is not None
        await roles.grant(session, member.id, role, unit, "test")
        await session.commit()


REGISTRATION = {
    "full_name": "nguyễn thị lan",
    "gender": "nu",
    "birth_date": "05/09/1990",
    "phone": "0912.345.678",
    "job_title": "Chuyên viên phòng Kế hoạch",
    "card_number": "",
    "joined_union_on": "01/06/2015",
}


async def unit_id(app: App, code: str) -> int:
    async with app.db.session() as session:
        unit = await units.by_code(session, code)
    assert unit is not None and unit.id is not None
    return unit.id


async def register_on_web(s: Site, user_id: str, unit_code: str, **fields: str) -> httpx.Response:
    """`user_id` asks /dangky in chat, opens the form from its link and sends it."""
    async with s.browser() as browser:
        await s.sign_in(browser, user_id, "/dangky")
        form = await browser.get("/web/dangky")
        data = {**REGISTRATION, **fields}
        unit = str(await unit_id(s.app, unit_code))
        return await browser.post(
            "/web/dangky", data={"csrf": csrf_of(form.text), "unit": unit, **data}
        )
