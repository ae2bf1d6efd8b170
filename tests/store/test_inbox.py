"""Deliveries: stored once, claimed when due, claimable again only after a claim lapses."""

from __future__ import annotations

from datetime import timedelta

from app.clock import ManualClock
from app.store import Store
from app.store.inbox import claim_due_tx, fail_delivery, finish_delivery, store_delivery_tx

CLAIM = timedelta(minutes=1)
PAYLOAD = {"action": "opened", "installation": {"id": 7}}


def _store(store: Store, clock: ManualClock, delivery_id: str) -> bool:
    return store.run_sync(
        lambda tx: store_delivery_tx(tx, clock, delivery_id, "issues", PAYLOAD, '{"a": 1}')
    )


def test_a_redelivery_is_not_stored_twice(store: Store, clock: ManualClock) -> None:
    assert _store(store, clock, "d1")
    assert not _store(store, clock, "d1")


def test_a_claim_lapses_after_its_time(store: Store, clock: ManualClock) -> None:
    _store(store, clock, "d1")
    [claimed] = store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM))
    assert (claimed.id, claimed.action, claimed.installation_id, claimed.tries) == (
        "d1",
        "opened",
        7,
        1,
    )
    assert claimed.payload == {"a": 1}
    assert store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM)) == []
    clock.advance(CLAIM)
    [again] = store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM))
    assert again.tries == 2


async def test_finished_and_dead_deliveries_are_never_claimed(
    store: Store, clock: ManualClock
) -> None:
    _store(store, clock, "d1")
    _store(store, clock, "d2")
    _store(store, clock, "d3")
    store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM))
    await finish_delivery(store, clock, "d1", "done")
    await fail_delivery(store, "d2", "dead", "boom", clock.now())
    await fail_delivery(store, "d3", "failed", "boom", clock.now() + timedelta(seconds=5))
    assert store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM)) == []
    clock.advance(timedelta(seconds=5))
    assert [d.id for d in store.run_sync(lambda tx: claim_due_tx(tx, clock, 10, CLAIM))] == ["d3"]
