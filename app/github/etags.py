"""Conditional GETs: remember each answer's ETag and ask again with `If-None-Match`.

The CEO reads the same resources every tick (the policy file, the open PRs and their files,
the repository). GitHub answers an unchanged resource with 304 and does not count it against
the rate limit, so a tick that changed nothing costs almost nothing. githubkit's own cache
(hishel) would do this too but ignores `timeout` (DESIGN.md), so the cache sits in the httpx
transport instead: below githubkit, keyed by URL, shared by every client of one GitHubAccess.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache

import httpx

# A tick revalidates about five answers per repository, each in turn: an LRU cache smaller
# than that cycle misses on every one (300 repositories already did at 1,024 entries). Sized
# for thousands of repositories, and bounded in bytes too.
MAX_ENTRIES = 32_768
MAX_CACHED_BYTES = 256_000_000
# Bigger answers (a huge file list) are not worth holding in memory between ticks.
MAX_BODY_BYTES = 1_000_000
# Headers that describe the cached body, which a 304's own headers must not replace.
_BODY_HEADERS = frozenset(
    {"content-length", "content-encoding", "content-type", "transfer-encoding"}
)


@dataclass(frozen=True)
class CachedAnswer:
    """One 200 answer: its validator, headers and raw (still encoded) body."""

    etag: str
    headers: tuple[tuple[str, str], ...]
    raw_body: bytes


@dataclass
class ETagStats:
    """How often a conditional GET saved a counted request."""

    conditional: int = 0
    not_modified: int = 0


class ETagCache:
    """The most recent 200 answers by request key, least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._max_entries = max_entries
        self._bytes = 0
        self.stats = ETagStats()

    def get(self, key: str) -> CachedAnswer | None:
        """Return the answer remembered for `key`, if any."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Remember `answer` for `key`."""
        replaced = self._entries.pop(key, None)
        self._bytes += len(answer.raw_body) - (len(replaced.raw_body) if replaced else 0)
        self._entries[key] = answer
        while self._entries and (
            len(self._entries) > self._max_entries or self._bytes > MAX_CACHED_BYTES
        ):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.raw_body)

    def __len__(self) -> int:
        return len(self._entries)


# Building a TLS context loads the CA bundle (tens of ms of CPU): a tick opens many short-lived
# clients, and paid that for each one's pool until every pool shared one context.
@cache
def shared_ssl_context() -> ssl.SSLContext:
    """Return the process-wide TLS context for GitHub connections, created on first use."""
    return httpx.create_ssl_context()


def request_key(request: httpx.Request) -> str:
    """Key a GET by what selects its representation: URL, media type and API version."""
    accept = request.headers.get("accept", "")
    version = request.headers.get("x-github-api-version", "")
    return f"{request.url} {accept} {version}"


class ConditionalTransport(httpx.AsyncBaseTransport):
    """An httpx transport that revalidates GETs it has seen before and serves 304s from cache.

    The server checks authorization before it compares validators, so a 304 means this
    caller may read the cached body.
    """

    def __init__(self, cache: ETagCache) -> None:
        self._cache = cache
        self._inner: httpx.AsyncHTTPTransport | None = None

    def _transport(self) -> httpx.AsyncHTTPTransport:
        # githubkit closes its httpx client (and so this transport) after each request unless
        # used as a context manager; a closed pool is replaced rather than reused.
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport(verify=shared_ssl_context())
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, conditionally when its answer is cached."""
        if request.method != "GET" or "if-none-match" in request.headers:
            return await self._transport().handle_async_request(request)
        key = request_key(request)
        cached = self._cache.get(key)
        if cached is not None:
            request.headers["if-none-match"] = cached.etag
            self._cache.stats.conditional += 1
        response = await self._transport().handle_async_request(request)
        if response.status_code == 304 and cached is not None:
            await response.aclose()
            self._cache.stats.not_modified += 1
            return _from_cache(cached, response)
        etag = response.headers.get("etag")
        if response.status_code != 200 or not etag:
            return response
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        if len(raw) <= MAX_BODY_BYTES:
            self._cache.put(key, CachedAnswer(etag, tuple(response.headers.multi_items()), raw))
        return httpx.Response(
            200, headers=response.headers, content=raw, extensions=response.extensions
        )

    async def aclose(self) -> None:
        """Close the connection pool; the next request opens a new one."""
        inner, self._inner = self._inner, None
        if inner is not None:
            await inner.aclose()


def _from_cache(cached: CachedAnswer, not_modified: httpx.Response) -> httpx.Response:
    """Return the cached 200 with the 304's fresh headers (rate limits, date) laid over it."""
    headers = httpx.Headers(list(cached.headers))
    for name, value in not_modified.headers.multi_items():
        if name.lower() not in _BODY_HEADERS:
            headers[name] = value
    return httpx.Response(
        200, headers=headers, content=cached.raw_body, extensions=not_modified.extensions
    )
