"""`congdoan run` with Telegram in polling mode, as an IT person starts it: the web server runs
anyway, /healthz answers 200 with every part well, /metrics answers, and with
`[logging] format = "json"` every stderr line is a JSON object without the token."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.cli import ROOT, cli_env
from tests.fakes.telegram import FakeTelegram


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def polling_config(tmp_path: Path, fake: FakeTelegram, port: int) -> Path:
    """The example config on the fake server, the web server on `port`, JSON log lines."""
    config = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for old, new in (
        ('base_url = "https://api.telegram.org/bot"', f'base_url = "{fake.base_url}"'),
        (
            'base_file_url = "https://api.telegram.org/file/bot"',
            f'base_file_url = "{fake.base_file_url}"',
        ),
        ('listen = "0.0.0.0"\nport = 8080', f'listen = "127.0.0.1"\nport = {port}'),
        ('[logging]\nformat = "text"', '[logging]\nformat = "json"'),
    ):
        assert old in config, old
        config = config.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


async def start_run(tmp_path: Path, fake: FakeTelegram, port: int) -> asyncio.subprocess.Process:
    env = {**cli_env(tmp_path), "CONGDOAN_TELEGRAM_TOKEN": fake.token}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(polling_config(tmp_path, fake, port)),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_run(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    return err.decode()


async def test_polling_bot_serves_health_and_metrics(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    port = free_port()
    process = await start_run(tmp_path, fake, port)
    try:
        fake.user_sends(501, "/trogiup", first_name="Lan")
        await fake.wait_for(501, contains="Các lệnh", timeout=30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            health = await client.get("/healthz")
            while health.status_code != 200 and loop.time() < deadline:
                await asyncio.sleep(0.1)  # the first lease and poll answer take a moment
                health = await client.get("/healthz")
            assert health.status_code == 200, health.text
            assert health.json()["apps"]["apps"]["telegram"]["mode"] == "polling"
            metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'congdoan_updates_total{platform="telegram"} 1.0' in metrics.text
    finally:
        text = await stop_run(process)
        await fake.stop()
    assert fake.token not in text
    logged = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line["message"].startswith("bot running") for line in logged)
    assert {"time", "level", "logger", "message"} <= set(logged[0])


async def test_a_taken_port_does_not_stop_a_polling_bot(tmp_path: Path) -> None:
    """Before, a polling bot opened no port: one that something else holds must not keep it
    from answering (the log says that /healthz is missing)."""
    fake = FakeTelegram()
    await fake.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = await start_run(tmp_path, fake, taken.getsockname()[1])
        try:
            fake.user_sends(501, "/trogiup", first_name="Lan")
            await fake.wait_for(501, contains="Các lệnh", timeout=30)
        finally:
            text = await stop_run(process)
            await fake.stop()
    assert "no /healthz or /metrics" in text
