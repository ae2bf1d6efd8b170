"""The inbox: every acknowledged delivery is stored first, then processed at least once.

The rows live in app/store/inbox.py; this module holds what is accepted into it and how bodies
are read, and the retry policy: how long a claim lasts, how often a failing delivery is retried,
and how long to wait between tries. Intake checks only what is cheap (UTF-8 text shaped like a
JSON object) and stores the body unread, in a group commit; reading (parsing) happens when the
processor claims. A signed body that cannot be processed is stored `dead` with the reason when
it is read, since GitHub never redelivers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.clock import Clock
from app.store import Store, Tx
from app.store.group_commit import BatchCommit, GroupCommitter
from app.store.inbox import (
    Delivery,
    Unreadable,
    UnreadDelivery,
    claim_due_tx,
    fail_delivery,
    finish_delivery,
    insert_unread,
    read_unread_tx,
    unread_delivery,
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
_WHITESPACE = b" \t\r\n"


class NotAnObject(Exception):
    """The body is not a JSON object; refused (400) and not stored."""


def check_body(body: bytes) -> str:
    """Return the body as text when it can be a JSON object; raise NotAnObject otherwise.

    Only what is cheap: UTF-8, and an object's braces. Parsing waits for read_payload.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotAnObject(f"body is not JSON: {error}") from None
    bare = body.strip(_WHITESPACE)
    if not (bare.startswith(b"{") and bare.endswith(b"}")):
        raise NotAnObject("body is not a JSON object")
    return text


def read_payload(text: str) -> dict[str, Any] | str:
    """Parse a stored body; return the payload, or why it cannot be processed."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        return f"body is not JSON: {error}"
    except RecursionError:
        return "JSON nested too deeply to parse"
    except ValueError as error:  # e.g. an integer longer than Python converts
        return f"JSON value cannot be read: {error}"
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    if _SURROGATE_ESCAPE.search(text):
        # A lone surrogate is valid JSON but no valid text: nothing can store or send it.
        try:
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return "a string holds a lone UTF-16 surrogate (invalid Unicode)"
        except RecursionError:
            return "JSON nested too deeply to process"
    return payload


def commit_deliveries(store: Store) -> BatchCommit[UnreadDelivery, bool]:
    """Store a batch of deliveries in one transaction; return, for each, whether it was new.

    The INSERTs are statements known up front (`Store.execute_all`), so on a remote store a
    batch is one round trip rather than one per delivery and two more for BEGIN and COMMIT.
    """

    async def commit(deliveries: list[UnreadDelivery]) -> list[bool]:
        store.check_file()  # a write into a replaced file would vanish on restart
        changed = await store.execute_all([insert_unread(d) for d in deliveries])
        return [count == 1 for count in changed]

    return commit


async def store_delivery(
    committer: GroupCommitter[UnreadDelivery, bool],
    clock: Clock,
    delivery_id: str,
    event: str,
    body: str,
) -> bool:
    """Store a delivery unread in the next group commit; return False for a redelivery."""
    return await committer.write(unread_delivery(clock, delivery_id, event, body))


@dataclass(frozen=True)
class Claim:
    """What one claim took, and the deliveries it found unreadable (now dead)."""

    deliveries: list[Delivery]
    unreadable: list[Unreadable]


async def claim_due(store: Store, clock: Clock, limit: int = 20) -> Claim:
    """Read as many of the oldest unread deliveries, then claim due ones, in one transaction.

    Reading parses payloads on the writer thread, so a claim holds it for a few milliseconds.
    """

    def claim(tx: Tx) -> Claim:
        read = read_unread_tx(tx, clock, limit, read_payload)
        return Claim(claim_due_tx(tx, clock, limit, CLAIM_TIMEOUT, read), read.unreadable)

    return await store.run(claim)


async def finish(store: Store, clock: Clock, delivery: Delivery, status: str) -> None:
    """Record that a delivery was handled (`done`) or had no handler (`ignored`)."""
    await finish_delivery(store, clock, delivery.id, status)


async def fail(store: Store, clock: Clock, delivery: Delivery, error: str) -> str:
    """Record a handler failure: retry later with backoff, or give up after MAX_TRIES."""
    status = "dead" if delivery.tries >= MAX_TRIES else "failed"
    retry_at = clock.now() + backoff(delivery.tries)
    await fail_delivery(store, delivery.id, status, error, retry_at)
    return status
