"""The PostgreSQL pass of `make test` says clearly when, and why, it is skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pgserver

SCRIPT = Path(__file__).with_name("pgserver.py")


def run_pass(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "pass", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_switched_off_pass_is_skipped_with_its_reason() -> None:
    result = run_pass(CONGDOAN_TEST_POSTGRES="off", CONGDOAN_TEST_POSTGRES_REQUIRED="")
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL pass SKIPPED: CONGDOAN_TEST_POSTGRES=off" in result.stdout


def test_a_required_pass_fails_when_skipped() -> None:
    result = run_pass(CONGDOAN_TEST_POSTGRES="off", CONGDOAN_TEST_POSTGRES_REQUIRED="1")
    assert result.returncode == 1
    assert "PostgreSQL pass SKIPPED" in result.stdout


def test_no_server_binaries_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    with pytest.raises(pgserver.Unavailable, match="no PostgreSQL server binaries"):
        pgserver.find_bindir()


def test_newest_debian_server_is_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        "/usr/lib/postgresql/9.6/bin",
        "/usr/lib/postgresql/15/bin",
        "/usr/lib/postgresql/13/bin",
    ]
    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: found)
    monkeypatch.setattr(pgserver.os, "access", lambda path, mode: True)
    assert pgserver.find_bindir() == "/usr/lib/postgresql/15/bin"
