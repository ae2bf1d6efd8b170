"""Prompt caching by prefix hash: a breakpoint's prefix is written on first sight, read after.

Each request's segments (see `tokens`) are hashed as a rolling prefix chain, per model. The
longest prefix already cached that ends at a breakpoint or at most 20 blocks before one (the
API's documented lookback) is read; the tokens from there to each later breakpoint are written
(so counted as cache creation); the rest is plain input. Entries live for their TTL (5m or 1h)
from their last use. The real API also needs a model-dependent minimum prefix (1024+ tokens) to
cache; `min_tokens` models that and defaults to 0 so small scripted prompts show caching.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from app.clock import Clock
from app.standins.scripted_model.tokens import Segment

TTLS = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1)}
# The API looks for an earlier cache entry at each breakpoint and at most this many blocks
# before it; an entry further back is missed even though its prefix still matches.
LOOKBACK_BLOCKS = 20


@dataclass(frozen=True)
class CacheFigures:
    """How one request's input tokens split between plain input, cache writes and reads."""

    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class PromptCache:
    """The cached prefixes seen so far, safe to use from several threads."""

    def __init__(self, clock: Clock, min_tokens: int = 0) -> None:
        self._clock = clock
        self._min_tokens = min_tokens
        self._entries: dict[str, tuple[datetime, timedelta]] = {}  # hash -> (expiry, ttl)
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()

    def account(self, model: str, segments: Sequence[Segment]) -> CacheFigures:
        """Return the cache figures for a request and record the prefixes it writes."""
        total = sum(segment.tokens for segment in segments)
        breakpoints = [index for index, segment in enumerate(segments) if segment.ttl]
        if not breakpoints:
            return CacheFigures(total, 0, 0, 0, 0)
        hashes = _prefix_hashes(model, segments)
        upto = [0, *accumulate(segment.tokens for segment in segments)]
        with self._lock:
            now = self._clock.now()
            read_end = max(
                (i for i in _lookback(breakpoints) if self._live(hashes[i], now)), default=-1
            )
            if read_end >= 0:
                # A read refreshes the entry's lifetime, as the real cache does.
                _, ttl = self._entries[hashes[read_end]]
                self._entries[hashes[read_end]] = (now + ttl, ttl)
            written = {"5m": 0, "1h": 0}
            written_end = read_end
            for index in breakpoints:
                if index <= read_end or upto[index + 1] < self._min_tokens:
                    continue
                written[str(segments[index].ttl)] += upto[index + 1] - upto[written_end + 1]
                written_end = index
                ttl = TTLS[str(segments[index].ttl)]
                self._entries[hashes[index]] = (now + ttl, ttl)
        read = upto[read_end + 1]
        creation = written["5m"] + written["1h"]
        return CacheFigures(total - read - creation, creation, read, written["5m"], written["1h"])

    def _live(self, key: str, now: datetime) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry[0] > now


def _lookback(breakpoints: Sequence[int]) -> set[int]:
    """Positions where a request may hit the cache: each breakpoint and the 20 blocks before it."""
    return {
        index
        for point in breakpoints
        for index in range(point, max(point - LOOKBACK_BLOCKS, 0) - 1, -1)
    }


def _prefix_hashes(model: str, segments: Sequence[Segment]) -> list[str]:
    hashes: list[str] = []
    digest = hashlib.sha256(model.encode()).hexdigest()
    for segment in segments:
        digest = hashlib.sha256((digest + segment.key).encode()).hexdigest()
        hashes.append(digest)
    return hashes
