"""A throwaway PostgreSQL server for the test suite's PostgreSQL pass (standard library only).

    python3 tests/pgserver.py pass [PYTEST ARGS]  # the PostgreSQL pass of `make test`
    python3 tests/pgserver.py start DIR           # start a server in DIR, print its URL
    python3 tests/pgserver.py stop DIR            # stop it and remove DIR

`pass` runs `pytest --db postgresql` against $CONGDOAN_TEST_POSTGRES_URL when it is set;
otherwise it starts a server of its own from the PostgreSQL binaries on this machine (initdb
into a temporary directory, 127.0.0.1 on a free port, no fsync), runs the suite and removes
the server. With neither, or with CONGDOAN_TEST_POSTGRES=off, it prints "PostgreSQL pass
SKIPPED: <reason>" and exits 0, or 1 when $CONGDOAN_TEST_POSTGRES_REQUIRED is set (CI sets it).
As root the server runs as the `postgres` user, since initdb refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

URL_ENV = "CONGDOAN_TEST_POSTGRES_URL"
SWITCH_ENV = "CONGDOAN_TEST_POSTGRES"  # "off": skip the PostgreSQL pass
REQUIRED_ENV = "CONGDOAN_TEST_POSTGRES_REQUIRED"
SERVER_USER = "postgres"
# Durability is worthless for a server that lives as long as one test run.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c max_connections=300 -c shared_buffers=128MB"
)


class Unavailable(Exception):
    """No server can be started here; the message says why."""


def _version(bindir: str) -> tuple[int, ...]:
    found = re.search(r"/postgresql/([\d.]+)/bin", bindir)
    return tuple(int(part) for part in found.group(1).split(".")) if found else (0,)


def find_bindir() -> str:
    """The directory with initdb and pg_ctl: the newest /usr/lib/postgresql/N/bin (Debian),
    else the PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    for bindir in candidates:
        if os.access(f"{bindir}/initdb", os.X_OK) and os.access(f"{bindir}/pg_ctl", os.X_OK):
            return bindir
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return str(Path(initdb).resolve().parent)
    raise Unavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) on this machine; install them "
        "(apt-get install postgresql) or set " + URL_ENV
    )


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise Unavailable(
            f"running as root and there is no '{SERVER_USER}' user to run the server as "
            "(initdb refuses root)"
        ) from None
    if shutil.which("runuser"):
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", " ".join(map(_quote, command))]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise Unavailable(f"{what} failed: {(result.stderr or result.stdout).strip()[-800:]}")


def start(base: Path) -> str:
    """Create and start a cluster in `base` (created if missing); return its URL."""
    bindir = find_bindir()
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _as_server_user(["true"])  # fails early and clearly without the user
        user = pwd.getpwnam(SERVER_USER)
        os.chown(base, user.pw_uid, user.pw_gid)
    base.chmod(0o700)
    data = base / "data"
    initdb = [f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust"]
    initdb += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    _run(_as_server_user(initdb), "initdb")
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {base} {SERVER_OPTIONS}"
    command = [f"{bindir}/pg_ctl", "-D", str(data), "-l", str(base / "server.log")]
    _run(_as_server_user([*command, "-w", "-t", "60", "-o", options, "start"]), "pg_ctl start")
    (base / "port").write_text(str(port))
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"


def stop(base: Path) -> None:
    """Stop the cluster in `base` (if it runs) and remove the directory."""
    if (base / "data" / "postmaster.pid").exists():
        pg_ctl = [f"{find_bindir()}/pg_ctl", "-D", str(base / "data"), "-m", "immediate", "stop"]
        subprocess.run(_as_server_user(pg_ctl), capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def skipped(reason: object) -> int:
    print(f"PostgreSQL pass SKIPPED: {reason}", flush=True)
    if os.environ.get(REQUIRED_ENV):
        print(f"(a failure: {REQUIRED_ENV} is set)", flush=True)
        return 1
    return 0


def run_pass(pytest_args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "--db", "postgresql", *pytest_args]
    if os.environ.get(SWITCH_ENV, "").lower() in ("off", "0", "no", "false"):
        return skipped(f"{SWITCH_ENV}={os.environ[SWITCH_ENV]}")
    url = os.environ.get(URL_ENV)
    if url:
        print(f"PostgreSQL pass: {URL_ENV} is set", flush=True)
        return subprocess.call(command)
    base = Path(tempfile.mkdtemp(prefix="congdoan-pg-"))
    try:
        try:
            url = start(base)
        except Unavailable as reason:
            return skipped(reason)
        print(f"PostgreSQL pass: throwaway server at {url} (in {base})", flush=True)
        return subprocess.call(command, env={**os.environ, URL_ENV: url})
    finally:
        stop(base)


def main(argv: list[str]) -> int:
    if argv[:1] == ["pass"]:
        return run_pass(argv[1:])
    if len(argv) == 2 and argv[0] in ("start", "stop"):
        base = Path(argv[1])
        if argv[0] == "stop":
            stop(base)
            return 0
        try:
            print(start(base))
        except Unavailable as reason:
            print(f"cannot start PostgreSQL: {reason}", file=sys.stderr)
            stop(base)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
