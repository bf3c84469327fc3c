"""The deployment files, checked by the tools that read them when this machine has them
(systemd-analyze, docker compose or docker-compose, nginx, caddy, hadolint); each check says
when it is skipped. Base images cannot be pulled here: the image itself is not built
(docs/operations.md, "What was and was not tried here")."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
INSTALLED = "/opt/congdoan/.venv/bin/congdoan"


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed on this machine")
    return found


@pytest.mark.parametrize("unit", ["congdoan.service", "congdoan-worker.service"])
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    # verify insists that ExecStart exists: point it at this checkout's `congdoan`
    here = Path(sys.executable).with_name("congdoan")
    assert here.exists(), here
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    assert INSTALLED in text
    (tmp_path / unit).write_text(text.replace(INSTALLED, str(here)), encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    for line in ("Restart=on-failure", "EnvironmentFile=", "User=congdoan", "ProtectSystem=strict"):
        assert line in text
    command = "worker" if "worker" in unit else "run"
    assert re.search(rf"^ExecStart=.* {command}$", text, re.MULTILINE)


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return [need("docker-compose")]


def test_compose_file_is_valid(tmp_path: Path) -> None:
    compose = _compose()
    project = tmp_path / "site"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "data"))
    shutil.copy(ROOT / ".env.example", project / ".env")
    result = subprocess.run(
        [*compose, "--profile", "worker", "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "condition: service_healthy" in out
    assert "pg_isready" in out and "/healthz" in out
    assert out.count("restart: unless-stopped") == 3
    assert "postgresql+asyncpg://congdoan:change-me-to-a-long-random-string@db:5432" in out


def test_nginx_example_is_valid(tmp_path: Path) -> None:
    nginx = need("nginx")
    openssl = need("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [openssl, *request, "-keyout", str(key), "-out", str(cert), "-subj", "/CN=example"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    live = "/etc/letsencrypt/live/congdoan.example.vn/"
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace(live + "fullchain.pem", str(cert)).replace(live + "privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    main = (
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n"
    )
    (tmp_path / "nginx.conf").write_text(main, encoding="utf-8")
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_caddyfile_is_valid() -> None:
    caddy = need("caddy")
    result = subprocess.run(
        [caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_the_image_holds_every_package_and_runs_as_a_plain_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "useradd --system --uid 10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert dockerfile.rstrip().endswith('CMD ["congdoan", "--config", "/app/config.toml", "run"]')


def test_dockerfile_lints_clean() -> None:
    hadolint = need("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
