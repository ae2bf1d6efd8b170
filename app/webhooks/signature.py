"""X-Hub-Signature-256: HMAC-SHA256 of the raw body as it streams, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "sha256="
# The only shape GitHub sends; anything else is refused before the body is read.
_HEADER = re.compile(r"sha256=([0-9a-f]{64})", re.ASCII)


def sign(secret: str, body: bytes) -> str:
    """Return the header value GitHub would send for `body`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_signature(header: str | None) -> bytes | None:
    """Return the digest a well-formed header claims, or None for a missing or malformed one."""
    match = _HEADER.fullmatch(header.strip().lower()) if header else None
    return bytes.fromhex(match.group(1)) if match else None


class StreamingSignature:
    """The HMAC of a body fed chunk by chunk, checked against the claimed digest at the end."""

    def __init__(self, secret: str, claimed: bytes) -> None:
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._claimed = claimed

    def update(self, chunk: bytes) -> None:
        """Add the next chunk of the body."""
        self._mac.update(chunk)

    def matches(self) -> bool:
        """Compare the body's HMAC with the claimed digest, in constant time."""
        return hmac.compare_digest(self._mac.digest(), self._claimed)
