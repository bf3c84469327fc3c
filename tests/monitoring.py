"""Helpers for the health and metrics tests: /healthz and /metrics asked the way a monitor
asks them (HTTP against the bot's web app), and waits on what the bot reports."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from bot.web import build_web_app


async def get(app: App, path: str) -> httpx.Response:
    web = build_web_app(None, "", app=app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://bot"
    ) as client:
        return await client.get(path)


async def healthz(app: App) -> tuple[int, dict[str, Any]]:
    response = await get(app, "/healthz")
    return response.status_code, response.json()


async def until_health(app: App, status: int, timeout: float = 10.0) -> dict[str, Any]:
    """Ask /healthz every 20 ms until it answers `status`; the last body otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    code, body = await healthz(app)
    while code != status and loop.time() < deadline:
        await asyncio.sleep(0.02)
        code, body = await healthz(app)
    assert code == status, body
    return body


async def scrape(app: App) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = await get(app, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
