"""Signed cookies: a viewer's session and a sign-in's `state`, HMAC-SHA256 over a small JSON body.

A cookie holds only a login and an expiry (or a `state` and its expiry); no GitHub token ever
goes into one. The purpose is part of what is signed, so a state cookie never passes for a
session; a changed byte, another secret or a past expiry makes a cookie worthless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

SESSION_COOKIE = "townhall_session"
STATE_COOKIE = "townhall_signin"
SESSION_TTL = timedelta(hours=8)
STATE_TTL = timedelta(minutes=10)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def seal(secret: str, purpose: str, values: dict[str, str], expires: datetime) -> str:
    """Return a cookie value carrying `values` until `expires`, signed for `purpose`."""
    payload = {**values, "exp": int(expires.timestamp())}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def unseal(secret: str, purpose: str, cookie: str | None, now: datetime) -> dict[str, str] | None:
    """Return the values of a cookie signed for `purpose` and not expired at `now`, else None."""
    if not cookie or cookie.count(".") != 1:
        return None
    body, mac = cookie.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return None
    if payload["exp"] <= now.timestamp():
        return None
    return {str(key): str(value) for key, value in payload.items() if key != "exp"}
