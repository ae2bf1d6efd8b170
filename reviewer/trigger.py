"""When a task's PR needs the reviewer: pure predicates over the task and its past reviews."""

from __future__ import annotations

from collections.abc import Sequence

from app.store.reviews import MERGE_OUTCOMES, PastReview, ReviewOutcome
from app.taskstate import TaskState

# Outcomes that settle a head: it is never reviewed again. A stale head was never judged, and
# an error is retried, up to MAX_ERRORS times per head.
SETTLED: frozenset[ReviewOutcome] = frozenset(
    {
        "merged",
        "changes_requested",
        "awaiting_maintainer",
        "awaiting_checks",
        "checks_failed",
        "merge_refused",
        "conflict",
        "closed",
    }
)
# Settled outcomes that leave nothing more to do for the head; `pull_requests.reviewed_sha`
# is set only for these, so a head that waits for its checks is offered to the reviewer again.
DONE: frozenset[ReviewOutcome] = SETTLED - {"awaiting_checks"}
MAX_ERRORS = 3


def head_is_done(outcome: ReviewOutcome) -> bool:
    """Return whether a review with this outcome leaves nothing more to do for its head."""
    return outcome in DONE


def needs_review(state: str, head_sha: str | None, past: Sequence[PastReview]) -> bool:
    """Return whether the task's PR head is open for review and has not been reviewed yet."""
    if state != TaskState.PR_OPEN or not head_sha:
        return False
    of_head = [review for review in past if review.head_sha == head_sha]
    if any(review.outcome in SETTLED for review in of_head):
        return False
    return sum(1 for review in of_head if review.outcome == "error") < MAX_ERRORS


def needs_merge(state: str, head_sha: str | None, past: Sequence[PastReview]) -> bool:
    """Return whether the head was approved and only waits for its checks before merging."""
    if state != TaskState.PR_OPEN or not head_sha:
        return False
    of_head = [review for review in past if review.head_sha == head_sha]
    return bool(of_head) and of_head[-1].outcome == "awaiting_checks"


def needs_post_merge_check(state: str, outcome: str | None, post_merge: str | None) -> bool:
    """Return whether a merged task's base branch still has to be built and tested again."""
    return state == TaskState.MERGED and outcome in MERGE_OUTCOMES and post_merge is None
