"""The reviewer's store side: what it reads about a task, the review rows, and its transitions.

Every transition goes through `transition_tx`, so each appends its event row; a review row and
the transition it causes are written in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from app.clock import Clock
from app.store import Store, Tx
from app.store.leases import acquire_tx
from app.store.tasks import get_task_tx, record_event, transition_tx
from app.store.times import to_db
from app.taskstate import TaskPosition, TaskState, after_failure
from reviewer.static.report import StaticReport
from reviewer.trigger import DONE, PastReview

REVIEW_LEASE_TTL = timedelta(minutes=30)
ACTOR = "reviewer"
FEEDBACK_CHARS = 8000


def review_lease(task_id: int) -> str:
    """The lease a reviewer holds while it reviews one task's PR."""
    return f"review:{task_id}"


@dataclass(frozen=True)
class ReviewTarget:
    """What the reviewer reads about a task: its PR, its issue, and its repository."""

    task_id: int
    repo_id: int
    state: str
    attempt: int
    max_attempts: int
    issue_number: int
    issue_title: str
    issue_body: str
    brief: str
    pr_number: int | None
    head_sha: str | None
    owner: str
    repo: str
    default_branch: str
    installation_id: int
    past: tuple[PastReview, ...]


@dataclass(frozen=True)
class ReviewRecord:
    """One row of `reviews`: what was decided about a head, why, and what came of it."""

    task_id: int
    attempt: int
    repo_id: int
    pr_number: int
    head_sha: str
    base_sha: str
    decision: str
    outcome: str
    reasons: tuple[str, ...] = ()
    model_decision: str | None = None
    overruled: bool = False
    criteria: Mapping[str, bool] = field(default_factory=dict)
    static_report: StaticReport | None = None
    github_review_id: int | None = None
    review_event: str | None = None
    merge_sha: str | None = None


@dataclass(frozen=True)
class ReviewResult:
    """How one reviewer call ended: an outcome of reviewer/trigger.py or "skipped", and why."""

    task_id: int
    outcome: str
    detail: str = ""
    head_sha: str | None = None
    merge_sha: str | None = None
    post_merge: str | None = None


def read_target_tx(tx: Tx, task_id: int) -> ReviewTarget | None:
    """Read the task, its issue, repository and past reviews; None if the task is unknown."""
    row = tx.fetchone(
        "SELECT t.*, r.full_name, r.default_branch, r.installation_id, i.title, i.body"
        " FROM tasks t JOIN repos r ON r.id = t.repo_id"
        " JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        return None
    past = tx.fetchall(
        "SELECT head_sha, outcome FROM reviews WHERE task_id = ? ORDER BY id", (task_id,)
    )
    owner, repo = row["full_name"].split("/", 1)
    return ReviewTarget(
        task_id=task_id,
        repo_id=row["repo_id"],
        state=row["state"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        issue_number=row["issue_number"],
        issue_title=row["title"],
        issue_body=row["body"] or "",
        brief=row["brief"] or "",
        pr_number=row["pr_number"],
        head_sha=row["head_sha"],
        owner=owner,
        repo=repo,
        default_branch=row["default_branch"],
        installation_id=row["installation_id"],
        past=tuple(PastReview(p["head_sha"], p["outcome"]) for p in past),
    )


def claim_tx(tx: Tx, clock: Clock, task_id: int, head_sha: str, holder: str) -> bool:
    """Take the task's review lease and move it pr_open -> reviewing; False if already taken."""
    task = get_task_tx(tx, task_id)
    if task.state != TaskState.PR_OPEN:
        return False
    if not acquire_tx(tx, clock, review_lease(task_id), holder, REVIEW_LEASE_TTL):
        return False
    transition_tx(
        tx,
        clock,
        task_id,
        TaskState.REVIEWING,
        actor=ACTOR,
        reason=f"reviewing head {head_sha[:12]}",
        expect=[TaskState.PR_OPEN],
    )
    return True


def insert_review_tx(tx: Tx, clock: Clock, record: ReviewRecord) -> int:
    """Write the review row; on the PR row, mark the head reviewed when nothing is left to do."""
    now = to_db(clock.now())
    review_id = tx.insert(
        "INSERT INTO reviews (task_id, attempt, repo_id, pr_number, head_sha, base_sha, decision,"
        " outcome, reasons, model_decision, overruled, criteria, static_report, github_review_id,"
        " review_event, merge_sha, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.task_id,
            record.attempt,
            record.repo_id,
            record.pr_number,
            record.head_sha,
            record.base_sha,
            record.decision,
            record.outcome,
            json.dumps(list(record.reasons)),
            record.model_decision,
            1 if record.overruled else 0,
            json.dumps(dict(record.criteria)),
            json.dumps(record.static_report) if record.static_report is not None else None,
            record.github_review_id,
            record.review_event,
            record.merge_sha,
            now,
            now,
        ),
    )
    if record.outcome in DONE:
        tx.execute(
            "UPDATE pull_requests SET reviewed_sha = ?, updated_at = ?"
            " WHERE repo_id = ? AND number = ?",
            (record.head_sha, now, record.repo_id, record.pr_number),
        )
    return review_id


def send_back_tx(tx: Tx, clock: Clock, task_id: int, reason: str, feedback: str) -> TaskState:
    """Move reviewing -> changes_requested -> queued (or needs_human when no attempt is left)."""
    task = transition_tx(
        tx,
        clock,
        task_id,
        TaskState.CHANGES_REQUESTED,
        actor=ACTOR,
        reason=reason,
        expect=[TaskState.REVIEWING],
        feedback=feedback[-FEEDBACK_CHARS:],
    )
    target = after_failure(TaskPosition(task.state, task.attempt, task.max_attempts))
    transition_tx(
        tx,
        clock,
        task_id,
        target,
        actor=ACTOR,
        reason=f"attempt {task.attempt} of {task.max_attempts}: {reason}",
    )
    _drop_lease(tx, task_id)
    return target


def settle_tx(
    tx: Tx, clock: Clock, task_id: int, target: TaskState, reason: str, **updates: object
) -> None:
    """Move a task out of reviewing (to merged, or back to pr_open) and drop the lease."""
    expect = [TaskState.REVIEWING]
    transition_tx(tx, clock, task_id, target, actor=ACTOR, reason=reason, expect=expect, **updates)
    _drop_lease(tx, task_id)


def _drop_lease(tx: Tx, task_id: int) -> None:
    tx.execute("DELETE FROM leases WHERE name = ?", (review_lease(task_id),))


def note_tx(tx: Tx, clock: Clock, target: ReviewTarget, kind: str, reason: str) -> None:
    """Append an event about the task that is not a transition."""
    record_event(
        tx,
        clock,
        actor=ACTOR,
        kind=kind,
        reason=reason,
        task_id=target.task_id,
        repo_id=target.repo_id,
        issue_number=target.issue_number,
    )


async def recover_stalled_reviews(store: Store, clock: Clock) -> list[int]:
    """Send tasks whose reviewer died (lease expired) back to pr_open; return their ids."""

    def recover(tx: Tx) -> list[int]:
        rows = tx.fetchall(
            "SELECT t.id FROM tasks t LEFT JOIN leases l ON l.name = 'review:' || t.id"
            " WHERE t.state = 'reviewing' AND (l.name IS NULL OR l.expires_at <= ?)",
            (to_db(clock.now()),),
        )
        for row in rows:
            settle_tx(tx, clock, row["id"], TaskState.PR_OPEN, "the review stopped (lease expired)")
        return [row["id"] for row in rows]

    return await store.run(recover)


async def tasks_due(store: Store) -> list[int]:
    """Return the ids of tasks with an open PR (the reviewer decides per head what is due)."""
    rows = await store.fetchall(
        "SELECT id FROM tasks WHERE state = 'pr_open' AND pr_number IS NOT NULL ORDER BY id"
    )
    return [row["id"] for row in rows]


def past_of(target: ReviewTarget, head_sha: str) -> Sequence[PastReview]:
    """Return the past reviews of one head."""
    return [review for review in target.past if review.head_sha == head_sha]
