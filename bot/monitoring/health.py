"""/healthz: what is checked, each part with `ok` and the figures behind it; the whole is ok
only when every part is. Nothing here writes."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from models import cluster, reminders
from models import db as database

if TYPE_CHECKING:
    from bot.app import App


@dataclass
class Part:
    ok: bool
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.details}


@cache
def _head(url: str) -> str | None:
    return database.head_revision(url)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _age(app: App, when: datetime | None) -> float | None:
    return round((app.clock.now() - when).total_seconds(), 3) if when is not None else None


def _sqlite_revision(path: str, timeout: float) -> str | None:
    """A fresh connection, never creating the file: the pool's connections keep working on
    a file that was deleted under them, so they cannot tell."""
    uri = Path(path).resolve().as_uri() + "?mode=rw"  # percent-encoded: any file name
    conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


async def _revision(app: App, timeout: float) -> str | None:
    url = make_url(app.db.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        assert url.database is not None
        return await asyncio.wait_for(
            asyncio.to_thread(_sqlite_revision, url.database, timeout), timeout
        )

    async def query() -> str | None:
        async with app.db.engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()

    return await asyncio.wait_for(query(), timeout)


async def database_parts(app: App) -> tuple[Part, Part]:
    timeout = app.settings.health.database_timeout_seconds
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        revision = await _revision(app, timeout)
    except TimeoutError:
        reached = Part(False, {"error": f"no answer within {timeout:g} s"})
        return reached, Part(False, {"error": "database unreachable"})
    except Exception as exc:  # whatever the driver says; its text names no secret
        reached = Part(False, {"error": type(exc).__name__})
        return reached, Part(False, {"error": "database unreachable"})
    reached = Part(True, {"seconds": round(loop.time() - began, 4)})
    head = _head(app.db.url)
    return reached, Part(revision == head, {"database": revision, "head": head})


async def _guarded(app: App, work: Any) -> Any:
    return await asyncio.wait_for(work, app.settings.health.database_timeout_seconds)


async def delivery_part(app: App) -> Part:
    stale = app.settings.health.worker_stale_seconds
    background = app.background
    if background is not None:
        workers = {}
        for worker in background.delivery_workers:
            running = worker.running
            age = _age(app, worker.last_beat)
            fresh = age is not None and age <= stale
            workers[worker.bot] = {
                "ok": running and fresh,
                "running": running,
                "last_beat": _iso(worker.last_beat),
                "age_seconds": age,
            }
        ok = bool(workers) and all(w["ok"] for w in workers.values())
        return Part(ok, {"here": True, "workers": workers, "stale_after_seconds": stale})

    async def read() -> list[cluster.Lease]:
        async with app.db.session() as session:
            return await cluster.beats(session)

    now = app.clock.now()
    elsewhere = [
        {"worker": lease.holder, "alive_until": _iso(lease.until)}
        for lease in await _guarded(app, read())
        if lease.until > now
    ]
    return Part(
        bool(elsewhere), {"here": False, "note": "not in this process", "elsewhere": elsewhere}
    )


async def scheduler_part(app: App) -> Part:
    background = app.background
    if background is not None and background.leader is not None and background.leader.is_leader:
        scheduler = app.scheduler
        armed = scheduler is not None and scheduler.aps.running
        wakeups = [job.next_run_time for job in scheduler.aps.get_jobs()] if armed else []

        async def next_due() -> datetime | None:
            async with app.db.session() as session:
                return await reminders.next_due(session)

        return Part(
            armed,
            {
                "leader": "this process",
                "armed": armed,
                "next_wakeup": _iso(min(wakeups, default=None)),
                "next_due": _iso(await _guarded(app, next_due())),
            },
        )

    async def read() -> cluster.Lease | None:
        async with app.db.session() as session:
            return await cluster.lease(session, "leader")

    lease = await _guarded(app, read())
    live = lease is not None and lease.holder != "" and lease.until > app.clock.now()
    if not live:
        return Part(False, {"leader": None, "error": "no process leads: nothing fires"})
    assert lease is not None
    return Part(
        True,
        {"leader": "another process is leader", "holder": lease.holder, "until": _iso(lease.until)},
    )


def apps_part(app: App) -> Part:
    stale = app.settings.health.poll_stale_seconds
    apps: dict[str, Any] = {}
    for key, beat in app.beats.apps.items():  # the apps this process receives from
        polling, last = beat.polling, beat.last_ok
        refused = beat.refused_at is not None
        age = _age(app, last or beat.started_at)
        # A webhook is called only when people write: silence proves nothing.
        fresh = not polling or (age is not None and age <= stale)
        apps[key] = {
            "ok": fresh and not refused,
            "mode": "polling" if polling else "webhook",
            "last_ok": _iso(last),
            "age_seconds": _age(app, last),
            "token_refused": refused,
        }
    return Part(all(a["ok"] for a in apps.values()), {"apps": apps, "stale_after_seconds": stale})


async def report(app: App) -> tuple[bool, dict[str, Any]]:
    reached, migrations = await database_parts(app)
    parts: dict[str, Part] = {"database": reached, "migrations": migrations}
    for name, check in (("delivery", delivery_part), ("scheduler", scheduler_part)):
        if not reached.ok:
            parts[name] = Part(False, {"error": "database unreachable"})
            continue
        try:
            parts[name] = await check(app)
        except Exception as exc:
            parts[name] = Part(False, {"error": type(exc).__name__})
    parts["apps"] = apps_part(app)
    ok = all(part.ok for part in parts.values())
    body: dict[str, Any] = {"ok": ok, "time": _iso(app.clock.now())}
    body.update({name: part.as_json() for name, part in parts.items()})
    return ok, body
