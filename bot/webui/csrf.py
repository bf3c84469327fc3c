"""CSRF tokens: every form carries one, derived from the browser's session, so a page on
another site cannot post a form in that session's name (it cannot read the token)."""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf"


def token(key: bytes, session_token: str) -> str:
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def check(key: bytes, session_token: str, given: str) -> bool:
    if not session_token or not given or not given.isascii():
        return False
    return hmac.compare_digest(token(key, session_token).encode(), given.encode())
