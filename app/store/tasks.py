"""Task rows and their transitions: each transition is one transaction with its event row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.store.db import Row, Store, Tx
from app.store.issue_tasks import ApprovedText
from app.store.times import from_db, to_db
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
    approved: ApprovedText | None = None,
) -> Task:
    """Create the task for an approved issue, in state `approved`, with its event.

    `approved` is the text the issue was approved with; without it, the issue's recorded text
    is taken as approved now (a task of an unrecorded issue gets no snapshot and waits).
    """
    now = to_db(clock.now())
    text = approved or _recorded_text_tx(tx, repo_id, issue_number)
    task_id = tx.insert(
        "INSERT INTO tasks (repo_id, issue_number, state, max_attempts, priority, approved_at,"
        " created_at, updated_at, approved_title, approved_body, approved_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            repo_id, issue_number, TaskState.APPROVED, max_attempts, priority, now, now, now,
            *((text.title, text.body, text.hash) if text else (None, None, None)),
        ),
    )  # fmt: skip
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


def _recorded_text_tx(tx: Tx, repo_id: int, issue_number: int) -> ApprovedText | None:
    """The issue's title and body as last recorded, as an approved snapshot."""
    row = tx.fetchone(
        "SELECT title, body FROM issues WHERE repo_id = ? AND number = ?", (repo_id, issue_number)
    )
    return None if row is None else ApprovedText.of(row["title"], row["body"] or "")


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


def _marks(states: Sequence[TaskState]) -> str:
    """Placeholders for an `IN (...)` over task states, which are bound, never spelled."""
    return ", ".join("?" for _ in states)


@dataclass(frozen=True)
class TaskToPlan:
    """An approved task with the text its issue was approved with, as the planner reads it."""

    id: int
    issue_number: int
    title: str
    body: str
    approved_hash: str


async def tasks_to_plan(store: Store, repo_id: int) -> list[TaskToPlan]:
    """Return a repository's approved tasks with their approved text, by priority then age."""
    rows = await store.fetchall(
        "SELECT id, issue_number, approved_title, approved_body, approved_hash FROM tasks"
        " WHERE repo_id = ? AND state = ? AND approved_hash IS NOT NULL"
        " ORDER BY priority DESC, approved_at",
        (repo_id, TaskState.APPROVED),
    )
    return [
        TaskToPlan(
            r["id"], r["issue_number"], r["approved_title"] or "", r["approved_body"] or "",
            r["approved_hash"],
        )
        for r in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class TaskWithPull:
    """A task that has a PR, and the PR's number."""

    id: int
    issue_number: int
    state: TaskState
    pr_number: int


async def tasks_with_pull(
    store: Store, repo_id: int, states: Sequence[TaskState]
) -> list[TaskWithPull]:
    """Return a repository's tasks in one of `states` that have a PR."""
    rows = await store.fetchall(
        "SELECT id, issue_number, state, pr_number FROM tasks WHERE repo_id = ?"  # noqa: S608 - only placeholders are formatted in
        f" AND state IN ({_marks(states)}) AND pr_number IS NOT NULL",
        (repo_id, *states),
    )
    return [
        TaskWithPull(r["id"], r["issue_number"], TaskState(r["state"]), r["pr_number"])
        for r in rows
    ]


@dataclass(frozen=True)
class TaskOfClosedIssue:
    """A task whose issue is no longer open, and the issue's state."""

    id: int
    issue_number: int
    state: TaskState
    issue_state: str


def tasks_of_closed_issues_tx(tx: Tx, repo_id: int) -> list[TaskOfClosedIssue]:
    """Return a repository's tasks whose issue was closed (or deleted), whatever their state."""
    rows = tx.fetchall(
        "SELECT t.id, t.issue_number, t.state, i.state AS issue_state FROM tasks t"
        " JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.repo_id = ? AND i.state != 'open'",
        (repo_id,),
    )
    return [
        TaskOfClosedIssue(r["id"], r["issue_number"], TaskState(r["state"]), r["issue_state"])
        for r in rows
    ]


@dataclass(frozen=True)
class TaskToSchedule:
    """A queued or running task as the scheduler reads it."""

    id: int
    issue_number: int
    state: TaskState
    role: str | None
    priority: float
    approved_at: datetime
    passed_over: int
    predicted_files: tuple[str, ...]
    cost_usd: float
    waiting_reason: str | None
    pr_number: int | None


async def tasks_to_schedule(store: Store, repo_id: int) -> list[TaskToSchedule]:
    """Return a repository's queued and running tasks."""
    rows = await store.fetchall(
        "SELECT id, issue_number, state, role, priority, approved_at, passed_over, predicted_files,"
        " cost_usd, waiting_reason, pr_number FROM tasks WHERE repo_id = ? AND state IN (?, ?)",
        (repo_id, TaskState.QUEUED, TaskState.RUNNING),
    )
    return [
        TaskToSchedule(
            id=r["id"],
            issue_number=r["issue_number"],
            state=TaskState(r["state"]),
            role=r["role"],
            priority=r["priority"],
            approved_at=from_db(r["approved_at"]),
            passed_over=r["passed_over"],
            predicted_files=tuple(json.loads(r["predicted_files"] or "[]")),
            cost_usd=r["cost_usd"],
            waiting_reason=r["waiting_reason"],
            pr_number=r["pr_number"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class NeedsHumanTask:
    """A task in needs_human: the event that put it there, and the last time people were told."""

    id: int
    issue_number: int
    reached: int  # id of the event that moved the task to needs_human (the latest one)
    told: int | None  # id of the latest needs_human_told event
    reason: str

    @property
    def already_told(self) -> bool:
        """Whether people were told since the task last reached needs_human."""
        return self.told is not None and self.told > self.reached


NEEDS_HUMAN_TOLD = "needs_human_told"


async def tasks_needing_human(store: Store, repo_id: int) -> list[NeedsHumanTask]:
    """Return a repository's needs_human tasks, with when they got there and were last told."""
    needs_human = TaskState.NEEDS_HUMAN
    rows = await store.fetchall(
        "SELECT t.id, t.issue_number,"
        " (SELECT MAX(e.id) FROM events e WHERE e.task_id = t.id AND e.to_state = ?) AS reached,"
        " (SELECT MAX(e.id) FROM events e WHERE e.task_id = t.id AND e.kind = ?) AS told,"
        " (SELECT e.reason FROM events e WHERE e.task_id = t.id AND e.to_state = ?"
        " ORDER BY e.id DESC LIMIT 1) AS reason"
        " FROM tasks t WHERE t.repo_id = ? AND t.state = ?",
        (needs_human, NEEDS_HUMAN_TOLD, needs_human, repo_id, needs_human),
    )
    return [
        NeedsHumanTask(r["id"], r["issue_number"], r["reached"], r["told"], r["reason"])
        for r in rows
    ]


async def set_waiting_reason(store: Store, task_id: int, reason: str) -> None:
    """Record why a task waits (no state change, so no event)."""
    await store.execute("UPDATE tasks SET waiting_reason = ? WHERE id = ?", (reason, task_id))


async def set_passed_over(store: Store, task_id: int, passed_over: int) -> None:
    """Record how many times the scheduler has let a later task go first."""
    await store.execute("UPDATE tasks SET passed_over = ? WHERE id = ?", (passed_over, task_id))
