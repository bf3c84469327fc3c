"""Signed, expiring download links for files sent to apps that cannot take uploads (Zalo).

A link is `{public_url}/f/{file_id}/{name}?exp=<unix>&sig=<hmac>`: the id alone is already
unguessable, the signature stops anyone from extending the expiry, and the web server
refuses expired or tampered links.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote

from bot.config import Settings


def signing_key(settings: Settings) -> bytes:
    explicit = settings.web.link_secret.get_secret_value()
    if explicit:
        return explicit.encode()
    # No explicit secret: derive one from the bot tokens (secret, and stable across restarts).
    seed = settings.zalo.token.get_secret_value() + settings.telegram.token.get_secret_value()
    return hashlib.sha256(("congdoan-links:" + seed).encode()).digest()


def _signature(key: bytes, file_id: str, expires: int) -> str:
    return hmac.new(key, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def file_url(settings: Settings, file_id: str, name: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    sig = _signature(signing_key(settings), file_id, expires)
    base = settings.web.public_url.rstrip("/")
    return f"{base}/f/{file_id}/{quote(name)}?exp={expires}&sig={sig}"


def check(settings: Settings, file_id: str, expires: str, sig: str, now: datetime) -> bool:
    """Whether a link is ours and still valid; any odd input (non-ASCII digits like "²",
    a huge number, a non-ASCII signature) is simply not valid."""
    if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
        return False
    if int(expires) <= now.timestamp() or not sig.isascii():
        return False
    expected = _signature(signing_key(settings), file_id, int(expires))
    return hmac.compare_digest(expected.encode(), sig.encode())


# --- the payload of a link that adds the bot to a group (Telegram ?startgroup=) ------------------
# "lk_<unit id>_<expiry>_<signature>": Telegram allows 64 characters of A-Z a-z 0-9 _ - there.
GROUP_TOKEN = "lk_"


def group_token(settings: Settings, unit_id: int, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    sig = _signature(signing_key(settings), f"group:{unit_id}", expires)
    return f"{GROUP_TOKEN}{unit_id}_{expires}_{sig}"


def read_group_token(settings: Settings, token: str, now: datetime) -> int | None:
    """The unit a group link was made for; None when it is not ours, altered or expired."""
    parts = token.removeprefix(GROUP_TOKEN).split("_")
    if not token.startswith(GROUP_TOKEN) or len(parts) != 3:
        return None
    unit, expires, sig = parts
    if not (unit.isascii() and unit.isdigit() and len(unit) <= 12):
        return None
    return int(unit) if check(settings, f"group:{unit}", expires, sig, now) else None
