"""An issue's task as the vote sweep and maintainer commands see it (one task per issue)."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.store.db import Tx
from app.store.times import to_db
from app.taskstate import TaskState


@dataclass(frozen=True)
class IssueTask:
    """The task of one issue: where it stands and what it is waiting for."""

    id: int
    state: TaskState
    attempt: int
    max_attempts: int
    priority: float
    pr_number: int | None
    waiting_reason: str | None


def task_of_issue_tx(tx: Tx, repo_id: int, issue_number: int) -> IssueTask | None:
    """Return the issue's task, or None when it has none yet."""
    row = tx.fetchone(
        "SELECT id, state, attempt, max_attempts, priority, pr_number, waiting_reason FROM tasks"
        " WHERE repo_id = ? AND issue_number = ?",
        (repo_id, issue_number),
    )
    if row is None:
        return None
    return IssueTask(
        id=row["id"],
        state=TaskState(row["state"]),
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        priority=row["priority"],
        pr_number=row["pr_number"],
        waiting_reason=row["waiting_reason"],
    )


def set_task_priority_tx(tx: Tx, clock: Clock, task_id: int, priority: float) -> None:
    """Set a task's scheduling priority (no state change, so no event)."""
    tx.execute(
        "UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?",
        (priority, to_db(clock.now()), task_id),
    )
