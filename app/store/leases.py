"""Leases: a named lock with an expiry, so a crashed holder never blocks others for long."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import to_db


def acquire_tx(tx: Tx, clock: Clock, name: str, holder: str, ttl: timedelta) -> bool:
    """Take lease `name` for `holder` if it is free, expired, or already theirs."""
    now = clock.now()
    changed = tx.execute(
        "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
        " acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
        " ELSE excluded.acquired_at END, expires_at = excluded.expires_at"
        " WHERE leases.expires_at <= ? OR leases.holder = excluded.holder",
        (name, holder, to_db(now), to_db(now + ttl), to_db(now)),
    )
    return changed == 1


async def acquire(store: Store, clock: Clock, name: str, holder: str, ttl: timedelta) -> bool:
    """Take lease `name` for `holder`; return False when someone else holds it unexpired."""
    return await store.run(lambda tx: acquire_tx(tx, clock, name, holder, ttl))


async def renew(store: Store, clock: Clock, name: str, holder: str, ttl: timedelta) -> bool:
    """Extend `holder`'s unexpired lease; return False when it was lost (expired or taken)."""
    now = clock.now()
    changed = await store.execute(
        "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?",
        (to_db(now + ttl), name, holder, to_db(now)),
    )
    return changed == 1


async def release(store: Store, name: str, holder: str) -> bool:
    """Give the lease up if `holder` still has it; return whether it did."""
    changed = await store.execute(
        "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
    )
    return changed == 1


async def holder_of(store: Store, clock: Clock, name: str) -> str | None:
    """Return who holds lease `name` now, or None when it is free or expired."""
    row = await store.fetchone(
        "SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
        (name, to_db(clock.now())),
    )
    return None if row is None else str(row["holder"])


log = logging.getLogger("townhall.leases")


@contextlib.asynccontextmanager
async def keeping(
    store: Store, clock: Clock, name: str, holder: str, ttl: timedelta
) -> AsyncIterator[None]:
    """Renew `holder`'s lease every third of `ttl` while the block runs.

    A holder that dies stops renewing, so whoever recovers expired leases (the CEO tick) knows
    the work was lost; a live holder is left alone.
    """

    async def keep_renewing() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            try:
                kept = await renew(store, clock, name, holder, ttl)
            except Exception:
                # A store blip must not end (or mask the outcome of) the work: try again later.
                log.exception("could not renew lease %s; trying again", name)
                continue
            if not kept:
                log.warning("lease %s was lost; whoever recovers it will end the work", name)
                return

    renewer = asyncio.create_task(keep_renewing())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
