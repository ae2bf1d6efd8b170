"""A record of REST and GraphQL exchanges, kept on request, for contract tests to check.

Each exchange keeps what a description can judge: method, path, query, the request's JSON
body and the headers that select a representation, the status, and the JSON answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

MAX_EXCHANGES = 20_000
_REQUEST_HEADERS = ("accept", "content-type", "x-github-api-version", "if-none-match")
_RESPONSE_HEADERS = ("content-type", "etag", "last-modified", "location", "link")
_SELECTED = "x-github-api-version-selected"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer."""

    method: str
    path: str
    query: str
    route: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    response_body: Any
    version: str | None

    def describe(self) -> dict[str, Any]:
        """Return the exchange as JSON."""
        return asdict(self)


def _json_or_none(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class ExchangeRecorder:
    """Keeps exchanges while recording is on (off by default: bodies cost memory)."""

    def __init__(self) -> None:
        self.enabled = False
        self.exchanges: list[Exchange] = []

    async def record(self, route: str, request: Request, response: Response) -> None:
        """Keep one exchange, when recording and there is room."""
        if not self.enabled or len(self.exchanges) >= MAX_EXCHANGES:
            return
        body = getattr(response, "body", b"")
        answer = _json_or_none(body) if "json" in response.headers.get("content-type", "") else None
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                route=route,
                request_headers={
                    k: request.headers[k] for k in _REQUEST_HEADERS if k in request.headers
                },
                request_body=_json_or_none(await request.body()),
                status=response.status_code,
                response_headers={
                    k: response.headers[k] for k in _RESPONSE_HEADERS if k in response.headers
                },
                response_body=answer,
                version=response.headers.get(_SELECTED),
            )
        )

    def clear(self) -> None:
        """Forget what was recorded."""
        self.exchanges.clear()
