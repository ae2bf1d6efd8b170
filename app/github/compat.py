"""Make GitHub's answers parse with githubkit's models where the two disagree.

githubkit 0.16 generates its models from a newer description than the one GitHub publishes
(@octokit/openapi, checked by tests/contract): its label model, in every API version,
requires `archived_at` and `archived_by`, which GitHub's published description does not
define. An answer without them (any labelled issue or PR) would fail to parse, so they are
filled with null here, below githubkit, before any model sees the body. Nothing in Townhall
reads them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

_LABEL_KEYS = frozenset({"id", "node_id", "url", "name", "color", "default"})
_LABEL_FIELDS_GITHUBKIT_ADDS = ("archived_at", "archived_by")
# Headers that describe the body as it came over the wire, not the decoded one handed on.
_WIRE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


def fill_label_fields(data: Any) -> bool:
    """Add null `archived_at`/`archived_by` to every label in `data`; tell whether any was added."""
    changed = False
    if isinstance(data, list):
        for item in data:
            changed = fill_label_fields(item) or changed
    elif isinstance(data, dict):
        if data.keys() >= _LABEL_KEYS:
            for name in _LABEL_FIELDS_GITHUBKIT_ADDS:
                if name not in data:
                    data[name] = None
                    changed = True
        for value in data.values():
            if isinstance(value, dict | list):
                changed = fill_label_fields(value) or changed
    return changed


def compatible_body(content: bytes) -> bytes | None:
    """Return `content` with label fields filled in, or None when nothing needed filling."""
    if b'"color"' not in content:
        return None
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not fill_label_fields(data):
        return None
    return json.dumps(data).encode()


def _rebuilt(response: httpx.Response, content: bytes) -> httpx.Response:
    # The client sets the request on what the transport returns; none is set here yet.
    headers = httpx.Headers(
        [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    )
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        extensions=response.extensions,
    )


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


class LabelCompatTransport(httpx.AsyncBaseTransport):
    """Wrap an async transport so every JSON answer's labels carry githubkit's fields.

    Without `inner`, it opens its own connection pool, and a new one after githubkit closes it
    (githubkit closes its httpx client after each request outside a `with` block).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, verify: Any = True):
        self._given = inner
        self._verify = verify
        self._own: httpx.AsyncHTTPTransport | None = None

    def _inner(self) -> httpx.AsyncBaseTransport:
        if self._given is not None:
            return self._given
        if self._own is None:
            self._own = httpx.AsyncHTTPTransport(verify=self._verify)
        return self._own

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and hand back a parseable answer."""
        response = await self._inner().handle_async_request(request)
        if not _is_json(response):
            return response
        content = await response.aread()
        await response.aclose()
        return _rebuilt(response, compatible_body(content) or content)

    async def aclose(self) -> None:
        """Close the wrapped transport (an own pool is replaced on the next request)."""
        if self._given is not None:
            await self._given.aclose()
        own, self._own = self._own, None
        if own is not None:
            await own.aclose()


class SyncLabelCompatTransport(httpx.BaseTransport):
    """The same, for githubkit's synchronous calls."""

    def __init__(self, *, verify: Any = True) -> None:
        self._verify = verify
        self._own: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and hand back a parseable answer."""
        if self._own is None:
            self._own = httpx.HTTPTransport(verify=self._verify)
        response = self._own.handle_request(request)
        if not _is_json(response):
            return response
        content = response.read()
        response.close()
        return _rebuilt(response, compatible_body(content) or content)

    def close(self) -> None:
        """Close the connection pool; the next request opens a new one."""
        own, self._own = self._own, None
        if own is not None:
            own.close()
