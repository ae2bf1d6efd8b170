"""An issue's task as the vote sweep and maintainer commands see it (one task per issue)."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.issues import body_hash
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


@dataclass(frozen=True)
class ApprovedText:
    """The title and body an issue was approved with, and their hash (app.store.issues)."""

    title: str
    body: str
    hash: str

    @staticmethod
    def of(title: str, body: str) -> ApprovedText:
        """Snapshot a title and body as approved now."""
        return ApprovedText(title, body, body_hash(title, body))


# Why a task waits for its issue's approval to be confirmed (event reasons, waiting reasons).
TEXT_CHANGED = "the issue's title or body changed after approval; approval must be confirmed again"
NO_APPROVED_TEXT = "no approved text is recorded for this task; approval must be confirmed again"
APPROVAL_CHANGED = (
    "the issue was approved again with different text after this work began; it is redone"
    " from the newly approved text"
)


def approved_text_tx(tx: Tx, task_id: int) -> ApprovedText | None:
    """Return the text the task's issue was approved with, or None when none is recorded."""
    row = tx.fetchone(
        "SELECT approved_title, approved_body, approved_hash FROM tasks WHERE id = ?", (task_id,)
    )
    if row is None or row["approved_hash"] is None:
        return None
    return ApprovedText(
        row["approved_title"] or "", row["approved_body"] or "", row["approved_hash"]
    )


def set_approved_text_tx(tx: Tx, clock: Clock, task_id: int, text: ApprovedText) -> None:
    """Record the text the task's issue is approved with now (no state change, so no event)."""
    tx.execute(
        "UPDATE tasks SET approved_title = ?, approved_body = ?, approved_hash = ?, updated_at = ?"
        " WHERE id = ?",
        (text.title, text.body, text.hash, to_db(clock.now()), task_id),
    )


def task_hold_tx(tx: Tx, task_id: int, worked_from: str | None = None) -> str | None:
    """Return why the task must not go on with its approved text, or None when it may.

    Held when the vote sweep holds the issue, when the issue's text as last recorded differs
    from the approved snapshot (an edit the sweep has not judged yet), when no snapshot is
    recorded, or, given `worked_from` (the hash the caller's work was built from), when the
    approval has since moved to other text.
    """
    row = tx.fetchone(
        "SELECT t.approved_hash, i.title, i.body, i.decision, i.decision_reason FROM tasks t"
        " LEFT JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        return f"task {task_id} is not recorded"
    if row["decision"] == "held":
        return str(row["decision_reason"] or TEXT_CHANGED)
    approved = row["approved_hash"]
    if approved is None:
        return NO_APPROVED_TEXT
    if worked_from is not None and worked_from != approved:
        return APPROVAL_CHANGED
    if row["title"] is not None and body_hash(row["title"], row["body"]) != approved:
        return TEXT_CHANGED
    return None


def issue_hold_tx(tx: Tx, repo_id: int, issue_number: int) -> str | None:
    """Return why the issue's task is held (see task_hold_tx), or None; None without a task."""
    task_id = tx.scalar(
        "SELECT id FROM tasks WHERE repo_id = ? AND issue_number = ?", (repo_id, issue_number)
    )
    return None if task_id is None else task_hold_tx(tx, int(task_id))


async def task_hold(store: Store, task_id: int, worked_from: str | None = None) -> str | None:
    """Return why the task is held (see task_hold_tx), or None, in its own transaction."""
    return await store.run(lambda tx: task_hold_tx(tx, task_id, worked_from))
