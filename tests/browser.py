"""A real headless Chromium for the web pages' tests: Debian's `chromium` package driven by
Playwright for Python. Browsers cannot be downloaded here (no `playwright install`): the
system's browser is launched by its path, and a test that needs it is skipped, saying why,
where it is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.web import build_web_app
from tests.fakes.server import LoopbackServer
from tests.web import Site, site

CHROMIUM = os.environ.get("CONGDOAN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 800}}
# Where screenshots go when set (docs/screenshots for the README); unset: none are taken.
SHOTS = os.environ.get("CONGDOAN_SCREENSHOTS", "")


class LateApp:
    """The ASGI app behind a server whose port must be known before the app is built (the
    pages' public address is that port)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def missing_reason() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: Playwright for Python is missing (pip install -e '.[dev]')"
    return None


def need_chromium() -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@asynccontextmanager
async def web_server() -> AsyncIterator[tuple[LateApp, str]]:
    """A loopback HTTP server for the pages, started before the app that it serves exists
    (the pages' public address is its port): (the slot for that app, the address)."""
    need_chromium()
    late = LateApp()
    server = LoopbackServer(late, "web")
    await server.start()
    try:
        yield late, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Site, str]]:
    """A test site (tests/web.py) behind a loopback HTTP server: (the Site, its address)."""
    async with web_server() as (late, base), site(tmp_path, public_url=base) as s:
        late.app = build_web_app(None, "", app=s.app)
        yield s, base
