"""Prometheus metrics, one registry per App (tests run several apps in one process). The
outbox gauge is read on each scrape with one GROUP BY query; everything else is counted as
it happens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from models import outbox

if TYPE_CHECKING:
    from bot.app import App

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Handler times: a command is a few milliseconds, an export a few seconds.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Reminder lateness: the scheduler fires within a second; a missed minute or hour shows.
LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 86400.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "congdoan_updates",
            "Updates handled (messages, presses, votes)",
            ["platform"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "congdoan_handler_seconds",
            "Time from taking an update to having committed its answer",
            ["platform"],
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "congdoan_errors",
            "Updates that failed: a handler's exception, or a database still busy after retries",
            ["platform", "kind"],
            registry=r,
        )
        self.sends = Counter(
            "congdoan_sends",
            "Delivery attempts of the outbox by outcome (sent, unreachable, failed, uncertain, "
            "rate_limited, retry, moved)",
            ["platform", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "congdoan_rate_limited", "429 answers to the delivery engine", ["platform"], registry=r
        )
        self.retries = Counter(
            "congdoan_send_retries",
            "Outbox rows put back for another try (429, transient errors, a moved group)",
            ["platform"],
            registry=r,
        )
        self.outbox_rows = Gauge(
            "congdoan_outbox_rows",
            "Outbox rows by platform and state",
            ["platform", "state"],
            registry=r,
        )
        self.reminder_lateness = Histogram(
            "congdoan_reminder_lateness_seconds",
            "How long after its due time a timed action was handled",
            ["kind"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.scheduler_wakeups = Counter(
            "congdoan_scheduler_wakeups",
            "Times the scheduler woke up to handle due rows",
            registry=r,
        )
        self.delivery_stalls = Counter(
            "congdoan_delivery_stalls", "Stalls the admin chat was told about", registry=r
        )

    def sent(self, platform: str, outcome: str) -> None:
        self.sends.labels(platform, outcome).inc()
        if outcome == "rate_limited":
            self.rate_limited.labels(platform).inc()
        if outcome in ("rate_limited", "retry", "moved"):
            self.retries.labels(platform).inc()

    async def scrape(self, app: App) -> bytes:
        """The text exposition, with the outbox counts read now."""
        async with app.db.session() as session:
            counts = await outbox.count_by_state(session)
        self.outbox_rows.clear()  # a state that emptied since the last scrape shows 0
        for platform in {p for p, _ in counts} | {a.platform for a in app.bots.values()}:
            for state in outbox.STATES:
                self.outbox_rows.labels(platform, state).set(counts.get((platform, state), 0))
        return generate_latest(self.registry)
