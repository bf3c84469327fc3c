"""PostgreSQL: pg_dump and pg_restore, found on this machine and given the connection through
the environment (PGHOST, PGPASSWORD …), so the password never appears in a process list or
an error message."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.backup.errors import BackupError


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL database is, as the libpq tools want it."""

    host: str | None
    port: int | None
    user: str | None
    password: str | None
    database: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parsed = make_url(url)
        host = parsed.query.get("host") or parsed.host
        return cls(
            host=host if isinstance(host, str) else None,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password if isinstance(parsed.password, str) else None,
            database=parsed.database or "postgres",
        )

    def env(self, database: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        values = {
            "PGHOST": self.host,
            "PGPORT": str(self.port) if self.port else None,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": database or self.database,
        }
        env.update({k: v for k, v in values.items() if v})
        return env

    def connect_kwargs(self, database: str) -> dict[str, object]:
        """For psycopg.connect."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": database,
        }


def _version(bindir: str) -> tuple[int, ...]:
    found = re.search(r"/postgresql/([\d.]+)/bin", bindir)
    return tuple(int(part) for part in found.group(1).split(".")) if found else (0,)


def find_tool(name: str, pg_bin: str = "") -> str:
    """The path of `name` (pg_dump, pg_restore): in `pg_bin` when set, else on the PATH, else
    the newest /usr/lib/postgresql/N/bin (Debian and Ubuntu install them there)."""
    if pg_bin:
        candidate = Path(pg_bin) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
        raise BackupError(f"Không thấy {name} trong {pg_bin} ([backup] pg_bin).")
    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        if os.access(f"{bindir}/{name}", os.X_OK):
            return f"{bindir}/{name}"
    raise BackupError(
        f"Không tìm thấy {name} trên máy này: cài gói postgresql-client cùng phiên bản với máy "
        f"chủ PostgreSQL (apt-get install postgresql-client-16) hoặc đặt [backup] pg_bin."
    )


async def run_tool(command: list[str], env: dict[str, str], what: str) -> str:
    """Run a libpq tool; its standard output, or BackupError with the end of its errors."""
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        detail = " / ".join(lines[-2:]) or f"mã thoát {process.returncode}"
        raise BackupError(f"{what} thất bại: {detail}")
    return out.decode(errors="replace")


async def dump(url: str, target: Path, pg_bin: str = "") -> None:
    server = Server.from_url(url)
    command = [find_tool("pg_dump", pg_bin), "--format=custom", "--no-password"]
    await run_tool([*command, f"--file={target}"], server.env(), "pg_dump")


async def list_archive(archive: Path, pg_bin: str = "") -> str:
    """The archive's table of contents: reading it checks the file is a whole pg_dump."""
    tool = find_tool("pg_restore", pg_bin)
    return await run_tool([tool, "--list", str(archive)], dict(os.environ), "pg_restore --list")


async def archived_revision(archive: Path, pg_bin: str = "") -> str | None:
    """The alembic revision stored in a pg_dump archive (the data of alembic_version)."""
    tool = find_tool("pg_restore", pg_bin)
    script = await run_tool(
        [tool, "--data-only", "--table=alembic_version", "--file=-", str(archive)],
        dict(os.environ),
        "pg_restore",
    )
    lines = script.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and index + 1 < len(lines):
            value = lines[index + 1].strip()
            return None if value == "\\." else value
    return None


async def restore_into(url: str, archive: Path, pg_bin: str = "") -> None:
    """Load `archive` into the (new, empty) database of `url`."""
    server = Server.from_url(url)
    command = [
        find_tool("pg_restore", pg_bin),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={server.database}",
        str(archive),
    ]
    await run_tool(command, server.env(), "pg_restore")
