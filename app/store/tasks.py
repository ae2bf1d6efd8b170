"""Task rows and their transitions: each transition is one transaction with its event row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.store.db import Row, Store, Tx
from app.store.times import to_db
from app.taskstate import IllegalTransition, TaskPosition, TaskState, check_transition

# Columns a transition may update alongside the state.
UPDATABLE = frozenset(
    {
        "role",
        "brief",
        "predicted_files",
        "complexity",
        "priority",
        "attempt",
        "max_attempts",
        "passed_over",
        "branch",
        "pr_number",
        "head_sha",
        "base_sha",
        "feedback",
        "waiting_reason",
        "cost_usd",
    }
)


@dataclass(frozen=True)
class Task:
    """A task row."""

    id: int
    repo_id: int
    issue_number: int
    state: TaskState
    attempt: int
    max_attempts: int
    role: str | None
    predicted_files: tuple[str, ...]
    priority: float
    pr_number: int | None
    branch: str | None

    @staticmethod
    def from_row(row: Row) -> Task:
        """Build a Task from a `tasks` row."""
        return Task(
            id=row["id"],
            repo_id=row["repo_id"],
            issue_number=row["issue_number"],
            state=TaskState(row["state"]),
            attempt=row["attempt"],
            max_attempts=row["max_attempts"],
            role=row["role"],
            predicted_files=tuple(json.loads(row["predicted_files"] or "[]")),
            priority=row["priority"],
            pr_number=row["pr_number"],
            branch=row["branch"],
        )


def record_event(
    tx: Tx,
    clock: Clock,
    *,
    actor: str,
    kind: str,
    reason: str = "",
    task_id: int | None = None,
    repo_id: int | None = None,
    issue_number: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
) -> int:
    """Append one event row (who did what, and why)."""
    return tx.insert(
        "INSERT INTO events (task_id, repo_id, issue_number, actor, kind, from_state, to_state,"
        " reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            task_id,
            repo_id,
            issue_number,
            actor,
            kind,
            from_state,
            to_state,
            reason,
            to_db(clock.now()),
        ),
    )


def create_task_tx(
    tx: Tx,
    clock: Clock,
    *,
    repo_id: int,
    issue_number: int,
    max_attempts: int,
    priority: float,
    actor: str,
    reason: str,
) -> Task:
    """Create the task for an approved issue, in state `approved`, with its event."""
    now = to_db(clock.now())
    task_id = tx.insert(
        "INSERT INTO tasks (repo_id, issue_number, state, max_attempts, priority, approved_at,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (repo_id, issue_number, TaskState.APPROVED, max_attempts, priority, now, now, now),
    )
    record_event(
        tx,
        clock,
        actor=actor,
        kind="task_created",
        reason=reason,
        task_id=task_id,
        repo_id=repo_id,
        issue_number=issue_number,
        to_state=TaskState.APPROVED,
    )
    return get_task_tx(tx, task_id)


def get_task_tx(tx: Tx, task_id: int) -> Task:
    """Read one task; raise KeyError when it does not exist."""
    row = tx.fetchone("SELECT * FROM tasks WHERE id = ?", (task_id,))
    if row is None:
        raise KeyError(f"task {task_id} does not exist")
    return Task.from_row(row)


def transition_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    target: TaskState,
    *,
    actor: str,
    reason: str,
    expect: Sequence[TaskState] | None = None,
    **updates: Any,
) -> Task:
    """Move a task to `target` inside `tx`, updating columns and appending the event.

    `expect` guards against a stale read: the move happens only from one of those states.
    Raises IllegalTransition (and the caller's transaction rolls back) when not allowed.
    """
    unknown = set(updates) - UPDATABLE
    if unknown:
        raise TypeError(f"cannot update task columns {sorted(unknown)}")
    task = get_task_tx(tx, task_id)
    if expect is not None and task.state not in expect:
        raise IllegalTransition(
            f"task {task_id} is {task.state}, expected one of {', '.join(expect)}"
        )
    attempt = updates.get("attempt", task.attempt)
    check_transition(TaskPosition(task.state, attempt, task.max_attempts), target)
    if "predicted_files" in updates:
        updates["predicted_files"] = json.dumps(list(updates["predicted_files"]))
    assignments = ", ".join(f"{column} = ?" for column in updates)
    tx.execute(
        f"UPDATE tasks SET state = ?, updated_at = ?{', ' if updates else ''}{assignments}"  # noqa: S608 - column names come from UPDATABLE
        " WHERE id = ?",
        (target, to_db(clock.now()), *updates.values(), task_id),
    )
    record_event(
        tx,
        clock,
        actor=actor,
        kind="transition",
        reason=reason,
        task_id=task_id,
        repo_id=task.repo_id,
        issue_number=task.issue_number,
        from_state=task.state,
        to_state=target,
    )
    return get_task_tx(tx, task_id)


async def transition(
    store: Store,
    clock: Clock,
    task_id: int,
    target: TaskState,
    *,
    actor: str,
    reason: str,
    expect: Sequence[TaskState] | None = None,
    **updates: Any,
) -> Task:
    """Move a task to `target` in its own transaction (see transition_tx)."""
    return await store.run(
        lambda tx: transition_tx(
            tx, clock, task_id, target, actor=actor, reason=reason, expect=expect, **updates
        )
    )
