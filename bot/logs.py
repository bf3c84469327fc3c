"""Logging that never writes a secret: tokens are masked wherever they appear (httpx logs URLs
with the bot token in them), in messages, exception texts and tracebacks alike."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from pathlib import Path
from types import TracebackType

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


def install_excepthook(redactor: RedactSecrets) -> None:
    """An uncaught exception prints its traceback with secrets masked."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redactor.redact(text))

    sys.excepthook = hook


def setup(secrets: list[str], level: int = logging.INFO, file: Path | None = None) -> RedactSecrets:
    """Log to stderr, or to `file` (the console chat: log lines would land among the messages)."""
    redactor = RedactSecrets(secrets)
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(redactor, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Migrations say what they do at INFO on every start; only problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_excepthook(redactor)
    return redactor
