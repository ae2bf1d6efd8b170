"""A run's progress as the demo prints it: every issue with its task, and what the run cost.

Read-only, like the rest of the dashboard; each reader hands out frozen records.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.dashboard.cells import int_or_none, state_or_none, text_or_none
from app.store import Tx
from app.taskstate import TaskState


@dataclass(frozen=True)
class IssueProgress:
    """One issue (not a pull request) with its votes, decision and task, if any."""

    number: int
    title: str
    score: float
    decision: str
    decision_reason: str
    task_state: TaskState | None
    pr_number: int | None
    attempt: int | None
    waiting_reason: str | None


@dataclass(frozen=True)
class CallTotals:
    """Every model call added up: how many, their tokens and their dollars."""

    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float


def issue_progress_tx(tx: Tx) -> tuple[IssueProgress, ...]:
    """Return every issue by number, each with its task's state, pull request and wait reason."""
    return tuple(
        IssueProgress(
            number=int(row["number"]),
            title=str(row["title"]),
            score=float(row["score"]),
            decision=str(row["decision"]),
            decision_reason=str(row["decision_reason"] or ""),
            task_state=state_or_none(row["state"]),
            pr_number=int_or_none(row["pr_number"]),
            attempt=int_or_none(row["attempt"]),
            waiting_reason=text_or_none(row["waiting_reason"]),
        )
        for row in tx.fetchall(
            "SELECT i.number, i.title, i.score, i.decision, i.decision_reason, t.state,"
            " t.pr_number, t.attempt, t.waiting_reason FROM issues i LEFT JOIN tasks t"
            " ON t.repo_id = i.repo_id AND t.issue_number = i.number"
            " WHERE i.is_pull_request = 0 ORDER BY i.number"
        )
    )


def issues_with_task_in_tx(tx: Tx, states: Collection[TaskState]) -> tuple[int, ...]:
    """Return the issue numbers whose task is in one of `states`, in order."""
    marks = ", ".join("?" for _ in states)
    return tuple(
        int(row["issue_number"])
        for row in tx.fetchall(
            f"SELECT issue_number FROM tasks WHERE state IN ({marks})"  # noqa: S608 - placeholders only
            " ORDER BY issue_number",
            tuple(states),
        )
    )


def issue_numbers_by_task_tx(tx: Tx) -> dict[int, int]:
    """Return each task's issue number, keyed by task id."""
    return {
        int(row["id"]): int(row["issue_number"])
        for row in tx.fetchall("SELECT id, issue_number FROM tasks")
    }


def dispatch_count_tx(tx: Tx) -> int:
    """Return how many distinct dispatches (issue and reason) moved a task to running."""
    return int(
        tx.scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT t.issue_number, e.reason FROM events e"
            " JOIN tasks t ON t.id = e.task_id WHERE e.kind = 'transition' AND e.to_state = ?)",
            (TaskState.RUNNING,),
        )
        or 0
    )


def call_totals_tx(tx: Tx) -> CallTotals:
    """Add up every model call the store recorded."""
    row = tx.fetchone(
        "SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input,"
        " COALESCE(SUM(output_tokens), 0) AS output,"
        " COALESCE(SUM(cache_read_tokens), 0) AS cached, COALESCE(SUM(cost_usd), 0) AS usd"
        " FROM llm_calls"
    )
    if row is None:
        return CallTotals(0, 0, 0, 0, 0.0)
    return CallTotals(
        calls=int(row["calls"]),
        input_tokens=int(row["input"]),
        output_tokens=int(row["output"]),
        cache_read_tokens=int(row["cached"]),
        cost_usd=float(row["usd"]),
    )


def repo_names_tx(tx: Tx) -> tuple[str, ...]:
    """Return the full name of every repository the store knows."""
    return tuple(str(row["full_name"]) for row in tx.fetchall("SELECT full_name FROM repos"))
