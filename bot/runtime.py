"""Wiring: build the application from settings and run it on the configured platforms."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import uvicorn

from bot.app import App
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery import DeliveryWorker, WorkerSettings
from bot.progress import ProgressReporter
from models import db as database
from models import events as processed
from models import units
from scheduler import Scheduler

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


class Background:
    """The delivery workers and the progress reporter, started and stopped together."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        intervals = []
        for platform, adapter in self.app.adapters.items():
            conf = self.app.settings.delivery.for_platform(platform)
            worker = DeliveryWorker(
                self.app,
                adapter,
                WorkerSettings(concurrency=conf.concurrency, max_attempts=conf.max_attempts),
            )
            self.app.workers.append(worker)
            self.tasks.append(asyncio.create_task(worker.run(self.stop)))
            intervals.append(conf.progress_interval_seconds)
        reporter = ProgressReporter(self.app, interval=min(intervals, default=3.0))
        self.tasks.append(asyncio.create_task(reporter.run(self.stop)))
        self.app.scheduler = Scheduler(self.app)
        self.tasks.append(asyncio.create_task(self.app.scheduler.start()))

    async def close(self) -> None:
        self.stop.set()
        await self.app.wait_background()
        if self.app.scheduler is not None:
            self.app.scheduler.shutdown()
            self.app.scheduler = None
        for worker in self.app.workers:
            worker.wake()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.app.workers.clear()


async def run_console(settings: Settings, user_id: str, user_name: str) -> None:
    from bot.adapters.console import ConsoleAdapter

    app = await build_app(settings)
    console = ConsoleAdapter(app, user_id, user_name)
    app.add_adapter(console)
    background = Background(app)
    background.start()
    try:
        await console.run()
    finally:
        await background.close()
        await app.db.dispose()


async def run_bots(settings: Settings) -> None:
    """Serve every configured app at once (Telegram, Zalo or both), with one web server for
    webhooks and download links when one is needed."""
    from bot.web import build_web_app

    app = await build_app(settings)
    telegram = zalo = None
    if settings.telegram.enabled:
        from bot.adapters.telegram import TelegramAdapter

        telegram = TelegramAdapter(app, settings.telegram, settings.delivery.telegram.limits())
        app.add_adapter(telegram)
    if settings.zalo.enabled:
        from bot.adapters.zalo import ZaloAdapter

        zalo = ZaloAdapter(app, settings, settings.delivery.zalo.limits())
        app.add_adapter(zalo)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Any] = []
    server = serving = None
    background = Background(app)
    try:
        if telegram is not None:
            await telegram.start(polling=settings.telegram.mode != "webhook")
            started.append(telegram)
        if zalo is not None:
            await zalo.start(polling=settings.zalo.mode != "webhook")
            started.append(zalo)
        needs_web = zalo is not None or (settings.telegram.mode == "webhook" and telegram)
        if needs_web:
            web = build_web_app(
                telegram, settings.telegram.webhook_secret.get_secret_value(), zalo=zalo, app=app
            )
            config = uvicorn.Config(
                web,
                host=settings.web.listen,
                port=settings.web.port,
                log_level="warning",
                lifespan="off",
            )
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
        background.start()
        log.info("bot running: %s", ", ".join(app.adapters))
        await stop.wait()
    finally:
        log.info("stopping")
        # Intake first (webhooks), then follow-up work still running (a spreadsheet, stopping
        # polls), then the workers and scheduler, then the apps themselves.
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        await app.wait_background()
        await background.close()
        for adapter in reversed(started):
            await adapter.stop()
        await app.db.dispose()
