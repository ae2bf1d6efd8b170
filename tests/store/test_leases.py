"""Leases against a manual clock: expiry, renewal, release, and two contenders."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.clock import ManualClock
from app.store import Store
from app.store.leases import acquire, holder_of, release, renew

TTL = timedelta(minutes=5)


async def test_second_contender_is_refused_until_expiry(store: Store, clock: ManualClock) -> None:
    assert await acquire(store, clock, "ceo", "tick-a", TTL)
    assert not await acquire(store, clock, "ceo", "tick-b", TTL)
    clock.advance(TTL - timedelta(seconds=1))
    assert not await acquire(store, clock, "ceo", "tick-b", TTL)
    clock.advance(timedelta(seconds=1))
    assert await acquire(store, clock, "ceo", "tick-b", TTL)
    assert await holder_of(store, clock, "ceo") == "tick-b"


async def test_renewal_extends_and_a_lost_lease_cannot_be_renewed(
    store: Store, clock: ManualClock
) -> None:
    assert await acquire(store, clock, "ceo", "a", TTL)
    clock.advance(timedelta(minutes=4))
    assert await renew(store, clock, "ceo", "a", TTL)
    clock.advance(timedelta(minutes=4))
    assert not await acquire(store, clock, "ceo", "b", TTL)
    clock.advance(timedelta(minutes=2))
    assert not await renew(store, clock, "ceo", "a", TTL)
    assert await acquire(store, clock, "ceo", "b", TTL)
    assert not await renew(store, clock, "ceo", "a", TTL)


async def test_release_frees_only_for_the_holder(store: Store, clock: ManualClock) -> None:
    assert await acquire(store, clock, "ceo", "a", TTL)
    assert not await release(store, "ceo", "b")
    assert await release(store, "ceo", "a")
    assert await holder_of(store, clock, "ceo") is None
    assert await acquire(store, clock, "ceo", "b", TTL)


async def test_holder_may_reacquire_its_own_lease(store: Store, clock: ManualClock) -> None:
    assert await acquire(store, clock, "ceo", "a", TTL)
    assert await acquire(store, clock, "ceo", "a", TTL)


async def test_concurrent_contenders_get_exactly_one_winner(
    store: Store, clock: ManualClock
) -> None:
    results = await asyncio.gather(
        *(acquire(store, clock, "ceo", f"tick-{n}", TTL) for n in range(20))
    )
    assert results.count(True) == 1
