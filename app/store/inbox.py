"""The deliveries table: webhook deliveries stored on receipt, claimed, then finished or failed.

Statuses: `pending` (new), `processing` (claimed until `claimed_until`), `done`, `ignored` (no
handler), `failed` (to retry at `next_attempt_at`) and `dead` (given up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import to_db


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as stored."""

    id: str
    event: str
    action: str | None
    installation_id: int | None
    payload: dict[str, Any]
    tries: int


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


def claim_due_tx(tx: Tx, clock: Clock, limit: int, claim_for: timedelta) -> list[Delivery]:
    """Claim up to `limit` due deliveries, oldest first, each for `claim_for`."""
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
            (to_db(now + claim_for), row["id"]),
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


async def finish_delivery(store: Store, clock: Clock, delivery_id: str, status: str) -> None:
    """Record that a delivery was handled (`done`) or had no handler (`ignored`)."""
    await store.execute(
        "UPDATE deliveries SET status = ?, processed_at = ?, claimed_until = NULL,"
        " last_error = NULL WHERE id = ?",
        (status, to_db(clock.now()), delivery_id),
    )


async def fail_delivery(
    store: Store, delivery_id: str, status: str, error: str, retry_at: datetime
) -> None:
    """Record a failed try: `failed` (retried at `retry_at`) or `dead`, with the error."""
    await store.execute(
        "UPDATE deliveries SET status = ?, last_error = ?, claimed_until = NULL,"
        " next_attempt_at = ? WHERE id = ?",
        (status, error[:4000], to_db(retry_at), delivery_id),
    )
