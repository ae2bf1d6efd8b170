"""The inbox: every acknowledged delivery is stored first, then processed at least once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.clock import Clock
from app.store import Store, Tx
from app.store.times import to_db

# A claimed delivery whose processor died becomes claimable again after this long: longer than
# a handler can take while its GitHub client waits out rate limits (3 retries of up to 60 s),
# so a slow handler is never run twice at once.
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_TRIES = 5
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as stored."""

    id: str
    event: str
    action: str | None
    installation_id: int | None
    payload: dict[str, Any]
    tries: int


def backoff(tries: int) -> timedelta:
    """Return the wait before retry number `tries` (1-based): doubling, capped."""
    return min(BACKOFF_BASE * (1 << max(tries - 1, 0)), BACKOFF_CAP)


def store_delivery_tx(
    tx: Tx, clock: Clock, delivery_id: str, event: str, payload: dict[str, Any], body: str
) -> bool:
    """Store a delivery unless its id is already known; return whether it was new."""
    action = payload.get("action")
    installation = payload.get("installation")
    installation_id = installation.get("id") if isinstance(installation, dict) else None
    now = to_db(clock.now())
    changed = tx.execute(
        "INSERT INTO deliveries (id, event, action, installation_id, payload, next_attempt_at,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            delivery_id,
            event,
            action if isinstance(action, str) else None,
            installation_id if isinstance(installation_id, int) else None,
            body,
            now,
            now,
        ),
    )
    return changed == 1


async def store_delivery(
    store: Store, clock: Clock, delivery_id: str, event: str, payload: dict[str, Any], body: str
) -> bool:
    """Store a delivery in its own transaction; return False for a redelivery."""
    return await store.run(
        lambda tx: store_delivery_tx(tx, clock, delivery_id, event, payload, body)
    )


def claim_due_tx(tx: Tx, clock: Clock, limit: int) -> list[Delivery]:
    """Claim up to `limit` deliveries that are due, oldest first."""
    now = clock.now()
    rows = tx.fetchall(
        "SELECT id, event, action, installation_id, payload, tries FROM deliveries"
        " WHERE (status IN ('pending', 'failed') AND next_attempt_at <= ?)"
        " OR (status = 'processing' AND claimed_until <= ?)"
        " ORDER BY received_at, id LIMIT ?",
        (to_db(now), to_db(now), limit),
    )
    for row in rows:
        tx.execute(
            "UPDATE deliveries SET status = 'processing', claimed_until = ?, tries = tries + 1"
            " WHERE id = ?",
            (to_db(now + CLAIM_TIMEOUT), row["id"]),
        )
    return [
        Delivery(
            id=row["id"],
            event=row["event"],
            action=row["action"],
            installation_id=row["installation_id"],
            payload=json.loads(row["payload"]),
            tries=row["tries"] + 1,
        )
        for row in rows
    ]


async def claim_due(store: Store, clock: Clock, limit: int = 20) -> list[Delivery]:
    """Claim due deliveries in one transaction."""
    return await store.run(lambda tx: claim_due_tx(tx, clock, limit))


async def finish(store: Store, clock: Clock, delivery: Delivery, status: str) -> None:
    """Record that a delivery was handled (`done`) or had no handler (`ignored`)."""
    await store.execute(
        "UPDATE deliveries SET status = ?, processed_at = ?, claimed_until = NULL,"
        " last_error = NULL WHERE id = ?",
        (status, to_db(clock.now()), delivery.id),
    )


async def fail(store: Store, clock: Clock, delivery: Delivery, error: str) -> str:
    """Record a handler failure: retry later with backoff, or give up after MAX_TRIES."""
    status = "dead" if delivery.tries >= MAX_TRIES else "failed"
    await store.execute(
        "UPDATE deliveries SET status = ?, last_error = ?, claimed_until = NULL,"
        " next_attempt_at = ? WHERE id = ?",
        (status, error[:4000], to_db(clock.now() + backoff(delivery.tries)), delivery.id),
    )
    return status
