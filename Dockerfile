# congdoan-bot in a container: `docker compose up -d` (compose.yaml) or `docker build -t congdoan .`
# The config is mounted at /app/config.toml; the database (SQLite), backups and exports live
# on the volume /app/data (relative paths in config.toml are next to it, so the defaults
# data/congdoan.db, data/backups, data/exports land there). See docs/operations.md.
#
# bookworm: its postgresql-client is 15, the PostgreSQL of compose.yaml (pg_dump must be at
# least the server's version).
FROM python:3.11-slim-bookworm

# MPLCONFIGDIR: the charts' matplotlib cache, somewhere writable (/app is not)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

# pg_dump / pg_restore for `congdoan backup` and `congdoan restore` on PostgreSQL; not pinned
# to a version: each rebuild takes Debian's security updates of the 15 client.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY scheduler ./scheduler
RUN pip install . && rm -rf build ./*.egg-info

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin congdoan \
    && mkdir -p /app/data \
    && chown congdoan:congdoan /app/data
# numeric: the host and orchestrators can tell it is not root without the image's passwd
USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 8080

# /healthz answers 503 when something is wrong (docs/monitoring.md); urlopen fails on it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

CMD ["congdoan", "--config", "/app/config.toml", "run"]
