"""How the chat leads to the web pages: the board's one-time sign-in link (/web), and a
button that opens a page for the person who pressed it: a Telegram Mini App where the app
has them, else a one-time link bound to that person and that page."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot.chat import Button
from bot.config import Settings
from bot.i18n import Translator
from models import web as web_tokens

if TYPE_CHECKING:
    from bot.context import Context

SIGN_IN = "signin"  # the purpose of /web's link: the board's pages, by the person's roles
HOME = "/web"
MINI_APP_PATH = "/web/tg"
LINK_PATH = "/web/in/"


def base_url(settings: Settings) -> str:
    return settings.web.public_url.rstrip("/")


def mini_app_enabled(settings: Settings) -> bool:
    """Telegram opens Mini Apps from https pages only."""
    return settings.web.mini_app and base_url(settings).startswith("https://")


def mini_app_url(settings: Settings, page: str) -> str:
    return f"{base_url(settings)}{MINI_APP_PATH}?next={quote(page, safe='/')}"


def menu_button(settings: Settings) -> tuple[str, str]:
    """The bot's menu button: the web home inside Telegram (the pages this person may use)."""
    t = Translator(settings.bot.language, settings.tz)
    return t("web.menu_button"), mini_app_url(settings, HOME)


async def one_time_link(ctx: Context, purpose: str) -> str | None:
    """A link that opens a browser session for this person (None: no public address set)."""
    settings = ctx.app.settings
    if not base_url(settings):
        return None
    token = await web_tokens.issue(
        ctx.session,
        kind=web_tokens.LINK,
        purpose=purpose,
        platform=ctx.event.platform,
        user_id=ctx.event.user_id,
        now=ctx.now,
        ttl=timedelta(minutes=settings.web.signin_minutes),
    )
    return f"{base_url(settings)}{LINK_PATH}{token}"


async def page_button(ctx: Context, label: str, page: str) -> Button | None:
    """A button opening `page` for this person, or None when the web side is not reachable."""
    if ctx.caps.web_app:
        return Button(label, web_app=mini_app_url(ctx.app.settings, page))
    link = await one_time_link(ctx, page)
    return Button(label, url=link) if link else None
