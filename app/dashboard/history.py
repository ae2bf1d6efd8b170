"""One task's full history: its row, attempts (with logs), events, reviews, calls and steps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.dashboard.queries import parse_time, seconds_between
from app.logs import redact
from app.store import Row, Tx

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
    state: str
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
    from_state: str | None
    to_state: str | None
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
    rows = tx.fetchall(
        "SELECT t.id, COALESCE(r.full_name, '?') AS repo FROM tasks t"
        " LEFT JOIN repos r ON r.id = t.repo_id WHERE t.issue_number = ?",
        (number,),
    )
    if not rows:
        raise TaskNotFound(f"no task for issue #{number}")
    if len(rows) > 1:
        choices = ", ".join(f"task {row['id']} ({row['repo']})" for row in rows)
        raise TaskNotFound(f"issue #{number} has a task in several repositories: {choices}")
    return int(rows[0]["id"])


def read_history_tx(tx: Tx, task_id: int) -> TaskHistory:
    """Read one task's history (the latest HISTORY_ROWS of each kind of record)."""
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
    task = TaskSummary(
        task_id=row["id"],
        repo=row["repo"],
        issue_number=row["issue_number"],
        title=row["title"],
        state=row["state"],
        role=row["role"],
        complexity=row["complexity"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        priority=float(row["priority"]),
        pr_number=row["pr_number"],
        branch=row["branch"],
        predicted_files=tuple(json.loads(row["predicted_files"] or "[]")),
        waiting_reason=row["waiting_reason"],
        brief=redact(row["brief"]) if row["brief"] else None,
        cost_usd=float(row["spent"]),
        approved_at=parse_time(row["approved_at"]),
        updated_at=parse_time(row["updated_at"]),
    )
    attempts = tuple(
        AttemptRecord(
            number=a["number"],
            state=a["state"],
            worker=a["worker"],
            started_at=parse_time(a["started_at"]),
            ended_at=parse_time(a["ended_at"]),
            duration_seconds=seconds_between(
                parse_time(a["started_at"]), parse_time(a["ended_at"])
            ),
            outcome=a["outcome"],
            cost_usd=float(a["spent"]),
            log=redact(a["log"] or ""),
        )
        for a in tx.fetchall(
            "SELECT a.*, (SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c"
            " WHERE c.task_id = a.task_id AND c.attempt = a.number) AS spent"
            " FROM attempts a WHERE a.task_id = ? ORDER BY a.number",
            (task_id,),
        )
    )
    events = _latest(
        tx,
        "SELECT * FROM events WHERE task_id = ? ORDER BY id DESC LIMIT ?",
        task_id,
    )
    calls = _latest(
        tx, "SELECT * FROM llm_calls WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
    )
    steps = _latest(
        tx, "SELECT * FROM attempt_steps WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
    )
    reviews = _latest(
        tx, "SELECT * FROM reviews WHERE task_id = ? ORDER BY id DESC LIMIT ?", task_id
    )
    return TaskHistory(
        task=task,
        attempts=attempts,
        reviews=tuple(_review(row) for row in reviews),
        events=tuple(
            EventRecord(
                at=parse_time(e["created_at"]),
                actor=e["actor"],
                kind=e["kind"],
                from_state=e["from_state"],
                to_state=e["to_state"],
                reason=redact(e["reason"] or ""),
            )
            for e in events
        ),
        calls=tuple(
            CallRecord(
                at=parse_time(c["created_at"]),
                attempt=c["attempt"],
                role=c["role"],
                phase=c["phase"],
                model=c["model"],
                input_tokens=c["input_tokens"],
                output_tokens=c["output_tokens"],
                cache_read_tokens=c["cache_read_tokens"],
                cache_creation_tokens=c["cache_creation_tokens"],
                cost_usd=float(c["cost_usd"]),
                latency_ms=float(c["latency_ms"]),
                error=redact(c["error"]) if c["error"] else None,
            )
            for c in calls
        ),
        steps=tuple(
            StepRecord(
                attempt=s["attempt"],
                step=s["step"],
                started_at=parse_time(s["started_at"]),
                duration_seconds=float(s["duration_ms"]) / 1000,
                ok=bool(s["ok"]),
                detail=s["detail"],
            )
            for s in steps
        ),
        truncated=HISTORY_ROWS in (len(events), len(calls), len(steps)),
    )


def _review(row: Row) -> ReviewEntry:
    try:
        reasons = [str(reason) for reason in json.loads(row["reasons"] or "[]")]
    except (json.JSONDecodeError, TypeError):
        reasons = []
    return ReviewEntry(
        at=parse_time(row["created_at"]),
        attempt=row["attempt"],
        pr_number=row["pr_number"],
        head_sha=row["head_sha"],
        decision=row["decision"],
        outcome=row["outcome"],
        reasons=tuple(redact(reason) for reason in reasons),
        overruled=bool(row["overruled"]),
        merge_sha=row["merge_sha"],
        post_merge=row["post_merge"],
    )


def _latest(tx: Tx, sql: str, task_id: int) -> list[Row]:
    """Return the latest HISTORY_ROWS rows of a query, oldest first."""
    return list(reversed(tx.fetchall(sql, (task_id, HISTORY_ROWS))))
