"""Leases: a named lock with an expiry, so a crashed holder never blocks others for long.

Leases are short (about a minute) and renewed while their work runs (`keeping`). A holder
named by `process_holder` also says which process holds it: when that process is gone from
this host (killed, crashed), `expire_abandoned` ends its leases at once instead of waiting for
them to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
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

# `label@host:pid/pid-namespace`: a pid means something only on its host and in its namespace.
_PROCESS_HOLDER = re.compile(r"@(?P<host>[^@]+):(?P<pid>\d+)/(?P<namespace>\d*)$")


def _pid_namespace() -> str:
    """This process's pid namespace (containers on one host share a host name, not pids)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def process_holder(label: str) -> str:
    """Name a holder after `label` and this process, so its death can be told from the store."""
    return f"{label}@{socket.gethostname()}:{os.getpid()}/{_pid_namespace()}"


def _process_runs(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def holder_is_gone(holder: str) -> bool:
    """Whether `holder` is a process of this host and pid namespace that no longer runs.

    Anything else (another host, a holder without a process, a pid that runs again, perhaps
    reused) is not provably gone: its lease is left to expire.
    """
    found = _PROCESS_HOLDER.search(holder)
    if found is None or found["host"] != socket.gethostname():
        return False
    if found["namespace"] != _pid_namespace():
        return False
    pid = int(found["pid"])
    return pid != os.getpid() and not _process_runs(pid)


@dataclass(frozen=True)
class HeldLease:
    """A lease that has not expired, and who holds it."""

    name: str
    holder: str


async def expire_abandoned(store: Store, clock: Clock) -> list[HeldLease]:
    """End now the leases whose holder is provably gone; return them.

    An ended lease is one whose work was lost: whoever recovers expired leases (the tick)
    picks the work up at once instead of after the lease's time runs out.
    """
    now = to_db(clock.now())
    rows = await store.fetchall(
        "SELECT name, holder FROM leases WHERE expires_at > ? ORDER BY name", (now,)
    )
    gone = [HeldLease(row["name"], row["holder"]) for row in rows if holder_is_gone(row["holder"])]
    ended: list[HeldLease] = []
    for lease in gone:
        changed = await store.execute(
            "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?",
            (now, lease.name, lease.holder, now),
        )
        if changed == 1:
            log.warning("lease %s: its holder %s is gone; ended", lease.name, lease.holder)
            ended.append(lease)
    return ended


async def purge_expired(store: Store, clock: Clock) -> int:
    """Delete expired leases (an expired lease and no lease mean the same); return how many.

    Run after the recoveries that look for expired leases, so nothing is left behind.
    """
    return await store.execute("DELETE FROM leases WHERE expires_at <= ?", (to_db(clock.now()),))


async def hand_over(
    store: Store, clock: Clock, name: str, holder: str, to: str, ttl: timedelta
) -> bool:
    """Pass `holder`'s unexpired lease to `to` for `ttl`; return False when it was not held."""
    now = clock.now()
    changed = await store.execute(
        "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?"
        " AND expires_at > ?",
        (to, to_db(now + ttl), name, holder, to_db(now)),
    )
    return changed == 1


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


@contextlib.asynccontextmanager
async def holding(
    store: Store, clock: Clock, name: str, holder: str, ttl: timedelta
) -> AsyncIterator[bool]:
    """Take lease `name` for the block, renewed while it runs; yield whether it was taken.

    When someone else holds it the block runs with False (and must leave the work alone). The
    lease is given up at the end, also when the block raises; a holder that dies leaves it to
    expire (or to `expire_abandoned`).
    """
    if not await acquire(store, clock, name, holder, ttl):
        yield False
        return
    try:
        async with keeping(store, clock, name, holder, ttl):
            yield True
    finally:
        await release(store, name, holder)
