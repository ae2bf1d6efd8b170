"""The deliveries table: webhook deliveries stored on receipt, claimed, then finished or failed.

Statuses: `pending` (new), `processing` (claimed until `claimed_until`), `done`, `ignored` (no
handler), `failed` (to retry at `next_attempt_at`) and `dead` (given up).

Each delivery has a lane: its repository and issue (or PR) number, or just its repository or
installation. Deliveries run concurrently, but a lane is claimed by one delivery at a time, in
the order received, so two events about one issue are never handled at once or out of order.
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


# SQLite integers are signed 64-bit; a larger id in a payload is not an installation id.
_MAX_INTEGER = (1 << 63) - 1
# How many due deliveries a claim looks through for free lanes (ids and lanes only).
_CLAIM_WINDOW = 1000


def _id_of(value: Any) -> int | None:
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def delivery_lane(payload: dict[str, Any]) -> str | None:
    """Name the lane a delivery runs in: its repository and issue or PR, or what it is about."""
    repository = _id_of(payload.get("repository"))
    if repository is None:
        installation = _id_of(payload.get("installation"))
        return None if installation is None else f"installation:{installation}"
    for key in ("issue", "pull_request"):
        item = payload.get(key)
        number = item.get("number") if isinstance(item, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            return f"repo:{repository}#{number}"
    return f"repo:{repository}"


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
        " received_at, lane) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            delivery_id,
            event,
            action if isinstance(action, str) else None,
            installation_id
            if isinstance(installation_id, int) and abs(installation_id) <= _MAX_INTEGER
            else None,
            body,
            now,
            now,
            delivery_lane(payload),
        ),
    )
    return changed == 1


def store_dead_delivery_tx(
    tx: Tx, clock: Clock, delivery_id: str, event: str, body: str, reason: str
) -> bool:
    """Store a signed delivery that cannot be processed as `dead`, with the reason; new?"""
    now = to_db(clock.now())
    changed = tx.execute(
        "INSERT INTO deliveries (id, event, payload, status, last_error, next_attempt_at,"
        " received_at, processed_at) VALUES (?, ?, ?, 'dead', ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (delivery_id, event, body, reason[:4000], now, now, now),
    )
    return changed == 1


def claim_due_tx(tx: Tx, clock: Clock, limit: int, claim_for: timedelta) -> list[Delivery]:
    """Claim up to `limit` due deliveries, oldest first, each for `claim_for`.

    At most one per lane, and none in a lane whose earlier delivery is still being processed
    (here or by another process): that lane's next delivery waits until it is finished.
    """
    now = to_db(clock.now())
    busy = {
        row["lane"]
        for row in tx.fetchall(
            "SELECT DISTINCT lane FROM deliveries WHERE status = 'processing'"
            " AND claimed_until > ? AND lane IS NOT NULL",
            (now,),
        )
    }
    due = tx.fetchall(
        "SELECT id, lane FROM deliveries"
        " WHERE (status IN ('pending', 'failed') AND next_attempt_at <= ?)"
        " OR (status = 'processing' AND claimed_until <= ?)"
        " ORDER BY received_at, id LIMIT ?",
        (now, now, _CLAIM_WINDOW),
    )
    chosen: list[str] = []
    for row in due:
        if len(chosen) >= limit:
            break
        if row["lane"] is not None:
            if row["lane"] in busy:
                continue
            busy.add(row["lane"])
        chosen.append(row["id"])
    claimed: list[Delivery] = []
    for delivery_id in chosen:
        tx.execute(
            "UPDATE deliveries SET status = 'processing', claimed_until = ?, tries = tries + 1"
            " WHERE id = ?",
            (to_db(clock.now() + claim_for), delivery_id),
        )
        stored = tx.fetchone(
            "SELECT id, event, action, installation_id, payload, tries FROM deliveries"
            " WHERE id = ?",
            (delivery_id,),
        )
        if stored is not None:  # always: claimed in this very transaction
            claimed.append(
                Delivery(
                    id=stored["id"],
                    event=stored["event"],
                    action=stored["action"],
                    installation_id=stored["installation_id"],
                    payload=json.loads(stored["payload"]),
                    tries=stored["tries"],
                )
            )
    return claimed


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
