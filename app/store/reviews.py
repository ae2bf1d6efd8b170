"""The reviewer's store side: what it reads about a task, the review rows, and its transitions.

Every transition goes through `transition_tx`, so each appends its event row; a review row and
the transition it causes are written in one transaction. When a review leaves a head settled
is the reviewer's rule (reviewer/trigger.py); it tells these functions through `head_reviewed`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.leases import acquire_tx
from app.store.tasks import get_task_tx, record_event, transition_tx
from app.store.times import to_db
from app.taskstate import TaskPosition, TaskState, after_failure

# Renewed every third of this while a review runs; a reviewer that dies is found out within a
# minute (at once on its own host: app/store/leases.expire_abandoned).
REVIEW_LEASE_TTL = timedelta(seconds=60)
ACTOR = "reviewer"
FEEDBACK_CHARS = 8000
# The tail of a post-merge check's log kept on the review row.
POST_MERGE_LOG_CHARS = 6000

# What came of a review of one head: the values of `reviews.outcome`.
ReviewOutcome = Literal[
    "merged",
    "changes_requested",
    "awaiting_maintainer",
    "awaiting_checks",
    "checks_failed",
    "merge_refused",
    "conflict",
    "stale_head",
    "closed",
    "error",
    "held",  # the issue's approved text no longer stands: not merged, reviewed again later
    "decided",  # the verdict is stored and about to be posted; replaced by what came of it
]
# Outcomes after which the head is on the base branch (merged by Townhall, or approved and
# then merged by a maintainer): the base is checked again once after them.
MERGE_OUTCOMES: tuple[ReviewOutcome, ...] = ("merged", "awaiting_maintainer")


REVIEW_LEASE_PREFIX = "review:"
# The row a verdict is stored in before its review is posted (see record_decided).
DECIDED: ReviewOutcome = "decided"


def review_lease(task_id: int) -> str:
    """The lease a reviewer holds while it reviews one task's PR."""
    return f"{REVIEW_LEASE_PREFIX}{task_id}"


@dataclass(frozen=True)
class PastReview:
    """A recorded review of one head of the task's PR."""

    head_sha: str
    outcome: ReviewOutcome


@dataclass(frozen=True)
class ReviewTarget:
    """What the reviewer reads about a task: its PR, its issue, and its repository."""

    task_id: int
    repo_id: int
    state: TaskState
    attempt: int
    max_attempts: int
    issue_number: int
    issue_title: str  # the issue's approved title and body (the task's snapshot), never an edit
    issue_body: str
    brief: str
    pr_number: int | None
    head_sha: str | None
    owner: str
    repo: str
    default_branch: str
    installation_id: int
    past: tuple[PastReview, ...]
    approved_hash: str = ""  # the snapshot's hash ("" when none is recorded: then it is held)


@dataclass(frozen=True)
class ReviewRecord:
    """One row of `reviews`: what was decided about a head, why, and what came of it.

    `static_report` is phase 1's JSON document, stored as it is.
    """

    task_id: int
    attempt: int
    repo_id: int
    pr_number: int
    head_sha: str
    base_sha: str
    decision: str
    outcome: ReviewOutcome
    reasons: tuple[str, ...] = ()
    model_decision: str | None = None
    overruled: bool = False
    criteria: Mapping[str, bool] = field(default_factory=dict)
    static_report: Mapping[str, object] | None = None
    github_review_id: int | None = None
    review_event: str | None = None
    merge_sha: str | None = None


@dataclass(frozen=True)
class ReviewDraft:
    """What a decided review posts, and what the worker is told when it asks for changes."""

    event: str  # APPROVE or REQUEST_CHANGES
    body: str
    comments: tuple[Mapping[str, object], ...]
    feedback: str
    maintainer: bool  # approved in maintainer mode: wait for a person instead of merging


@dataclass(frozen=True)
class DecidedReview:
    """A verdict stored before its review was posted, so a restart acts on it as decided."""

    record: ReviewRecord
    draft: ReviewDraft


@dataclass(frozen=True)
class MergeReview:
    """The task's latest review that put its head on the base, and its post-merge check."""

    review_id: int
    outcome: ReviewOutcome
    merge_sha: str | None
    post_merge: str | None


@dataclass(frozen=True)
class MergedTask:
    """A task, its PR and repository, and the review that merged it."""

    target: ReviewTarget
    review: MergeReview


def read_target_tx(tx: Tx, task_id: int) -> ReviewTarget | None:
    """Read the task, its issue, repository and past reviews; None if the task is unknown."""
    row = tx.fetchone(
        "SELECT t.*, r.full_name, r.default_branch, r.installation_id"
        " FROM tasks t JOIN repos r ON r.id = t.repo_id WHERE t.id = ?",
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
        state=TaskState(row["state"]),
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        issue_number=row["issue_number"],
        issue_title=row["approved_title"] or "",
        issue_body=row["approved_body"] or "",
        brief=row["brief"] or "",
        pr_number=row["pr_number"],
        head_sha=row["head_sha"],
        owner=owner,
        repo=repo,
        default_branch=row["default_branch"],
        installation_id=row["installation_id"],
        past=tuple(PastReview(p["head_sha"], p["outcome"]) for p in past),
        approved_hash=row["approved_hash"] or "",
    )


async def read_target(store: Store, task_id: int) -> ReviewTarget | None:
    """Read what the reviewer needs about a task; None if the task is unknown."""
    return await store.run(lambda tx: read_target_tx(tx, task_id))


def claim_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    head_sha: str,
    holder: str,
    ttl: timedelta = REVIEW_LEASE_TTL,
) -> bool:
    """Take the task's review lease and move it pr_open -> reviewing; False if already taken."""
    task = get_task_tx(tx, task_id)
    if task.state != TaskState.PR_OPEN:
        return False
    if not acquire_tx(tx, clock, review_lease(task_id), holder, ttl):
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


async def claim_review(
    store: Store,
    clock: Clock,
    task_id: int,
    head_sha: str,
    holder: str,
    ttl: timedelta = REVIEW_LEASE_TTL,
) -> bool:
    """Claim the task for one review (see claim_tx); False if it is not free to review."""
    return await store.run(lambda tx: claim_tx(tx, clock, task_id, head_sha, holder, ttl))


def insert_review_tx(tx: Tx, clock: Clock, record: ReviewRecord, *, head_reviewed: bool) -> int:
    """Write the review row; with `head_reviewed`, mark the head reviewed on the PR row.

    What came of a decided verdict replaces its `decided` row (an error is recorded beside it:
    the verdict still stands and is acted on when the head is taken up again). The new row
    comes last, as the reviewer's rules read a head's rows in order (reviewer/trigger.py).
    """
    now = to_db(clock.now())
    if record.outcome != "error":
        tx.execute(
            "DELETE FROM reviews WHERE task_id = ? AND head_sha = ? AND outcome = ?",
            (record.task_id, record.head_sha, DECIDED),
        )
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
            json.dumps(dict(record.static_report)) if record.static_report is not None else None,
            record.github_review_id,
            record.review_event,
            record.merge_sha,
            now,
            now,
        ),
    )
    if head_reviewed:
        tx.execute(
            "UPDATE pull_requests SET reviewed_sha = ?, updated_at = ?"
            " WHERE repo_id = ? AND number = ?",
            (record.head_sha, now, record.repo_id, record.pr_number),
        )
    return review_id


def _fail_through_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    via: TaskState,
    expect: TaskState,
    reason: str,
    feedback: str,
    *,
    outcome: str,  # how the attempt ended, appended to "attempt N of M"
) -> TaskState:
    """Move `expect` -> `via` (keeping the feedback) -> queued or needs_human; return the last."""
    task = transition_tx(
        tx, clock, task_id, via, actor=ACTOR, reason=reason, expect=[expect],
        feedback=feedback[-FEEDBACK_CHARS:],
    )  # fmt: skip
    target = after_failure(TaskPosition(task.state, task.attempt, task.max_attempts))
    transition_tx(
        tx, clock, task_id, target, actor=ACTOR,
        reason=f"attempt {task.attempt} of {task.max_attempts}{outcome}",
    )  # fmt: skip
    return target


def send_back_tx(tx: Tx, clock: Clock, task_id: int, reason: str, feedback: str) -> TaskState:
    """Move reviewing -> changes_requested -> queued (or needs_human when no attempt is left)."""
    target = _fail_through_tx(
        tx, clock, task_id, TaskState.CHANGES_REQUESTED, TaskState.REVIEWING, reason, feedback,
        outcome=f": {reason}",
    )  # fmt: skip
    drop_review_lease_tx(tx, task_id)
    return target


async def send_back(
    store: Store,
    clock: Clock,
    record: ReviewRecord,
    *,
    head_reviewed: bool,
    reason: str,
    feedback: str,
) -> TaskState:
    """Write the review row and send the task back to its worker with `feedback` (one tx)."""

    def apply(tx: Tx) -> TaskState:
        insert_review_tx(tx, clock, record, head_reviewed=head_reviewed)
        return send_back_tx(tx, clock, record.task_id, reason, feedback)

    return await store.run(apply)


def settle_tx(
    tx: Tx, clock: Clock, task_id: int, target: TaskState, reason: str, head_sha: str | None = None
) -> None:
    """Move a task out of reviewing (to merged, or back to pr_open) and drop the lease."""
    updates = {"head_sha": head_sha} if head_sha is not None else {}
    expect = [TaskState.REVIEWING]
    transition_tx(tx, clock, task_id, target, actor=ACTOR, reason=reason, expect=expect, **updates)
    drop_review_lease_tx(tx, task_id)


async def settle(
    store: Store,
    clock: Clock,
    task_id: int,
    target: TaskState,
    reason: str,
    *,
    record: ReviewRecord | None = None,
    head_reviewed: bool = False,
    head_sha: str | None = None,
) -> None:
    """Write the review row if any, and move the task out of reviewing to `target` (one tx)."""

    def apply(tx: Tx) -> None:
        if record is not None:
            insert_review_tx(tx, clock, record, head_reviewed=head_reviewed)
        settle_tx(tx, clock, task_id, target, reason, head_sha)

    await store.run(apply)


async def record_failed_review(
    store: Store, clock: Clock, target: ReviewTarget, head_sha: str, detail: str
) -> None:
    """Record a failed review and release the task, unless it had already moved on."""

    def apply(tx: Tx) -> None:
        assert target.pr_number is not None
        if get_task_tx(tx, target.task_id).state != TaskState.REVIEWING:
            # The outcome was recorded; a later step (a label, say) failed. Say so, change nothing.
            reason = f"after the review was recorded: {detail}"
            _note_tx(tx, clock, target, "review_error", reason)
            return
        failed = ReviewRecord(
            task_id=target.task_id,
            attempt=target.attempt,
            repo_id=target.repo_id,
            pr_number=target.pr_number,
            head_sha=head_sha,
            base_sha="",
            decision="none",
            outcome="error",
            reasons=(detail[:2000],),
        )
        # An error settles nothing: the head is reviewed again (reviewer/trigger.py).
        insert_review_tx(tx, clock, failed, head_reviewed=False)
        reason = f"review failed: {detail[:500]}"
        settle_tx(tx, clock, target.task_id, TaskState.PR_OPEN, reason)

    await store.run(apply)


def drop_review_lease_tx(tx: Tx, task_id: int) -> None:
    """Drop the task's review lease (its review ended, whoever held it)."""
    tx.execute("DELETE FROM leases WHERE name = ?", (review_lease(task_id),))


def _note_tx(tx: Tx, clock: Clock, target: ReviewTarget, kind: str, reason: str) -> None:
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
            "SELECT t.id FROM tasks t LEFT JOIN leases l ON l.name = ? || t.id"
            " WHERE t.state = ? AND (l.name IS NULL OR l.expires_at <= ?)",
            (REVIEW_LEASE_PREFIX, TaskState.REVIEWING, to_db(clock.now())),
        )
        stalled = [int(row["id"]) for row in rows]
        for task_id in stalled:
            settle_tx(tx, clock, task_id, TaskState.PR_OPEN, "the review stopped (lease expired)")
        return stalled

    return await store.run(recover)


async def tasks_due_for_post_merge(store: Store) -> list[int]:
    """Return merged tasks whose base branch has not been checked since the merge."""
    rows = await store.fetchall(
        "SELECT t.id FROM tasks t JOIN reviews r ON r.id = (SELECT MAX(id) FROM reviews"
        " WHERE task_id = t.id AND outcome IN (?, ?))"
        " WHERE t.state = ? AND r.post_merge IS NULL ORDER BY t.id",
        (*MERGE_OUTCOMES, TaskState.MERGED),
    )
    return [int(row["id"]) for row in rows]


async def read_merged_task(store: Store, task_id: int) -> MergedTask | None:
    """Read the task and its latest merging review; None when it has neither."""

    def read(tx: Tx) -> MergedTask | None:
        target = read_target_tx(tx, task_id)
        row = tx.fetchone(
            "SELECT id, outcome, merge_sha, post_merge FROM reviews WHERE task_id = ?"
            " AND outcome IN (?, ?) ORDER BY id DESC LIMIT 1",
            (task_id, *MERGE_OUTCOMES),
        )
        if target is None or row is None:
            return None
        review = MergeReview(row["id"], row["outcome"], row["merge_sha"], row["post_merge"])
        return MergedTask(target, review)

    return await store.run(read)


async def record_post_merge(
    store: Store, clock: Clock, merged: MergedTask, result: str, log: str
) -> None:
    """Record how the post-merge check ended on the review row, and note it on the task."""

    def apply(tx: Tx) -> None:
        _update_post_merge_tx(tx, clock, merged.review.review_id, result, log, None)
        _note_tx(tx, clock, merged.target, "post_merge_check", f"{result}: {log[:500]}")

    await store.run(apply)


async def record_revert(
    store: Store,
    clock: Clock,
    merged: MergedTask,
    *,
    revert_sha: str,
    log: str,
    reason: str,
    feedback: str,
) -> TaskState:
    """Record the revert: merged -> reverted -> queued (or needs_human); return the new state."""
    task_id = merged.target.task_id

    def apply(tx: Tx) -> TaskState:
        _update_post_merge_tx(tx, clock, merged.review.review_id, "reverted", log, revert_sha)
        return _fail_through_tx(
            tx, clock, task_id, TaskState.REVERTED, TaskState.MERGED, reason, feedback,
            outcome=" was reverted",
        )  # fmt: skip

    return await store.run(apply)


def _update_post_merge_tx(
    tx: Tx, clock: Clock, review_id: int, result: str, log: str, revert_sha: str | None
) -> None:
    tx.execute(
        "UPDATE reviews SET post_merge = ?, post_merge_log = ?, revert_sha = ?, updated_at = ?"
        " WHERE id = ?",
        (result, log[-POST_MERGE_LOG_CHARS:], revert_sha, to_db(clock.now()), review_id),
    )
