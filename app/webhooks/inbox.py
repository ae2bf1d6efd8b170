"""The inbox: every acknowledged delivery is stored first, then processed at least once.

The rows live in app/store/inbox.py; this module holds what is accepted into it (a JSON object;
a signed body that cannot be processed is stored `dead` with the reason, since GitHub never
redelivers) and the retry policy: how long a claim lasts, how often a failing delivery is
retried, and how long to wait between tries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.clock import Clock
from app.store import Store
from app.store.inbox import (
    Delivery,
    claim_due_tx,
    fail_delivery,
    finish_delivery,
    store_dead_delivery_tx,
    store_delivery_tx,
)

# A claimed delivery whose processor died becomes claimable again after this long: longer than
# a handler can take while its GitHub client waits out rate limits (3 retries of up to 60 s),
# so a slow handler is never run twice at once.
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_TRIES = 5
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=10)


def backoff(tries: int) -> timedelta:
    """Return the wait before retry number `tries` (1-based): doubling, capped."""
    return min(BACKOFF_BASE * (1 << max(tries - 1, 0)), BACKOFF_CAP)


# A \uD800-\uDFFF escape; only then can the parsed payload hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class NotAnObject(Exception):
    """The body is not a JSON object; refused (400) and not stored."""


@dataclass(frozen=True)
class Unprocessable:
    """A signed body that is valid text but cannot be processed, and why."""

    reason: str


def parse_body(body: bytes) -> tuple[str, dict[str, Any] | Unprocessable]:
    """Decode and parse a delivery's body; raise NotAnObject when it is not a JSON object."""
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotAnObject(f"body is not JSON: {error}") from None
    except RecursionError:
        return text, Unprocessable("JSON nested too deeply to parse")
    except ValueError as error:  # e.g. an integer longer than Python converts
        return text, Unprocessable(f"JSON value cannot be read: {error}")
    if not isinstance(payload, dict):
        raise NotAnObject("body is not a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        # A lone surrogate is valid JSON but no valid text: nothing can store or send it.
        try:
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return text, Unprocessable("a string holds a lone UTF-16 surrogate (invalid Unicode)")
        except RecursionError:
            return text, Unprocessable("JSON nested too deeply to process")
    return text, payload


async def store_delivery(
    store: Store, clock: Clock, delivery_id: str, event: str, payload: dict[str, Any], body: str
) -> bool:
    """Store a delivery in its own transaction; return False for a redelivery."""
    store.check_file()
    return await store.run(
        lambda tx: store_delivery_tx(tx, clock, delivery_id, event, payload, body)
    )


async def store_dead_delivery(
    store: Store, clock: Clock, delivery_id: str, event: str, body: str, reason: str
) -> bool:
    """Record a signed delivery that cannot be processed as `dead`; False for a redelivery."""
    store.check_file()
    return await store.run(
        lambda tx: store_dead_delivery_tx(tx, clock, delivery_id, event, body, reason)
    )


async def claim_due(store: Store, clock: Clock, limit: int = 20) -> list[Delivery]:
    """Claim due deliveries in one transaction."""
    return await store.run(lambda tx: claim_due_tx(tx, clock, limit, CLAIM_TIMEOUT))


async def finish(store: Store, clock: Clock, delivery: Delivery, status: str) -> None:
    """Record that a delivery was handled (`done`) or had no handler (`ignored`)."""
    await finish_delivery(store, clock, delivery.id, status)


async def fail(store: Store, clock: Clock, delivery: Delivery, error: str) -> str:
    """Record a handler failure: retry later with backoff, or give up after MAX_TRIES."""
    status = "dead" if delivery.tries >= MAX_TRIES else "failed"
    retry_at = clock.now() + backoff(delivery.tries)
    await fail_delivery(store, delivery.id, status, error, retry_at)
    return status
