"""The bot's own web server: the Telegram webhook and a health check."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.adapters.telegram import TelegramAdapter

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def build_web_app(telegram: TelegramAdapter | None, webhook_secret: str) -> Starlette:
    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def telegram_webhook(request: Request) -> Response:
        if telegram is None:
            return PlainTextResponse("not configured", status_code=404)
        given = request.headers.get(SECRET_HEADER, "")
        if not webhook_secret or not hmac.compare_digest(given.encode(), webhook_secret.encode()):
            log.warning("webhook call with a wrong secret from %s", request.client)
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict) or "update_id" not in data:
                raise ValueError("not an update")
            await telegram.put_update(data)
        except ValueError:
            log.warning("malformed webhook payload ignored")
            return PlainTextResponse("bad request", status_code=400)
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
        ]
    )
