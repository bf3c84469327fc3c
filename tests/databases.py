"""The database each test runs on: a SQLite file in its tmp_path, or, with `pytest --db
postgresql`, a PostgreSQL database of its own (see docs/testing.md).

A module of its own (not conftest.py): pytest imports conftest.py as `conftest` while test
helpers import `tests.conftest`, two copies whose globals would differ.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

POSTGRES_URL_ENV = "CONGDOAN_TEST_POSTGRES_URL"


class PostgresDatabases:
    """One database per test on a PostgreSQL server, copied from a template that was migrated
    once, so a test pays for a CREATE DATABASE, not for the migrations."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url: URL = make_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise pytest.UsageError(f"{POSTGRES_URL_ENV} is not a PostgreSQL URL")
        self.url = self.url.set(drivername="postgresql+asyncpg")
        prefix = f"congdoan_test_{os.getpid()}"
        self.template = f"{prefix}_template"
        self._names = (f"{prefix}_{n}" for n in itertools.count(1))
        self._by_key: dict[str, str] = {}
        self._fresh: list[str] = []
        try:
            self.admin = psycopg.connect(
                host=self.url.query.get("host") or self.url.host or None,
                port=self.url.port,
                user=self.url.username,
                password=self.url.password,
                dbname=self.url.database or "postgres",
                autocommit=True,
            )
        except psycopg.Error as error:
            raise pytest.UsageError(f"cannot reach PostgreSQL at {self.url!r}: {error}") from None
        number = self.admin.info.server_version  # 150018 for 15.18
        self.version = f"{number // 10000}.{number % 10000}"
        # FILE_COPY (PostgreSQL 15+) copies the template's files instead of logging every page.
        self._strategy = " STRATEGY FILE_COPY" if self.admin.info.server_version >= 150000 else ""

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def prepare_template(self) -> None:
        from models.db import upgrade

        self._drop_abandoned()
        self._drop(self.template)
        self.admin.execute(f'CREATE DATABASE "{self.template}"')
        upgrade(self.url_for(self.template))

    def database_for(self, key: str) -> str:
        """The URL of the database for `key` (a test's tmp_path): created on first use, so a
        test that restarts the bot on the same settings finds its data again."""
        if key not in self._by_key:
            name = next(self._names)
            self.admin.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self._strategy}'
            )
            self._by_key[key] = name
            self._fresh.append(name)
        return self.url_for(self._by_key[key])

    def drop_fresh(self) -> None:
        """Drop the databases made since the last call (the test is over)."""
        for name in self._fresh:
            self._drop(name)
        self._by_key = {k: v for k, v in self._by_key.items() if v not in self._fresh}
        self._fresh = []

    def _drop_abandoned(self) -> None:
        """Databases left by a run that was killed (its process is gone) on a lasting server."""
        rows = self.admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'congdoan\\_test\\_%'"
        ).fetchall()
        for (name,) in rows:
            pid = name.split("_")[2]
            if pid.isdigit() and not _process_alive(int(pid)):
                self._drop(name)

    def _drop(self, name: str) -> None:
        # FORCE: a connection some test left open must not keep the database alive.
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop_fresh()
        self._drop(self.template)
        self.admin.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_postgres: PostgresDatabases | None = None


def use_postgresql(url: str) -> PostgresDatabases:
    """From now on tests get PostgreSQL databases on the server at `url`."""
    global _postgres
    _postgres = PostgresDatabases(url)
    _postgres.prepare_template()
    return _postgres


def postgresql() -> PostgresDatabases | None:
    return _postgres


def close() -> None:
    global _postgres
    if _postgres is not None:
        _postgres.close()
        _postgres = None


def drop_fresh() -> None:
    if _postgres is not None:
        _postgres.drop_fresh()


def on_postgresql() -> bool:
    return _postgres is not None


def database_url(tmp_path: Path) -> str:
    """The test's database: a SQLite file in tmp_path, or its own PostgreSQL database."""
    if _postgres is not None:
        return _postgres.database_for(str(tmp_path))
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


class WriteLock:
    """Another writer holding the write lock of the test's database, as a big import or another
    process would: on SQLite the file's write lock (BEGIN IMMEDIATE), on PostgreSQL an EXCLUSIVE
    lock on `table` (reads go on; writes wait for the lock timeout, then fail as busy)."""

    def __init__(self, url: str, table: str = "processed_events") -> None:
        parsed = make_url(url)
        self.table = table
        if parsed.get_backend_name() == "postgresql":
            import psycopg

            self.conn: Any = psycopg.connect(
                host=parsed.query.get("host") or parsed.host or None,
                port=parsed.port,
                user=parsed.username,
                password=parsed.password,
                dbname=parsed.database,
            )
            self.postgresql = True
        else:
            import sqlite3

            assert parsed.database, url
            self.conn = sqlite3.connect(
                parsed.database, isolation_level=None, check_same_thread=False
            )
            self.postgresql = False

    def hold(self) -> None:
        if self.postgresql:
            self.conn.execute(f'LOCK TABLE "{self.table}" IN EXCLUSIVE MODE')
        else:
            self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.postgresql:
            self.conn.rollback()
        else:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


def remove(url: str) -> None:
    """The database disappears under the running bot: the SQLite file (and its WAL) deleted,
    or the PostgreSQL database dropped with its connections."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        assert _postgres is not None and parsed.database
        _postgres._drop(parsed.database)
        return
    assert parsed.database
    for suffix in ("", "-wal", "-shm"):
        Path(parsed.database + suffix).unlink(missing_ok=True)
