"""Backups in tests: a directory with its own config.toml (the live bot's, or a fresh one to
restore into), `congdoan backup` / `congdoan restore` run as the IT person runs them, and
what the database holds, read table by table for comparison."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, select

from bot.backup import BackupError, pg_tools
from models.db import Database
from tests.cli import run_cli
from tests.databases import database_url, on_postgresql, postgresql


def write_site(directory: Path, **backup: object) -> Path:
    """A config.toml in `directory` for the test's database of that directory, with backups
    in directory/backups and exports in directory/exports; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    options = {"dir": str(directory / "backups"), "exports_dir": str(directory / "exports")}
    options.update({k: str(v) for k, v in backup.items()})
    lines = ["[database]", f'url = "{database_url(directory)}"', "", "[backup]"]
    lines += [f'{key} = "{value}"' for key, value in options.items()]
    config = directory / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


async def congdoan(
    directory: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`congdoan --config directory/config.toml ARGS` in a thread: the bot of the test keeps
    running on the event loop meanwhile."""
    config = str(directory / "config.toml")
    return await asyncio.to_thread(run_cli, "--config", config, *args, cwd=directory, env=env)


def skip_without_pg_tools() -> None:
    """On the PostgreSQL pass, pg_dump and pg_restore must be on this machine."""
    if not on_postgresql():
        return
    try:
        pg_tools.find_tool("pg_dump")
        pg_tools.find_tool("pg_restore")
    except BackupError as exc:
        pytest.skip(f"PostgreSQL backups need pg_dump and pg_restore: {exc}")


async def rows(url: str, table: type[SQLModel], *columns: str) -> list[tuple[Any, ...]]:
    """The rows of `table` (the named columns, or all), ordered by primary key."""
    db = Database(url)
    try:
        async with db.session() as session:
            mapped = table.__table__  # type: ignore[attr-defined]
            names = list(columns) or [c.key for c in mapped.columns]
            keys = list(mapped.primary_key.columns)
            found = (await session.exec(select(table).order_by(*keys))).all()
            return [tuple(getattr(row, name) for name in names) for row in found]
    finally:
        await db.dispose()


def drop_databases_set_aside() -> None:
    """The databases a PostgreSQL restore kept aside (`<name>_before_restore_<time>`)."""
    server = postgresql()
    if server is None:
        return
    found = server.admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s",
        (f"{server.template.removesuffix('_template')}%\\_before\\_restore\\_%",),
    ).fetchall()
    for (name,) in found:
        server.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
