"""Is a bot process using this database right now? Asked before a restore or a copy.

Every process that delivers (`congdoan run`, `congdoan worker`) renews the "leader" lease or
competes for it every few seconds, and holds leases on the outbox rows it is sending
(models/cluster.py, models/outbox.py). A lease still running, held by a process that is not
known to be gone (same host, pid free), means the bot runs; a clean stop gives the leases up,
a killed process's run out within 15 s (leader) or 30 s (outbox rows). On PostgreSQL any other
open connection to the database also counts (an intake-only `congdoan run --no-delivery`
holds no lease but keeps connections); on SQLite any other process of this machine that has
the file open (read from /proc: the processes of the same user, or all of them as root).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlmodel import Session

from models import cluster, outbox
from models import db as database
from models.cluster import Lease
from models.outbox import OutboxItem


def running_processes(url: str, now: datetime) -> list[str]:
    """The processes that seem to be using the database at `url` (empty: none)."""
    engine = create_engine(database.sync_url(url))
    try:
        with Session(engine) as session:
            tables = set(inspect(session.connection()).get_table_names())
            holders: set[str] = set()
            if Lease.__tablename__ in tables:
                holders.update(session.exec(cluster.live_holders_query(now)).all())
            if OutboxItem.__tablename__ in tables:
                holders.update(h for h in session.exec(outbox.holders_query(now)).all() if h)
            found = sorted(h for h in holders if not cluster.is_gone(h))
            if engine.dialect.name == "sqlite" and engine.url.database:
                found += [f"tiến trình {pid} đang mở tệp" for pid in openers(engine.url.database)]
            if engine.dialect.name == "postgresql":
                others = session.connection().exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                count = int(others.scalar_one())
                if count:
                    found.append(f"{count} kết nối khác tới cơ sở dữ liệu")
            return found
    finally:
        engine.dispose()


def openers(database: str) -> list[int]:
    """Other processes that have the SQLite file (or its -wal) open, as far as /proc shows."""
    wanted = {os.path.realpath(database + suffix) for suffix in ("", "-wal")}
    found = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:  # gone, or not ours to look at
            continue
        if links & wanted:
            found.append(int(entry.name))
    return sorted(found)
