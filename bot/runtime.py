"""Wiring: build the application from settings and run it on the configured platforms."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from bot.app import App
from bot.clock import Clock, SystemClock
from bot.config import Settings
from models import db as database
from models import events as processed
from models import units

log = logging.getLogger(__name__)


async def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Migrate the schema, load units from the config and register every feature."""
    import handlers

    await asyncio.to_thread(database.upgrade, settings.database.url)
    db = database.Database(settings.database.url)
    clock = clock or SystemClock()
    async with db.session() as session:
        await units.sync_from_config(session, settings.units)
        await session.commit()
        # Redeliveries come within minutes; older event ids need not be kept forever.
        await processed.prune(session, clock.now() - processed.RETENTION)
    return App(settings, db, clock, handlers.load_all())


async def run_console(settings: Settings, user_id: str, user_name: str) -> None:
    from bot.adapters.console import ConsoleAdapter

    app = await build_app(settings)
    console = ConsoleAdapter(app, user_id, user_name)
    app.add_adapter(console)
    try:
        await console.run()
    finally:
        await app.db.dispose()


async def run_telegram(settings: Settings) -> None:
    from bot.adapters.telegram import TelegramAdapter
    from bot.web import build_web_app

    app = await build_app(settings)
    telegram = TelegramAdapter(app, settings.telegram)
    app.add_adapter(telegram)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    webhook = settings.telegram.mode == "webhook"
    await telegram.start(polling=not webhook)
    server = None
    if webhook:
        web = build_web_app(telegram, settings.telegram.webhook_secret.get_secret_value())
        config = uvicorn.Config(
            web,
            host=settings.telegram.listen,
            port=settings.telegram.port,
            log_level="warning",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
    log.info("bot @%s running (%s)", telegram.username, settings.telegram.mode)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        if server is not None:
            server.should_exit = True
            await serving
        await telegram.stop()
        await app.db.dispose()
