"""Logging that never writes a secret: tokens are masked wherever they appear (httpx logs URLs
with the bot token in them), in messages, exception texts and tracebacks alike. Lines are
plain text or JSON objects (`[logging] format`), to stderr or to a rotating file."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import re
import sys
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

# Telegram bot tokens look like 123456789:AA...; mask anything of that shape too.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return TOKEN_SHAPE.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the whole formatted record: the message, and also an exception's text
    and traceback (a rejected token appears in PTB's InvalidToken message)."""

    def __init__(self, redactor: RedactSecrets, fmt: str) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


# What the line is about, where known: set by the router for the update being handled (ids
# and names of code, never what people typed).
EVENT_ID: ContextVar[str | None] = ContextVar("log_event_id", default=None)
PLATFORM: ContextVar[str | None] = ContextVar("log_platform", default=None)
HANDLER: ContextVar[str | None] = ContextVar("log_handler", default=None)


@contextlib.contextmanager
def about(var: ContextVar[str | None], value: str | None) -> Iterator[None]:
    """Log lines written inside carry `value` in `var`."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the update's event id, platform
    and handler when known, and the exception's text; every field masked like text lines."""

    def __init__(self, redactor: RedactSecrets) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redactor.redact(record.getMessage()),
        }
        for key, var in (("event_id", EVENT_ID), ("platform", PLATFORM), ("handler", HANDLER)):
            value = var.get()
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.redactor.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self.redactor.redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


def install_excepthook(redactor: RedactSecrets) -> None:
    """An uncaught exception prints its traceback with secrets masked."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redactor.redact(text))

    sys.excepthook = hook


def setup(
    secrets: list[str],
    level: int = logging.INFO,
    file: Path | None = None,
    *,
    json_lines: bool = False,
    max_bytes: int = 0,
    backup_count: int = 0,
) -> RedactSecrets:
    """Log to stderr, or to `file` (the console chat: log lines would land among the messages;
    `[logging] file`), rotated at `max_bytes` keeping `backup_count` old files when set."""
    redactor = RedactSecrets(secrets)
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            file, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler()
    formatter: logging.Formatter = (
        JsonFormatter(redactor)
        if json_lines
        else RedactingFormatter(redactor, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(formatter)
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Migrations say what they do at INFO on every start; only problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_excepthook(redactor)
    return redactor
