"""Running `congdoan` as a subprocess, as an IT person would, on the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.databases import database_url, on_postgresql

ROOT = Path(__file__).resolve().parent.parent


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `congdoan` process: on PostgreSQL, the test's own database in place
    of the example config's SQLite file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if on_postgresql():
        env["CONGDOAN_DATABASE_URL"] = database_url(tmp_path)
    return env


def run_cli(
    *args: str, cwd: Path, env: dict | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**cli_env(cwd), **(env or {})},
    )


def write_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config.write_text(example + extra, encoding="utf-8")
    return config
