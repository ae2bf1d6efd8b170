"""Every legal transition works and records an event; illegal ones raise and change nothing."""

from __future__ import annotations

import pytest

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.tasks import Task, create_task_tx, transition
from app.taskstate import TRANSITIONS, IllegalTransition, TaskState

S = TaskState


async def new_task(store: Store, clock: ManualClock, issue: int = 1) -> Task:
    def create(tx: Tx) -> Task:
        tx.execute(
            "INSERT OR IGNORE INTO installations (id, account_login, created_at)"
            " VALUES (1, 'o', '')"
        )
        tx.execute(
            "INSERT OR IGNORE INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        return create_task_tx(
            tx,
            clock,
            repo_id=1,
            issue_number=issue,
            max_attempts=2,
            priority=1,
            actor="t",
            reason="r",
        )

    return await store.run(create)


async def force_state(store: Store, task_id: int, state: TaskState, attempt: int) -> None:
    await store.execute(
        "UPDATE tasks SET state = ?, attempt = ? WHERE id = ?", (state, attempt, task_id)
    )


def legal_moves() -> list[tuple[TaskState, TaskState, int]]:
    """Each legal (from, to) pair with an attempt number that satisfies its guard."""
    moves = []
    for source, targets in TRANSITIONS.items():
        for target in sorted(targets):  # a set's order differs between xdist workers
            gives_up = target == S.NEEDS_HUMAN and source in {S.FAILED, S.CHANGES_REQUESTED}
            moves.append((source, target, 2 if gives_up else 1))
    return moves


@pytest.mark.parametrize(("source", "target", "attempt"), legal_moves())
async def test_every_legal_transition_updates_state_and_appends_an_event(
    store: Store, clock: ManualClock, source: TaskState, target: TaskState, attempt: int
) -> None:
    task = await new_task(store, clock)
    await force_state(store, task.id, source, attempt)
    moved = await transition(store, clock, task.id, target, actor="ceo", reason="because")
    assert moved.state == target
    event = await store.fetchone(
        "SELECT * FROM events WHERE task_id = ? ORDER BY id DESC LIMIT 1", (task.id,)
    )
    assert event is not None
    assert (event["from_state"], event["to_state"], event["actor"], event["reason"]) == (
        source,
        target,
        "ceo",
        "because",
    )


ILLEGAL = [
    (S.APPROVED, S.RUNNING, 0),
    (S.QUEUED, S.MERGED, 1),
    (S.MERGED, S.QUEUED, 1),
    (S.CANCELLED, S.RUNNING, 1),
    (S.FAILED, S.QUEUED, 2),  # no attempt left
    (S.FAILED, S.NEEDS_HUMAN, 1),  # attempts left: retry, don't give up
    (S.PR_OPEN, S.QUEUED, 1),
]


@pytest.mark.parametrize(("source", "target", "attempt"), ILLEGAL)
async def test_illegal_transition_raises_and_changes_nothing(
    store: Store, clock: ManualClock, source: TaskState, target: TaskState, attempt: int
) -> None:
    task = await new_task(store, clock)
    await force_state(store, task.id, source, attempt)
    before = await store.fetchall("SELECT * FROM events")
    with pytest.raises(IllegalTransition):
        await transition(store, clock, task.id, target, actor="ceo", reason="no", pr_number=9)
    row = await store.fetchone("SELECT state, pr_number FROM tasks WHERE id = ?", (task.id,))
    assert row == {"state": source, "pr_number": None}
    assert await store.fetchall("SELECT * FROM events") == before


async def test_stale_expectation_is_refused(store: Store, clock: ManualClock) -> None:
    task = await new_task(store, clock)
    with pytest.raises(IllegalTransition, match="expected"):
        await transition(
            store, clock, task.id, S.PLANNED, actor="ceo", reason="x", expect=[S.QUEUED]
        )


async def test_transition_updates_columns_in_the_same_transaction(
    store: Store, clock: ManualClock
) -> None:
    task = await new_task(store, clock)
    moved = await transition(
        store,
        clock,
        task.id,
        S.PLANNED,
        actor="ceo",
        reason="planned",
        role="developer",
        predicted_files=["a.py", "b.py"],
    )
    assert moved.role == "developer"
    assert moved.predicted_files == ("a.py", "b.py")


async def test_unknown_column_is_rejected(store: Store, clock: ManualClock) -> None:
    task = await new_task(store, clock)
    with pytest.raises(TypeError, match="state"):
        await transition(store, clock, task.id, S.PLANNED, actor="c", reason="x", state="merged")
