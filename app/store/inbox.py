"""The deliveries table: webhook deliveries stored on receipt, claimed, then finished or failed.

Statuses: `pending` (new), `processing` (claimed until `claimed_until`), `done`, `ignored` (no
handler), `failed` (to retry at `next_attempt_at`) and `dead` (given up).

Each delivery has a lane: its repository and issue (or PR) number, or just its repository or
installation. Deliveries run concurrently, but a lane is claimed by one delivery at a time, in
the order received, so two events about one issue are never handled at once or out of order.

Webhook intake stores a delivery unread (lane UNREAD): parsing a payload costs more than the
rest of taking it, and nothing in the answer needs it. The processor reads unread deliveries,
oldest first, before it claims: it fills in lane, action and installation, or stores a body
that cannot be processed `dead` with the reason. A claim never passes an unread delivery, whose
lane it does not know yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from app.clock import Clock
from app.store.db import Row, Store, Tx
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


@dataclass(frozen=True)
class Unreadable:
    """A delivery whose body cannot be processed, now stored `dead` with the reason."""

    id: str
    event: str
    reason: str


# SQLite integers are signed 64-bit; a larger id in a payload is not an installation id.
_MAX_INTEGER = (1 << 63) - 1
# How many due deliveries a claim looks through for free lanes: first a few, then, when those
# are all in busy lanes, a wider window. Each row looked at costs: `lane` is stored after the
# payload, so reading it walks the payload's overflow pages.
_FIRST_LOOK = 32
_CLAIM_WINDOW = 256
# The lane of a delivery stored unread; no real lane looks like it.
UNREAD = "?"

# Reading a body gives its payload, or the reason it cannot be processed.
Reader = Callable[[str], dict[str, Any] | str]


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


def _read_columns(payload: dict[str, Any]) -> tuple[str | None, int | None, str | None]:
    """The columns a payload fills in: action, installation id and lane."""
    action = payload.get("action")
    installation_id = _id_of(payload.get("installation"))
    if installation_id is not None and abs(installation_id) > _MAX_INTEGER:
        installation_id = None
    return action if isinstance(action, str) else None, installation_id, delivery_lane(payload)


def store_delivery_tx(
    tx: Tx, clock: Clock, delivery_id: str, event: str, payload: dict[str, Any], body: str
) -> bool:
    """Store an already parsed delivery unless its id is known; return whether it was new."""
    action, installation_id, lane = _read_columns(payload)
    now = to_db(clock.now())
    changed = tx.execute(
        "INSERT INTO deliveries (id, event, action, installation_id, payload, next_attempt_at,"
        " received_at, lane) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (delivery_id, event, action, installation_id, body, now, now, lane),
    )
    return changed == 1


class UnreadDelivery(NamedTuple):
    """A delivery as intake stores it: its body unread, and when it was received (db time)."""

    id: str
    event: str
    body: str
    received_at: str


_INSERT_UNREAD = (
    "INSERT INTO deliveries (id, event, payload, next_attempt_at, received_at, lane)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def unread_delivery(clock: Clock, delivery_id: str, event: str, body: str) -> UnreadDelivery:
    """The row for a delivery received now."""
    return UnreadDelivery(delivery_id, event, body, to_db(clock.now()))


def insert_unread(delivery: UnreadDelivery) -> tuple[str, tuple[str, ...]]:
    """The statement storing `delivery` unless its id is known (1 row changed when new)."""
    at = delivery.received_at
    return _INSERT_UNREAD, (delivery.id, delivery.event, delivery.body, at, at, UNREAD)


def store_unread_deliveries_tx(tx: Tx, deliveries: list[UnreadDelivery]) -> list[bool]:
    """Store each delivery unless its id is known; return, for each, whether it was new."""
    return [tx.execute(*insert_unread(delivery)) == 1 for delivery in deliveries]


def store_unread_delivery_tx(tx: Tx, clock: Clock, delivery_id: str, event: str, body: str) -> bool:
    """Store a delivery's body unread unless its id is known; return whether it was new."""
    [new] = store_unread_deliveries_tx(tx, [unread_delivery(clock, delivery_id, event, body)])
    return new


@dataclass(frozen=True)
class Read:
    """What read_unread_tx read: payloads by delivery id, and the bodies stored dead."""

    payloads: dict[str, dict[str, Any]]
    unreadable: list[Unreadable]


def read_unread_tx(tx: Tx, clock: Clock, limit: int, read: Reader) -> Read:
    """Read up to `limit` unread deliveries, oldest first, filling in what claims need.

    The rows come from the lane index in insertion order: this costs the rows it reads.
    """
    rows = tx.fetchall(
        "SELECT id, event, payload FROM deliveries WHERE lane = ? AND status = 'pending'"
        " ORDER BY rowid LIMIT ?",
        (UNREAD, limit),
    )
    done = Read({}, [])
    for row in rows:
        payload = read(row["payload"])
        if isinstance(payload, str):
            tx.execute(
                "UPDATE deliveries SET status = 'dead', last_error = ?, processed_at = ?,"
                " lane = NULL WHERE id = ?",
                (payload[:4000], to_db(clock.now()), row["id"]),
            )
            done.unreadable.append(Unreadable(row["id"], row["event"], payload))
            continue
        tx.execute(
            "UPDATE deliveries SET action = ?, installation_id = ?, lane = ? WHERE id = ?",
            (*_read_columns(payload), row["id"]),
        )
        done.payloads[row["id"]] = payload
    return done


def _due(tx: Tx, now: str, window: int) -> list[Row]:
    """The oldest due deliveries, at most `window` of them, in the order received.

    Pending rows come from the status index already in order (a pending row's next_attempt_at
    is its received_at), so a backlog of thousands is not sorted on every claim; retries and
    lapsed claims are few.
    """
    due = tx.fetchall(
        "SELECT id, lane, received_at FROM deliveries WHERE status = 'pending'"
        " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        (now, window),
    )
    again = tx.fetchall(
        "SELECT id, lane, received_at FROM deliveries"
        " WHERE (status = 'failed' AND next_attempt_at <= ?)"
        " OR (status = 'processing' AND claimed_until <= ?) LIMIT ?",
        (now, now, window),
    )
    if again:
        due = sorted(due + again, key=lambda row: (row["received_at"], row["id"]))
    return due[:window]


def _choose(due: list[Row], busy: set[str], limit: int) -> tuple[list[str], bool]:
    """Pick up to `limit` ids, one per free lane; tell whether every row was looked at."""
    busy = set(busy)
    chosen: list[str] = []
    for row in due:
        if len(chosen) >= limit or row["lane"] == UNREAD:
            return chosen, False  # an unread delivery may be in any lane: nothing passes it
        if row["lane"] is not None:
            if row["lane"] in busy:
                continue
            busy.add(row["lane"])
        chosen.append(row["id"])
    return chosen, True


def claim_due_tx(
    tx: Tx, clock: Clock, limit: int, claim_for: timedelta, read: Read | None = None
) -> list[Delivery]:
    """Claim up to `limit` due deliveries, oldest first, each for `claim_for`.

    At most one per lane, and none in a lane whose earlier delivery is still being processed
    (here or by another process): that lane's next delivery waits until it is finished. None
    at or after the oldest unread delivery (read_unread_tx reads them first; what it `read`
    in this transaction is not parsed again).
    """
    parsed = read.payloads if read is not None else {}
    now = to_db(clock.now())
    busy = {
        row["lane"]
        for row in tx.fetchall(
            "SELECT DISTINCT lane FROM deliveries WHERE status = 'processing'"
            " AND claimed_until > ? AND lane IS NOT NULL",
            (now,),
        )
    }
    # A first look at the oldest few usually finds work; the wider window (about ten times the
    # cost) only when they are all in busy lanes. Free slots left over wait for the next claim,
    # which comes as soon as a delivery finishes; a lane behind a long run of another lane's
    # deliveries waits at most until fewer than _FIRST_LOOK of them are ahead of it.
    due = _due(tx, now, _FIRST_LOOK)
    chosen, looked_at_all = _choose(due, busy, limit)
    if not chosen and looked_at_all and len(due) == _FIRST_LOOK:
        chosen, _ = _choose(_due(tx, now, _CLAIM_WINDOW), busy, limit)
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
        if stored is None:  # never: claimed in this very transaction
            continue
        payload = parsed[delivery_id] if delivery_id in parsed else json.loads(stored["payload"])
        claimed.append(
            Delivery(
                id=stored["id"],
                event=stored["event"],
                action=stored["action"],
                installation_id=stored["installation_id"],
                payload=payload,
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
