"""Identifiers in the API's format: a prefix, `01`, then 22 base62 characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Return a fresh id such as `msg_01XFDUDYJgAACzvnptvVoYEL` for prefix `msg`."""
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(22))
    return f"{prefix}_01{tail}"
