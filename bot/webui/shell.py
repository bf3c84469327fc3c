"""The web side's routes: sign-in by one-time link, the Telegram Mini App entry, sign-out,
the home page, and every page features registered, each behind the same access rules as the
chat (refusals audited as `access_denied`). Forms are checked for their CSRF token."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import links
from bot.context import Context
from bot.i18n import Translator
from bot.webui import csrf, entry, initdata
from bot.webui.acting import acting_as
from bot.webui.pages import PageSpec, WebRequest, needs_board_sign_in
from models import transactions
from models import web as web_tokens

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

COOKIE = "congdoan_session"
TEMPLATES = Path(__file__).parent / "templates"
STYLE = (Path(__file__).parent / "static" / "site.css").read_bytes()
# Pages that follow something live (a delivery's progress) poll with this file: scripts come
# from our own origin only, never inline in a feature's page.
POLL_SCRIPT = (Path(__file__).parent / "static" / "poll.js").read_bytes()
# A form is a few kilobytes at most; a larger body is not one of ours.
MAX_FORM_BYTES = 64 * 1024
HEADERS = {
    # Telegram shows a Mini App inside its web client's frame; no one else may frame the pages.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'self' https://web.telegram.org"
    ),
    "Referrer-Policy": "no-referrer",  # one-time links are in paths: never pass them on
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class FormTooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise FormTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FormTooLarge
    return bytes(body)


async def read_form(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body, at most MAX_FORM_BYTES."""
    text = (await _body(request, MAX_FORM_BYTES)).decode("utf-8", "replace")
    return parse_qs(text, keep_blank_values=True, max_num_fields=2000)


async def read_upload(
    request: Request, limit: int
) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    """A multipart form with at most one file: its fields and the file, the whole body at most
    `limit` plus a form's size (read before it is parsed, so a larger one is never stored)."""
    body = await _body(request, limit + MAX_FORM_BYTES)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    parsed = await Request(request.scope, replay).form(max_files=1, max_fields=50)
    form: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for name, value in parsed.multi_items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
        else:
            files[name] = (value.filename or "", await value.read())
    await parsed.close()
    if any(len(content) > limit for _name, content in files.values()):
        raise FormTooLarge
    return form, files


class WebShell:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.pages = app.registry.pages
        folders = {prefix: FileSystemLoader(path) for prefix, path in self.pages.templates.items()}
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(TEMPLATES), PrefixLoader(folders)]),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.key = links.signing_key(app.settings)
        self.secure = entry.base_url(app.settings).startswith("https://")

    # --- answering ---------------------------------------------------------------------------
    def translator(self, ctx: Context | None) -> Translator:
        """Pages are worded for buttons ("bấm"), in the person's language."""
        language = ctx.identity.language if ctx else None
        return Translator(language or self.settings.bot.language, self.settings.tz)

    def render(
        self,
        name: str,
        *,
        ctx: Context | None = None,
        session_token: str = "",
        status: int = 200,
        **values: Any,
    ) -> Response:
        t = self.translator(ctx)
        html = self.env.get_template(name).render(
            t=t,
            csrf=csrf.token(self.key, session_token) if session_token else "",
            signed_in=bool(session_token),
            nav=self._nav(ctx) if ctx is not None else [],
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def _nav(self, ctx: Context) -> list[tuple[str, str]]:
        return [
            (spec.path, spec.title_key)
            for spec in self.pages.pages.values()
            if spec.nav and ctx.may(spec.access) and (spec.offered is None or spec.offered(ctx))
        ]

    def message(
        self, key: str, *, status: int, ctx: Context | None = None, **params: Any
    ) -> Response:
        return self.render("message.html", ctx=ctx, status=status, key=key, params=params)

    def _set_session(self, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=self.settings.web.session_hours * 3600,
            path="/web",
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )

    async def _new_session(self, ctx: Context, purpose: str) -> str:
        return await web_tokens.issue(
            ctx.session,
            kind=web_tokens.SESSION,
            purpose=purpose,
            platform=ctx.event.platform,
            user_id=ctx.event.user_id,
            now=ctx.now,
            ttl=timedelta(hours=self.settings.web.session_hours),
        )

    async def _holder(self, request: Request) -> tuple[str, web_tokens.Holder | None]:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return "", None
        async with self.app.db.session() as session:
            holder = await web_tokens.session_holder(session, token, self.app.clock.now())
        return token, holder

    # --- signing in and out ----------------------------------------------------------------
    async def link(self, request: Request) -> Response:
        """A one-time link: shown first (link previews and scanners fetch it without spending
        it), spent by the button that posts it back."""
        token = request.path_params["token"]
        now = self.app.clock.now()
        if request.method == "GET":
            async with self.app.db.session() as session:
                holder = await web_tokens.peek_link(session, token, now)
            if holder is None:
                return self.message("web.link_invalid", status=403)
            return self.render("signin.html", action=f"{entry.LINK_PATH}{token}")
        async with self.app.db.writer_turn(), self.app.db.session() as session:
            holder = await web_tokens.spend_link(session, token, now)
            await session.commit()
        if holder is None:
            return self.message("web.link_invalid", status=403)
        async with acting_as(self.app, holder.platform, holder.user_id, write=True) as ctx:
            session_token = await self._new_session(ctx, holder.purpose)
            ctx.audit("web_signed_in", purpose=holder.purpose)
        landing = entry.HOME if holder.purpose == entry.SIGN_IN else holder.purpose
        response = RedirectResponse(landing, status_code=303, headers=HEADERS)
        self._set_session(response, session_token)
        return response

    async def mini_app(self, request: Request) -> Response:
        """Telegram opens the page with its signed data for the page's script, which posts it
        here; valid data opens a session for that Telegram user."""
        if request.method == "GET":
            landing = self._landing(request.query_params.get("next", ""))
            return self.render("miniapp.html", landing=landing)
        form = await read_form(request)
        user = initdata.validate(
            (form.get("init_data") or [""])[0],
            self.settings.telegram.token.get_secret_value(),
            now=self.app.clock.now(),
            max_age_seconds=self.settings.web.mini_app_max_age_seconds,
        )
        if user is None:
            log.warning("Mini App data refused (not Telegram's, changed or too old)")
            return self.message("web.mini_app_invalid", status=403)
        landing = self._landing((form.get("next") or [""])[0])
        async with acting_as(self.app, "telegram", user.user_id, write=True) as ctx:
            session_token = await self._new_session(ctx, landing)
        response = RedirectResponse(landing, status_code=303, headers=HEADERS)
        self._set_session(response, session_token)
        return response

    def _landing(self, page: str) -> str:
        """Only our own pages (no open redirect)."""
        return page if page in self.pages.pages else entry.HOME

    async def sign_out(self, request: Request) -> Response:
        token, holder = await self._holder(request)
        form = await read_form(request)
        if holder is None or not csrf.check(self.key, token, (form.get(csrf.FIELD) or [""])[0]):
            return self.message("web.csrf_failed", status=403)
        async with self.app.db.writer_turn(), self.app.db.session() as session:
            await web_tokens.end_session(session, token, self.app.clock.now())
            await session.commit()
        response = self.message("web.signed_out", status=200)
        response.delete_cookie(COOKIE, path="/web")
        return response

    async def style(self, _request: Request) -> Response:
        return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    async def poll_script(self, _request: Request) -> Response:
        return Response(
            POLL_SCRIPT,
            media_type="text/javascript",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    # --- pages -----------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        token, holder = await self._holder(request)
        if holder is None:
            return self.message("web.sign_in_first", status=401)
        async with acting_as(self.app, holder.platform, holder.user_id, write=False) as ctx:
            pages = [(path, key) for path, key in self._nav(ctx) if self._opens(holder, path)]
            response = self.render("home.html", ctx=ctx, session_token=token, pages=pages)
        return response

    def _opens(self, holder: web_tokens.Holder, path: str) -> bool:
        """A session from /web opens every page (by the person's roles); one opened from the
        chat for a page (a link, a Mini App) opens only a member's own pages."""
        spec = self.pages.pages[path]
        return holder.purpose == entry.SIGN_IN or not needs_board_sign_in(spec.access)

    async def serve(self, request: Request, spec: PageSpec) -> Response:
        token, holder = await self._holder(request)
        if holder is None:
            return self.message("web.sign_in_first", status=401)
        form: dict[str, list[str]] = {}
        files: dict[str, tuple[str, bytes]] = {}
        posted = request.method == "POST"
        if posted:
            kind = request.headers.get("content-type", "")
            try:
                if spec.upload_limit and kind.startswith("multipart/form-data"):
                    form, files = await read_upload(request, spec.upload_limit)
                else:
                    form = await read_form(request)
            except FormTooLarge:
                if spec.upload_limit:
                    megabytes = spec.upload_limit // (1024 * 1024)
                    return self.message("web.upload_too_large", status=413, mb=megabytes)
                return PlainTextResponse("payload too large", status_code=413)
            except MultiPartException:
                return self.message("web.upload_unreadable", status=400)
            if not csrf.check(self.key, token, (form.get(csrf.FIELD) or [""])[0]):
                log.warning("web form without a valid CSRF token refused (%s)", spec.path)
                return self.message("web.csrf_failed", status=403)
        try:
            async with acting_as(self.app, holder.platform, holder.user_id, write=posted) as ctx:
                if not (self._opens(holder, spec.path) and ctx.may(spec.access)):
                    return self._refuse(ctx, spec, token)
                web = WebRequest(
                    request,
                    ctx,
                    form,
                    csrf.token(self.key, token),
                    lambda name, **values: self.render(
                        name, ctx=ctx, session_token=token, **values
                    ),
                    self.translator(ctx),
                    files,
                )
                response = await spec.handler(web)
                if not spec.chat_replies:  # the page is the answer; others are still told
                    own = (ctx.event.platform, ctx.event.chat_id)
                    ctx.outgoing[:] = [
                        o for o in ctx.outgoing if (o.address.platform, o.address.chat_id) != own
                    ]
        except Exception as exc:
            if not transactions.is_busy(exc):
                raise
            log.warning("database busy: web page %s not handled", spec.path)
            return self.message("error.busy", status=503)
        return response

    def _refuse(self, ctx: Context, spec: PageSpec, token: str) -> Response:
        ctx.audit("access_denied", target=f"web:{spec.path}", needed=spec.access, via="web")
        log.warning(
            "access denied: %s tried web page %s (needs %s)", ctx.actor, spec.path, spec.access
        )
        refusal = self.app.registry.refusals.get(
            spec.path, "access.leaders_only" if spec.access == "organiser" else "access.board_only"
        )
        if spec.access == "member":
            refusal = "access.not_member"
        return self.render(
            "message.html", ctx=ctx, session_token=token, status=403, key=refusal, params={}
        )

    def routes(self) -> list[BaseRoute]:
        def page_endpoint(spec: PageSpec) -> Any:
            async def endpoint(request: Request) -> Response:
                return await self.serve(request, spec)

            return endpoint

        return [
            Route(entry.HOME, self.home),
            Route(f"{entry.LINK_PATH}{{token}}", self.link, methods=["GET", "POST"]),
            Route(entry.MINI_APP_PATH, self.mini_app, methods=["GET", "POST"]),
            Route("/web/thoat", self.sign_out, methods=["POST"]),
            Route("/web/site.css", self.style),
            Route("/web/poll.js", self.poll_script),
            *[
                Route(spec.path, page_endpoint(spec), methods=["GET", "POST"])
                for spec in self.pages.pages.values()
            ],
        ]


def routes(app: App) -> list[BaseRoute]:
    return WebShell(app).routes()


__all__ = ["WebShell", "read_form", "routes"]
