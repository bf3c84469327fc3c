"""The bot's own web server: the Telegram and Zalo webhooks, download links for files sent to
Zalo users, the health check (/healthz) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import links

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"


# Telegram and Zalo updates are a few kilobytes; anything much larger is not one of theirs.
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


def _secret_ok(request: Request, header: str, secret: str) -> bool:
    given = request.headers.get(header, "")
    return bool(secret) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), secret.encode()
    )


async def _read_json(
    request: Request, limit: int = MAX_BODY_BYTES, *, blank_is_none: bool = False
) -> Any:
    """The request's JSON body, read at most `limit` bytes far (a declared or actual larger
    body raises BodyTooLarge); malformed or absurdly nested JSON raises ValueError; an empty
    body too, unless `blank_is_none`."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    if blank_is_none and not body.strip():
        return None
    try:
        return json.loads(bytes(body))
    except RecursionError as exc:  # [[[[…]]]] nested thousands deep
        raise ValueError("JSON nested too deeply") from exc


def _too_large() -> Response:
    return PlainTextResponse("payload too large", status_code=413)


def build_web_app(
    telegram: Any | None,
    webhook_secret: str,
    *,
    zalo: Any | None = None,
    app: Any | None = None,
) -> Starlette:
    if app is None:  # built for the webhooks alone: the app behind them
        app = getattr(telegram, "app", None) or getattr(zalo, "app", None)

    async def health(_request: Request) -> Response:
        from bot.monitoring.health import report

        if app is None:
            return PlainTextResponse("not found", status_code=404)
        ok, body = await report(app)
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(_request: Request) -> Response:
        if app is None:
            return PlainTextResponse("not found", status_code=404)
        from bot.monitoring.metrics import CONTENT_TYPE

        return Response(await app.metrics.scrape(app), media_type=CONTENT_TYPE)

    async def telegram_webhook(request: Request) -> Response:
        if telegram is None:
            return PlainTextResponse("not configured", status_code=404)
        if not _secret_ok(request, SECRET_HEADER, webhook_secret):
            log.warning("webhook call with a wrong secret from %s", request.client)
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = await _read_json(request)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            await telegram.put_update(data)
            telegram.app.beats.answered(telegram.bot_key)
        except BodyTooLarge:
            log.warning("oversized Telegram webhook body refused")
            return _too_large()
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            log.warning("malformed webhook payload ignored")
            return PlainTextResponse("bad request", status_code=400)
        return Response(status_code=200)

    async def zalo_webhook(request: Request) -> Response:
        from bot.adapters.zalo_api import parse_update

        if zalo is None:
            return PlainTextResponse("not configured", status_code=404)
        secret = zalo.settings.zalo.webhook_secret.get_secret_value()
        if not _secret_ok(request, ZALO_SECRET_HEADER, secret):
            log.warning("Zalo webhook call with a wrong secret from %s", request.client)
            return PlainTextResponse("forbidden", status_code=403)
        # Zalo's docs (bot.zapps.me/docs/webhook/) say only that every request carries the
        # secret and show a handler answering 200 "Success" once the secret matches; they name
        # no probe, retry or timeout. So: an empty body or JSON without an update (a check
        # from Zalo, say testWebhook) gets 200 and changes nothing; a body that is not JSON
        # gets 400 (as the sample's JSON parser would); an update is handled after the answer.
        try:
            raw = await _read_json(request, blank_is_none=True)
        except BodyTooLarge:
            log.warning("oversized Zalo webhook body refused")
            return _too_large()
        except ValueError:
            log.warning("Zalo webhook body is not JSON: refused")
            return PlainTextResponse("bad request", status_code=400)
        update = parse_update(raw) if raw else None
        if update is None:  # answered all the same: a refusal would not make it better
            if raw:
                log.warning("Zalo webhook body without a usable update ignored")
            return JSONResponse({"ok": True})
        zalo.accept(update)  # answer at once; duplicates are dropped by message id
        zalo.app.beats.answered("zalo")
        return JSONResponse({"ok": True})

    async def download(request: Request) -> Response:
        from models import chat_extras

        if app is None:
            return PlainTextResponse("not found", status_code=404)
        file_id = request.path_params["file_id"]
        now = app.clock.now()
        query = request.query_params
        if not links.check(app.settings, file_id, query.get("exp", ""), query.get("sig", ""), now):
            return PlainTextResponse("Đường dẫn đã hết hạn hoặc không hợp lệ.", status_code=403)
        async with app.db.session() as session:
            row = await chat_extras.shared_file(session, file_id, now)
        if row is None:
            return PlainTextResponse("Tệp không còn nữa.", status_code=404)
        inline = row.mime_type.startswith("image/")
        disposition = "inline" if inline else "attachment"
        name = quote(row.name)
        return Response(
            row.content,
            media_type=row.mime_type,
            headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{name}"},
        )

    from bot.webui.shell import routes as web_pages

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/metrics", metrics),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            Route("/zalo/webhook", zalo_webhook, methods=["POST"]),
            Route("/f/{file_id}/{name}", download),
            *(web_pages(app) if app is not None else []),  # the web pages (docs/web.md)
        ]
    )
