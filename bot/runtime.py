"""Wiring: build the application from settings and run it on the configured platforms."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from pathlib import Path
from typing import Any

import uvicorn

from bot.app import App
from bot.backup import daily as daily_backup
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery import DeliveryWorker, WorkerSettings
from bot.fanout import FanOut
from bot.leader import Leadership
from bot.monitoring.beacon import Beacon
from bot.monitoring.stall import StallWatch
from bot.progress import ProgressReporter
from bot.shared_pace import SharedPace
from models import cluster, units
from models import db as database
from models import events as processed
from scheduler import Scheduler

log = logging.getLogger(__name__)


async def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Migrate the schema, load units from the config and register every feature."""
    import handlers

    await asyncio.to_thread(database.upgrade, settings.database.url)
    db = database.Database(settings.database.url, lock_timeout_ms=settings.database.lock_timeout_ms)
    clock = clock or SystemClock()
    async with db.session() as session:
        await units.sync_from_config(session, settings.units)
        await session.commit()
        # Redeliveries come within minutes; older event ids need not be kept forever.
        await processed.prune(session, clock.now() - processed.RETENTION)
    return App(settings, db, clock, handlers.load_all())


class Background:
    """Delivery: the workers, and in the leading process (one per database, bot/leader.py) the
    scheduler and the progress reporter; started and stopped together."""

    def __init__(
        self,
        app: App,
        *,
        leader_ttl: float = 15.0,
        beacon_every: float = 5.0,
        stall_check_every: float = 30.0,
    ) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.worker_id = cluster.process_id()
        self.leader_ttl = leader_ttl
        self.leader: Leadership | None = None
        self.delivery_workers: list[DeliveryWorker] = []
        self.beacon_every = beacon_every
        self.stall_check_every = stall_check_every
        self.stall_watch: StallWatch | None = None
        self.scheduler: Scheduler | None = None

    def start(self) -> None:
        self.app.background = self  # the health check looks here
        intervals = []
        for adapter in self.app.bots.values():  # a worker per bot
            conf = self.app.settings.delivery.for_platform(adapter.platform)
            worker = DeliveryWorker(
                self.app,
                adapter,
                WorkerSettings(concurrency=conf.concurrency, max_attempts=conf.max_attempts),
                worker_id=self.worker_id,
            )
            self.app.workers.append(worker)
            self.delivery_workers.append(worker)
            self.tasks.append(asyncio.create_task(worker.run(self.stop)))
            intervals.append(conf.progress_interval_seconds)
        # Fan-out pages are claimed per job, so every delivery process may expand.
        fanout = self.app.fanout = FanOut(self.app)
        self.app.workers.append(fanout)  # woken with the workers whenever something is queued
        self.tasks.append(asyncio.create_task(fanout.run(self.stop)))
        scheduler = self.app.scheduler = self.scheduler = Scheduler(self.app)
        self.leader = leader = Leadership(
            self.app,
            self.worker_id,
            ttl=self.leader_ttl,
            on_gain=self._lead,
            on_lose=self._stop_scheduler,
            on_renew=scheduler.rearm,
        )
        reporter = ProgressReporter(
            self.app, interval=min(intervals, default=3.0), active=lambda: leader.is_leader
        )
        self.tasks.append(asyncio.create_task(reporter.run(self.stop)))
        beacon = Beacon(self.app, self.worker_id, self.delivery_workers, every=self.beacon_every)
        self.tasks.append(asyncio.create_task(beacon.run(self.stop)))
        self.stall_watch = StallWatch(
            self.app, active=lambda: leader.is_leader, every=self.stall_check_every
        )
        self.tasks.append(asyncio.create_task(self.stall_watch.run(self.stop)))
        self.tasks.append(asyncio.create_task(leader.run(self.stop)))  # last (tests kill it)
        for hook in self.app.registry.start_hooks:
            self.app.spawn(hook(self.app))

    async def _lead(self) -> None:
        """This process now leads: the next daily backup is planned, the scheduler armed."""
        try:
            await daily_backup.ensure_planned(self.app)
        except Exception:
            log.exception("planning the daily backup failed")
        if self.scheduler is not None:
            await self.scheduler.start()

    async def _stop_scheduler(self) -> None:
        if self.app.scheduler is not None:
            self.app.scheduler.shutdown()

    async def close(self) -> None:
        self.stop.set()
        await self.app.wait_background()
        if self.app.scheduler is not None:
            self.app.scheduler.shutdown()
        for worker in self.app.workers:
            worker.wake()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.app.scheduler = None
        self.app.workers.clear()
        self.app.fanout = None
        self.delivery_workers.clear()
        if self.app.background is self:
            self.app.background = None


def pace_key(platform: str, settings: Settings, adapter: Any = None) -> str:
    """Names a bot's send budget across processes: the platform and the token's public part
    (Telegram's bot id), or a digest of it; never the secret itself."""
    if platform == "telegram":
        own = getattr(adapter, "settings", None)  # another bot of the deployment: its token
        token = (own if own is not None else settings.telegram).token.get_secret_value()
        return f"telegram:{token.split(':', 1)[0]}"
    if platform == "zalo":
        digest = hashlib.sha256(settings.zalo.token.get_secret_value().encode()).hexdigest()
        return f"zalo:{digest[:16]}"
    return platform


def share_pace(app: App) -> list[SharedPace]:
    """On PostgreSQL every process sending as one bot takes its slots from the database, so
    together they keep to the bot's limits (bot/shared_pace.py). SQLite deployments are one
    process: their in-process limiter stays (no round trip per send)."""
    if app.db.engine.dialect.name != "postgresql":
        return []
    shared: list[SharedPace] = []
    adapter: Any  # the Adapter protocol has no limiters: those that pace themselves have them
    for adapter in app.bots.values():
        platform = adapter.platform
        limiter = getattr(adapter, "limiter", None)
        if platform == "console" or limiter is None or getattr(limiter, "shared", False):
            continue
        key = pace_key(platform, app.settings, adapter)
        adapter.limiter = SharedPace(app.db.engine, key, limiter.limits)
        shared.append(adapter.limiter)
        paid = getattr(adapter, "paid_limiter", None)
        if paid is not None:  # the paid lane is a budget of its own
            adapter.paid_limiter = SharedPace(app.db.engine, f"{key}:paid", paid.limits)
            shared.append(adapter.paid_limiter)
    return shared


async def close_pace(app: App) -> None:
    for adapter in app.bots.values():
        for limiter in (getattr(adapter, "limiter", None), getattr(adapter, "paid_limiter", None)):
            if isinstance(limiter, SharedPace):
                await limiter.close()


def _warn_if_sqlite(app: App, what: str) -> None:
    if app.db.engine.dialect.name == "sqlite":
        log.warning(
            "%s on SQLite: run one `congdoan run` per database instead (SQLite has one writer, "
            "and each process would pace the bot on its own); use PostgreSQL for several",
            what,
        )


async def run_console(settings: Settings, user_id: str, user_name: str) -> None:
    from bot.adapters.console import ConsoleAdapter

    app = await build_app(settings)
    console = ConsoleAdapter(app, user_id, user_name, export_dir=Path(settings.backup.exports_dir))
    app.add_adapter(console)
    background = Background(app)
    background.start()
    try:
        await console.run()
    finally:
        await background.close()
        await app.db.dispose()


def _add_adapters(app: App, settings: Settings) -> tuple[Any, Any]:
    telegram = zalo = None
    if settings.telegram.enabled:
        from bot.adapters.telegram import TelegramAdapter

        pace = settings.delivery.telegram
        telegram = TelegramAdapter(app, settings.telegram, pace.limits(), pace.paid_limits())
        app.add_adapter(telegram)
        for extra in settings.telegram.bots:  # each its own token, pace and worker
            app.add_adapter(
                TelegramAdapter(
                    app,
                    settings.telegram.for_bot(extra),
                    pace.limits(),
                    pace.paid_limits(),
                    name=extra.name,
                )
            )
    if settings.zalo.enabled:
        from bot.adapters.zalo import ZaloAdapter

        zalo = ZaloAdapter(app, settings, settings.delivery.zalo.limits())
        app.add_adapter(zalo)
    share_pace(app)
    return telegram, zalo


def _extra_bots(app: App) -> list[Any]:
    """The deployment's other Telegram bots ([[telegram.bots]])."""
    return [a for key, a in app.bots.items() if a.platform == "telegram" and key != "telegram"]


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve(server: uvicorn.Server, settings: Settings, *, needed: bool) -> None:
    """Run the web server. One that cannot listen (the port is taken) stops the bot as before
    when webhooks or download links need it; a polling bot goes on without /healthz and
    /metrics, and says so."""
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind
        if needed:
            raise
        where = f"{settings.web.listen}:{settings.web.port}"
        log.error("web server could not listen on %s: no /healthz or /metrics", where)


async def run_bots(settings: Settings, *, delivery: bool = True) -> None:
    """Serve every configured app at once (Telegram, Zalo or both), with one web server for
    webhooks, download links, /healthz and /metrics. `delivery=False` (`congdoan run
    --no-delivery`): intake only, the outbox is sent by `congdoan worker` processes."""
    from bot.web import build_web_app

    app = await build_app(settings)
    telegram, zalo = _add_adapters(app, settings)
    if not delivery:
        _warn_if_sqlite(app, "congdoan run --no-delivery")
    stop = _stop_on_signals()
    started: list[Any] = []
    server = serving = None
    background = Background(app)
    try:
        if telegram is not None:
            await telegram.start(polling=settings.telegram.mode != "webhook")
            started.append(telegram)
            for extra in _extra_bots(app):  # polling only (config.py refuses webhooks)
                await extra.start(polling=True)
                started.append(extra)
        if zalo is not None:
            await zalo.start(polling=settings.zalo.mode != "webhook")
            started.append(zalo)
        # Served in every mode: /healthz and /metrics, and the webhooks of the apps on one.
        web = build_web_app(
            telegram if settings.telegram.mode == "webhook" else None,
            settings.telegram.webhook_secret.get_secret_value(),
            zalo=zalo,
            app=app,
        )
        config = uvicorn.Config(
            web,
            host=settings.web.listen,
            port=settings.web.port,
            log_level="warning",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        needed = zalo is not None or (settings.telegram.mode == "webhook" and telegram is not None)
        serving = asyncio.create_task(_serve(server, settings, needed=needed))
        if delivery:
            background.start()
        log.info("bot running: %s%s", ", ".join(app.adapters), "" if delivery else " (intake only)")
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
        await close_pace(app)
        await app.db.dispose()


async def run_worker(settings: Settings) -> None:
    """`congdoan worker`: delivery only (the workers, and the scheduler and progress messages
    while this process leads); no polling, no webhook. Run as many as the database allows."""
    app = await build_app(settings)
    telegram, zalo = _add_adapters(app, settings)
    _warn_if_sqlite(app, "congdoan worker")
    stop = _stop_on_signals()
    background = Background(app)
    started: list[Any] = []
    try:
        if telegram is not None:
            for bot in [telegram, *_extra_bots(app)]:
                await bot.application.initialize()  # getMe: checks the token, no polling
                bot.username = bot.application.bot.username
                started.append(bot)
        if zalo is not None:
            await zalo.identify()  # getMe: checks the token, learns can_join_groups
            started.append(zalo)
        background.start()
        log.info("worker %s running: %s", background.worker_id, ", ".join(app.adapters))
        await stop.wait()
    finally:
        log.info("stopping")
        await background.close()
        for adapter in reversed(started):
            await adapter.stop()
        await close_pace(app)
        await app.db.dispose()
