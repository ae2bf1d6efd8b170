"""Attempts: recorded with a lease at dispatch; lost workers are recovered by the next tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.attempts import (
    WORKER_LEASE_TTL,
    attempt_lease,
    fail_attempt_tx,
    recover_lost_attempts,
    start_attempt_tx,
)
from app.store.leases import renew
from app.store.spend import Spend, budget_stop, spend_today, start_of_day, task_over_budget
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import IllegalTransition, TaskState


async def queued_task(store: Store, clock: ManualClock, max_attempts: int = 2) -> int:
    def seed(tx: Tx) -> int:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        task = create_task_tx(
            tx,
            clock,
            repo_id=1,
            issue_number=1,
            max_attempts=max_attempts,
            priority=1,
            actor="t",
            reason="r",
        )
        transition_tx(tx, clock, task.id, TaskState.PLANNED, actor="t", reason="r")
        transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="t", reason="r")
        return task.id

    return await store.run(seed)


async def test_start_records_the_attempt_and_its_lease(store: Store, clock: ManualClock) -> None:
    task_id = await queued_task(store, clock)
    started = await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w1"))
    assert started.attempt == 1
    row = await store.fetchone("SELECT state, worker FROM attempts")
    assert row == {"state": "running", "worker": "w1"}
    lease = await store.fetchone(
        "SELECT holder FROM leases WHERE name = ?", (attempt_lease(task_id, 1),)
    )
    assert lease == {"holder": "w1"}
    with pytest.raises(IllegalTransition):  # a second dispatch of the same task is refused
        await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w2"))


async def test_lost_worker_is_recovered_then_needs_human_on_the_last_attempt(
    store: Store, clock: ManualClock
) -> None:
    # Issue 20 changed this on purpose: the lost attempt does not count, so the task still has
    # both of its attempts after it, and goes to a person only when those fail on their merits.
    task_id = await queued_task(store, clock, max_attempts=2)
    await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w1"))
    clock.advance(WORKER_LEASE_TTL / 2)
    assert await renew(store, clock, attempt_lease(task_id, 1), "w1", WORKER_LEASE_TTL)
    clock.advance(WORKER_LEASE_TTL / 2)
    assert await recover_lost_attempts(store, clock) == []  # renewed: still alive
    clock.advance(WORKER_LEASE_TTL)
    assert await recover_lost_attempts(store, clock) == [(task_id, 1)]
    task = await store.fetchone("SELECT state, attempt, max_attempts FROM tasks")
    assert task == {"state": "queued", "attempt": 1, "max_attempts": 3}
    attempt = await store.fetchone("SELECT state, outcome FROM attempts")
    assert attempt == {"state": "ended", "outcome": "lost"}

    for number, expected in ((2, TaskState.QUEUED), (3, TaskState.NEEDS_HUMAN)):
        await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w2"))
        state = await store.run(
            lambda tx, n=number: fail_attempt_tx(
                tx, clock, task_id, n, outcome="build failed", log="boom"
            )
        )
        assert state == expected
    kinds = await store.fetchall(
        "SELECT from_state, to_state FROM events WHERE task_id = ? ORDER BY id", (task_id,)
    )
    assert [(k["from_state"], k["to_state"]) for k in kinds][-3:] == [
        ("queued", "running"),
        ("running", "failed"),
        ("failed", "needs_human"),
    ]


def test_budget_rules() -> None:
    assert budget_stop(Spend(1.0, 0.5), 25, 20) is None
    assert "daily budget reached" in (budget_stop(Spend(25.0, 1.0), 25, 20) or "")
    assert "repository's daily budget" in (budget_stop(Spend(5.0, 20.0), 25, 20) or "")
    assert task_over_budget(2.99, 3) is None
    assert "task budget spent" in (task_over_budget(3.0, 3) or "")
    moment = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
    assert start_of_day(moment) == datetime(2026, 3, 4, tzinfo=UTC)


async def test_spend_today_counts_only_today(store: Store, clock: ManualClock) -> None:
    task_id = await queued_task(store, clock)
    yesterday = clock.now() - timedelta(days=1)
    for when, task, cost in (
        (yesterday, task_id, 5.0),
        (clock.now(), task_id, 1.5),
        (clock.now(), None, 0.25),
    ):
        await store.execute(
            "INSERT INTO llm_calls (task_id, phase, model, cost_usd, created_at)"
            " VALUES (?, 'x', 'm', ?, ?)",
            (task, cost, when.isoformat(timespec="microseconds")),
        )
    assert await spend_today(store, clock.now(), repo_id=1) == Spend(1.75, 1.5)


async def test_a_stale_running_row_is_closed_without_stopping_recovery(
    store: Store, clock: ManualClock
) -> None:
    task_id = await queued_task(store, clock, max_attempts=3)
    await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w1"))
    # Attempt 1's row stayed 'running' after its task moved on (a crash mid-record).
    await store.execute("UPDATE tasks SET state = 'queued'")
    await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w2"))
    clock.advance(WORKER_LEASE_TTL * 2)
    assert await recover_lost_attempts(store, clock) == [(task_id, 2)]
    rows = await store.fetchall("SELECT number, state, outcome FROM attempts ORDER BY number")
    assert rows == [
        {"number": 1, "state": "ended", "outcome": "abandoned"},
        {"number": 2, "state": "ended", "outcome": "lost"},
    ]
    assert (await store.fetchone("SELECT state FROM tasks")) == {"state": "queued"}
