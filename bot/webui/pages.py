"""What features register for the web side: pages (a path, who may open it, the handler) and
their template folders. The shell (bot/webui/shell.py) serves them; it knows no feature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.requests import Request

    from bot.context import Context
    from bot.i18n import Translator
    from bot.registry import Access

PageHandler = Callable[["WebRequest"], Awaitable["Response"]]
# Signed in with /web (the board's sign-in) or opened from the chat (a Mini App, a link):
# pages beyond a member's own need the board's sign-in, whatever roles the person holds.
BOARD_LEVELS = ("organiser", "board", "admin")


@dataclass(frozen=True)
class PageSpec:
    path: str
    handler: PageHandler
    access: Access
    # The catalog key of its title, shown in the navigation when `nav`.
    title_key: str
    nav: bool
    # Whether answers the handler gives in chat (ctx.reply) go to the person's chat: yes for a
    # member's form the chat confirms, no for the board's pages (the page itself answers).
    chat_replies: bool
    # Whether the home page and the navigation offer it to this person (e.g. registration only
    # to someone not yet a member); None: to everyone its access lets in.
    offered: Callable[[Context], bool] | None = None
    # The largest file upload its forms take (multipart), in bytes; 0: none.
    upload_limit: int = 0


@dataclass
class WebRequest:
    """One page request: the person as the chat knows them (a Context, with its access checks
    and audit), the submitted form (already CSRF-checked), and ways to answer."""

    request: Request
    ctx: Context
    form: dict[str, list[str]]
    csrf: str
    render: Callable[..., Response]
    # The page's wording (the person's language, worded for buttons; ctx.t is the chat's).
    t: Translator
    # Uploaded files by field name: (file name as sent, content); pages with upload_limit.
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        values = self.form.get(name) or [""]
        return values[0]

    def values(self, name: str) -> list[str]:
        return self.form.get(name, [])

    @property
    def method(self) -> Literal["GET", "POST"]:
        return "POST" if self.request.method == "POST" else "GET"


@dataclass
class PageRegistry:
    pages: dict[str, PageSpec] = field(default_factory=dict)
    # Template folders by prefix: "members" → handlers/members/templates ("members/x.html").
    templates: dict[str, Path] = field(default_factory=dict)

    def page(
        self,
        path: str,
        *,
        access: Access,
        title_key: str,
        nav: bool = True,
        chat_replies: bool = False,
        offered: Callable[[Context], bool] | None = None,
        upload_limit: int = 0,
    ) -> Callable[[PageHandler], PageHandler]:
        if not path.startswith("/web/"):
            raise ValueError(f"page {path} must live under /web/")

        def register(func: PageHandler) -> PageHandler:
            if path in self.pages:
                raise ValueError(f"page {path} registered twice")
            self.pages[path] = PageSpec(
                path, func, access, title_key, nav, chat_replies, offered, upload_limit
            )
            return func

        return register

    def template_folder(self, prefix: str, folder: Path) -> None:
        if self.templates.get(prefix, folder) != folder:
            raise ValueError(f"template prefix {prefix} registered twice")
        self.templates[prefix] = folder


def attachment(content: bytes, filename: str, media_type: str) -> Response:
    """A file the browser saves (a spreadsheet), never kept in a cache."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def needs_board_sign_in(access: Any) -> bool:
    return access in BOARD_LEVELS
