"""What one call of the reviewer returns to the CEO: how it ended, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewResult:
    """How one reviewer call ended: a review outcome (app/store/reviews.py) or "skipped"."""

    task_id: int
    outcome: str
    detail: str = ""
    head_sha: str | None = None
    merge_sha: str | None = None
    post_merge: str | None = None
