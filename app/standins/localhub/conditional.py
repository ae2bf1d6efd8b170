"""Validators and conditional answers: ETag and Last-Modified, and 304 to `If-None-Match`.

GitHub sends a weak ETag (a hash of the representation) on GET answers and Last-Modified on
resources that carry an update time, and answers 304 with no body when nothing changed; a 304
is not counted against the rate limit. localhub judges only the ETag: Last-Modified has
one-second resolution and tests run on frozen clocks, so `If-Modified-Since` alone would
hand a caching client a stale answer after a change within the same second (RFC 9110 lets a
server ignore it).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response

from app.clock import parse_timestamp

# Headers a 304 repeats from the answer it stands for (RFC 9110 §15.4.5).
_KEPT_ON_304 = ("etag", "last-modified", "cache-control", "vary", "link")


def etag_of(body: bytes) -> str:
    """Return the weak ETag of a response body."""
    return f'W/"{hashlib.sha256(body).hexdigest()}"'


def last_modified_of(data: Any) -> datetime | None:
    """Return the update time of a single resource (lists have none)."""
    if not isinstance(data, dict) or not isinstance(data.get("updated_at"), str):
        return None
    try:
        return parse_timestamp(data["updated_at"])
    except ValueError:
        return None


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def not_modified(headers: Headers, etag: str) -> bool:
    """Tell whether the request's `If-None-Match` still matches `etag` (weak comparison)."""
    wanted = headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {_opaque(tag) for tag in wanted.split(",")}
    return "*" in tags or _opaque(etag) in tags


def http_date(moment: datetime) -> str:
    """Format a time as an HTTP date."""
    return format_datetime(moment, usegmt=True)


def not_modified_response(answer: Response) -> Response:
    """Return the bodiless 304 that stands for `answer`."""
    kept = {name: answer.headers[name] for name in _KEPT_ON_304 if name in answer.headers}
    return Response(status_code=304, headers=kept)
