"""What survives a reviewer's crash: verdicts stored before posting, and merges not yet recorded.

A review is posted once per head. Its verdict, with everything it posts, is stored as a
`decided` row before the post, so a reviewer that died afterwards (or whose merge failed) acts
on that verdict when the head is taken up again instead of asking the model and posting again.
A merge made by Townhall whose recording a crash cut off is recognised afterwards by its
merger (the App) and its head, and recorded as Townhall's merge, so it gets its post-merge check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, cast

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.reviews import (
    ACTOR,
    DECIDED,
    DecidedReview,
    ReviewDraft,
    ReviewOutcome,
    ReviewRecord,
    drop_review_lease_tx,
    insert_review_tx,
)
from app.store.tasks import transition_tx
from app.store.times import to_db
from app.taskstate import TaskState

OWN_MERGE_STATES = (TaskState.PR_OPEN, TaskState.REVIEWING)
UNRECORDED_VERDICT = "merged by Townhall; the review that approved it was not recorded"


def merged_by_app(merged_by: str | None, app_login: str) -> bool:
    """Return whether a PR's merger is the App itself (so the merge was Townhall's)."""
    return bool(merged_by and app_login) and str(merged_by).lower() == app_login.lower()


def record_decided_tx(tx: Tx, clock: Clock, decided: DecidedReview) -> int:
    """Store a verdict and its draft as the head's `decided` row; return the row id."""
    record = decided.record
    if record.outcome != DECIDED:
        raise ValueError(f"a decided review has outcome {DECIDED!r}, not {record.outcome!r}")
    review_id = insert_review_tx(tx, clock, record, head_reviewed=False)
    draft = asdict(decided.draft) | {"comments": [dict(c) for c in decided.draft.comments]}
    tx.execute(
        "UPDATE reviews SET draft = ?, updated_at = ? WHERE id = ?",
        (json.dumps(draft), to_db(clock.now()), review_id),
    )
    return review_id


async def record_decided(store: Store, clock: Clock, decided: DecidedReview) -> int:
    """Store a verdict before its review is posted (see record_decided_tx)."""
    return await store.run(lambda tx: record_decided_tx(tx, clock, decided))


def read_decided_tx(tx: Tx, task_id: int, head_sha: str) -> DecidedReview | None:
    """Return the verdict stored for the head and not yet acted on, or None."""
    row = tx.fetchone(
        "SELECT * FROM reviews WHERE task_id = ? AND head_sha = ? AND outcome = ?"
        " AND draft IS NOT NULL ORDER BY id DESC LIMIT 1",
        (task_id, head_sha, DECIDED),
    )
    if row is None:
        return None
    draft = json.loads(row["draft"])
    return DecidedReview(
        _record_of(row),
        ReviewDraft(
            event=str(draft["event"]),
            body=str(draft["body"]),
            comments=tuple(cast(Mapping[str, object], c) for c in draft["comments"]),
            feedback=str(draft["feedback"]),
            maintainer=bool(draft["maintainer"]),
        ),
    )


async def read_decided(store: Store, task_id: int, head_sha: str) -> DecidedReview | None:
    """Return the verdict stored for the head and not yet acted on, or None."""
    return await store.run(lambda tx: read_decided_tx(tx, task_id, head_sha))


def record_own_merge_tx(
    tx: Tx, clock: Clock, task_id: int, *, head_sha: str, merge_sha: str | None
) -> ReviewRecord:
    """Record a merge of `head_sha` that Townhall made but a crash kept from being recorded.

    The caller has checked that the App merged the PR. The approving review of that head
    becomes the `merged` row (a bare one when the store has none), the task moves to merged,
    and the merge is then due for its post-merge check like any other.
    """
    task = tx.fetchone("SELECT attempt, repo_id, pr_number FROM tasks WHERE id = ?", (task_id,))
    if task is None or task["pr_number"] is None:
        raise ValueError(f"task {task_id} has no pull request")
    row = tx.fetchone(
        "SELECT * FROM reviews WHERE task_id = ? AND head_sha = ? AND decision = 'approve'"
        " AND outcome != 'error' ORDER BY id DESC LIMIT 1",
        (task_id, head_sha),
    )
    approved = (
        _record_of(row)
        if row is not None
        else ReviewRecord(
            task_id=task_id,
            attempt=task["attempt"],
            repo_id=task["repo_id"],
            pr_number=task["pr_number"],
            head_sha=head_sha,
            base_sha="",
            decision="approve",
            outcome="merged",
            reasons=(UNRECORDED_VERDICT,),
        )
    )
    merged = ReviewRecord(**{**asdict(approved), "outcome": "merged", "merge_sha": merge_sha})
    insert_review_tx(tx, clock, merged, head_reviewed=True)
    reason = (
        f"merged {head_sha[:12]} as {(merge_sha or '?')[:12]} by Townhall"
        " (recorded after the reviewer stopped before it could)"
    )
    transition_tx(
        tx, clock, task_id, TaskState.MERGED, actor=ACTOR, reason=reason,
        expect=list(OWN_MERGE_STATES), head_sha=head_sha,
    )  # fmt: skip
    drop_review_lease_tx(tx, task_id)
    return merged


async def record_own_merge(
    store: Store, clock: Clock, task_id: int, *, head_sha: str, merge_sha: str | None
) -> ReviewRecord:
    """Record Townhall's unrecorded merge of the task's PR (see record_own_merge_tx)."""
    return await store.run(
        lambda tx: record_own_merge_tx(tx, clock, task_id, head_sha=head_sha, merge_sha=merge_sha)
    )


def _record_of(row: Mapping[str, Any]) -> ReviewRecord:
    report = row["static_report"]
    return ReviewRecord(
        task_id=row["task_id"],
        attempt=row["attempt"],
        repo_id=row["repo_id"],
        pr_number=row["pr_number"],
        head_sha=row["head_sha"],
        base_sha=row["base_sha"],
        decision=row["decision"],
        outcome=cast(ReviewOutcome, row["outcome"]),
        reasons=tuple(json.loads(row["reasons"])),
        model_decision=row["model_decision"],
        overruled=bool(row["overruled"]),
        criteria=json.loads(row["criteria"]),
        static_report=json.loads(report) if report is not None else None,
        github_review_id=row["github_review_id"],
        review_event=row["review_event"],
        merge_sha=row["merge_sha"],
    )
