"""Catch-up marks: up to when each repository's missed webhooks have been read back."""

from __future__ import annotations

from datetime import datetime

from app.clock import Clock
from app.store.db import Tx
from app.store.times import from_db, to_db


def caught_up_to_tx(tx: Tx, repo_id: int) -> datetime | None:
    """Return when the repository's last successful catch-up started, or None: never."""
    row = tx.fetchone("SELECT caught_up_to FROM catch_up_marks WHERE repo_id = ?", (repo_id,))
    return None if row is None else from_db(row["caught_up_to"])


def set_caught_up_tx(tx: Tx, clock: Clock, repo_id: int, moment: datetime) -> None:
    """Record that everything said on the repository before `moment` has been read."""
    tx.execute(
        "INSERT INTO catch_up_marks (repo_id, caught_up_to, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (repo_id) DO UPDATE SET caught_up_to = excluded.caught_up_to,"
        " updated_at = excluded.updated_at",
        (repo_id, to_db(moment), to_db(clock.now())),
    )
