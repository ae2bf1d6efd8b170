"""One task's full history: its row, attempts (with logs), events, reviews, calls and steps.

Each reader below builds its records right where it reads the rows; nothing untyped leaves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.dashboard.cells import (
    int_or_none,
    parse_time,
    seconds_between,
    state_or_none,
    text_or_none,
)
from app.logs import redact
from app.store import Row, Tx
from app.taskstate import TaskState

# A task that loops for a long time can gather many rows; the CLI shows the latest of each.
HISTORY_ROWS = 500


class TaskNotFound(Exception):
    """No task matches the number given (or, by issue, more than one repository has it)."""


@dataclass(frozen=True)
class TaskSummary:
    """The task row with its repository and issue."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    state: TaskState
    role: str | None
    complexity: str | None
    attempt: int
    max_attempts: int
    priority: float
    pr_number: int | None
    branch: str | None
    predicted_files: tuple[str, ...]
    waiting_reason: str | None
    brief: str | None
    cost_usd: float
    approved_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt and how it ended (its log is redacted)."""

    number: int
    state: str
    worker: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float | None
    outcome: str | None
    cost_usd: float
    log: str


@dataclass(frozen=True)
class EventRecord:
    """One event of the task: who moved it where, and why."""

    at: datetime | None
    actor: str
    kind: str
    from_state: TaskState | None
    to_state: TaskState | None
    reason: str


@dataclass(frozen=True)
class CallRecord:
    """One model call made for the task."""

    at: datetime | None
    attempt: int | None
    role: str | None
    phase: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float
    latency_ms: float
    error: str | None


@dataclass(frozen=True)
class StepRecord:
    """One timed step of an attempt."""

    attempt: int
    step: str
    started_at: datetime | None
    duration_seconds: float
    ok: bool
    detail: str


@dataclass(frozen=True)
class ReviewEntry:
    """One review of a pull request head: the verdict, why, and what came of it."""

    at: datetime | None
    attempt: int
    pr_number: int
    head_sha: str
    decision: str
    outcome: str
    reasons: tuple[str, ...]
    overruled: bool
    merge_sha: str | None
    post_merge: str | None


@dataclass(frozen=True)
class TaskHistory:
    """Everything recorded about one task, oldest first."""

    task: TaskSummary
    attempts: tuple[AttemptRecord, ...]
    events: tuple[EventRecord, ...]
    reviews: tuple[ReviewEntry, ...]
    calls: tuple[CallRecord, ...]
    steps: tuple[StepRecord, ...]
    truncated: bool


def find_task_tx(tx: Tx, number: int, *, by_issue: bool = False) -> int:
    """Return the id of task `number`, or of the task for issue `number` when `by_issue`."""
    if not by_issue:
        if tx.scalar("SELECT id FROM tasks WHERE id = ?", (number,)) is None:
            raise TaskNotFound(f"no task {number}")
        return number
    found = [
        (int(row["id"]), str(row["repo"]))
        for row in tx.fetchall(
            "SELECT t.id, COALESCE(r.full_name, '?') AS repo FROM tasks t"
            " LEFT JOIN repos r ON r.id = t.repo_id WHERE t.issue_number = ?",
            (number,),
        )
    ]
    if not found:
        raise TaskNotFound(f"no task for issue #{number}")
    if len(found) > 1:
        choices = ", ".join(f"task {task_id} ({repo})" for task_id, repo in found)
        raise TaskNotFound(f"issue #{number} has a task in several repositories: {choices}")
    return found[0][0]


def read_history_tx(tx: Tx, task_id: int) -> TaskHistory:
    """Read one task's history (the latest HISTORY_ROWS of each kind of record)."""
    task = task_summary_tx(tx, task_id)
    events = events_tx(tx, task_id)
    calls = calls_tx(tx, task_id)
    steps = steps_tx(tx, task_id)
    return TaskHistory(
        task=task,
        attempts=attempts_tx(tx, task_id),
        events=events,
        reviews=reviews_tx(tx, task_id),
        calls=calls,
        steps=steps,
        truncated=HISTORY_ROWS in (len(events), len(calls), len(steps)),
    )


def task_summary_tx(tx: Tx, task_id: int) -> TaskSummary:
    """Read the task row with its repository, issue title and spend."""
    row = tx.fetchone(
        "SELECT t.*, COALESCE(r.full_name, '?') AS repo, COALESCE(i.title, '') AS title,"
        " (SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c WHERE c.task_id = t.id) AS spent"
        " FROM tasks t LEFT JOIN repos r ON r.id = t.repo_id"
        " LEFT JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        raise TaskNotFound(f"no task {task_id}")
    return TaskSummary(
        task_id=int(row["id"]),
        repo=str(row["repo"]),
        issue_number=int(row["issue_number"]),
        title=str(row["title"]),
        state=TaskState(row["state"]),
        role=text_or_none(row["role"]),
        complexity=text_or_none(row["complexity"]),
        attempt=int(row["attempt"]),
        max_attempts=int(row["max_attempts"]),
        priority=float(row["priority"]),
        pr_number=int_or_none(row["pr_number"]),
        branch=text_or_none(row["branch"]),
        predicted_files=tuple(str(path) for path in json.loads(row["predicted_files"] or "[]")),
        waiting_reason=text_or_none(row["waiting_reason"]),
        brief=redact(row["brief"]) if row["brief"] else None,
        cost_usd=float(row["spent"]),
        approved_at=parse_time(row["approved_at"]),
        updated_at=parse_time(row["updated_at"]),
    )


def attempts_tx(tx: Tx, task_id: int) -> tuple[AttemptRecord, ...]:
    """Read every attempt of the task with what it cost, oldest first."""
    attempts = []
    for row in tx.fetchall(
        "SELECT a.*, (SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c"
        " WHERE c.task_id = a.task_id AND c.attempt = a.number) AS spent"
        " FROM attempts a WHERE a.task_id = ? ORDER BY a.number",
        (task_id,),
    ):
        started, ended = parse_time(row["started_at"]), parse_time(row["ended_at"])
        attempts.append(
            AttemptRecord(
                number=int(row["number"]),
                state=str(row["state"]),
                worker=text_or_none(row["worker"]),
                started_at=started,
                ended_at=ended,
                duration_seconds=seconds_between(started, ended),
                outcome=text_or_none(row["outcome"]),
                cost_usd=float(row["spent"]),
                log=redact(row["log"] or ""),
            )
        )
    return tuple(attempts)


def events_tx(tx: Tx, task_id: int) -> tuple[EventRecord, ...]:
    """Read the task's latest events, oldest first."""
    return tuple(
        EventRecord(
            at=parse_time(row["created_at"]),
            actor=str(row["actor"]),
            kind=str(row["kind"]),
            from_state=state_or_none(row["from_state"]),
            to_state=state_or_none(row["to_state"]),
            reason=redact(row["reason"] or ""),
        )
        for row in _latest(
            tx, "SELECT * FROM events WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
        )
    )


def calls_tx(tx: Tx, task_id: int) -> tuple[CallRecord, ...]:
    """Read the task's latest model calls, oldest first."""
    return tuple(
        CallRecord(
            at=parse_time(row["created_at"]),
            attempt=int_or_none(row["attempt"]),
            role=text_or_none(row["role"]),
            phase=str(row["phase"]),
            model=str(row["model"]),
            input_tokens=int(row["input_tokens"]),
            output_tokens=int(row["output_tokens"]),
            cache_read_tokens=int(row["cache_read_tokens"]),
            cache_creation_tokens=int(row["cache_creation_tokens"]),
            cost_usd=float(row["cost_usd"]),
            latency_ms=float(row["latency_ms"]),
            error=redact(row["error"]) if row["error"] else None,
        )
        for row in _latest(
            tx, "SELECT * FROM llm_calls WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
        )
    )


def steps_tx(tx: Tx, task_id: int) -> tuple[StepRecord, ...]:
    """Read the task's latest timed steps, oldest first."""
    return tuple(
        StepRecord(
            attempt=int(row["attempt"]),
            step=str(row["step"]),
            started_at=parse_time(row["started_at"]),
            duration_seconds=float(row["duration_ms"]) / 1000,
            ok=bool(row["ok"]),
            detail=str(row["detail"]),
        )
        for row in _latest(
            tx, "SELECT * FROM attempt_steps WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
        )
    )


def reviews_tx(tx: Tx, task_id: int) -> tuple[ReviewEntry, ...]:
    """Read the task's latest reviews, oldest first."""
    reviews = []
    for row in _latest(
        tx, "SELECT * FROM reviews WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
    ):
        try:
            reasons = [str(reason) for reason in json.loads(row["reasons"] or "[]")]
        except (json.JSONDecodeError, TypeError):
            reasons = []
        reviews.append(
            ReviewEntry(
                at=parse_time(row["created_at"]),
                attempt=int(row["attempt"]),
                pr_number=int(row["pr_number"]),
                head_sha=str(row["head_sha"]),
                decision=str(row["decision"]),
                outcome=str(row["outcome"]),
                reasons=tuple(redact(reason) for reason in reasons),
                overruled=bool(row["overruled"]),
                merge_sha=text_or_none(row["merge_sha"]),
                post_merge=text_or_none(row["post_merge"]),
            )
        )
    return tuple(reviews)


def _latest(tx: Tx, sql: str, task_id: int) -> list[Row]:
    """Return the latest HISTORY_ROWS rows of a query, oldest first (for the readers above)."""
    return list(reversed(tx.fetchall(sql, (task_id, HISTORY_ROWS))))
