"""Telegram Mini App `initData`, checked as Telegram documents it ("Validating data received
via the Mini App", https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
every field but `hash`, sorted by key, written `key=value` one per line, signed with
HMAC-SHA-256 under a key that is itself HMAC-SHA-256 of the bot token keyed by "WebAppData";
`auth_date` (Unix time) limits how old the data may be."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

# initData is a few hundred bytes; far more is not Telegram's.
MAX_LENGTH = 8192


@dataclass(frozen=True)
class MiniAppUser:
    user_id: str
    name: str
    language: str


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram puts beside `fields` (what a test client or fake needs)."""
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hmac.new(_secret_key(bot_token), check.encode(), hashlib.sha256).hexdigest()


def validate(
    init_data: str, bot_token: str, *, now: datetime, max_age_seconds: int
) -> MiniAppUser | None:
    """The Telegram user the data was signed for, or None when it is not Telegram's, was
    changed, is older than `max_age_seconds` (or dated in the future), or names no user."""
    if not bot_token or not init_data or len(init_data) > MAX_LENGTH:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a key given twice: not what Telegram sends
        return None
    given = fields.pop("hash", "")
    if not given.isascii() or not hmac.compare_digest(sign(fields, bot_token), given):
        return None
    auth_date = fields.get("auth_date", "")
    if not (auth_date.isascii() and auth_date.isdigit() and len(auth_date) <= 12):
        return None
    age = now.timestamp() - int(auth_date)
    if age > max_age_seconds or age < -60:  # a minute of clock skew
        return None
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        return None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        return None
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    language = user.get("language_code")
    return MiniAppUser(str(user["id"]), name, language if isinstance(language, str) else "")
