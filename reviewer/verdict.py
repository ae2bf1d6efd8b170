"""Verdict rules, pure: mechanical failures and failed BLOCKING criteria overrule the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from reviewer.rubric import Criterion

Decision = Literal["approve", "request_changes"]


@dataclass(frozen=True)
class Comment:
    """A review comment on one line of the new file."""

    path: str
    line: int
    body: str
    blocking: bool = False


@dataclass(frozen=True)
class ModelReview:
    """What the model answered through the review tool."""

    decision: Decision
    summary: str
    criteria: Mapping[str, bool]  # criterion id -> passed
    comments: tuple[Comment, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The final decision, why, and where each comment goes."""

    decision: Decision
    reasons: tuple[str, ...]
    inline: tuple[Comment, ...] = field(default_factory=tuple)
    body_comments: tuple[Comment, ...] = field(default_factory=tuple)
    overruled_model: bool = False


def decide(
    review: ModelReview,
    rubric: Iterable[Criterion],
    errors_in_changed_code: int,
    commentable: Mapping[str, set[int]],
) -> Verdict:
    """Combine phase 1 and the model's review into the verdict.

    Any phase 1 error in changed code, any failed or unanswered BLOCKING criterion, or any
    blocking comment means request_changes, whatever the model decided. Comments on lines the
    diff does not show cannot be posted inline (GitHub answers 422), so they go in the body.
    """
    reasons: list[str] = []
    if errors_in_changed_code:
        reasons.append(f"{errors_in_changed_code} static-analysis error(s) in changed code")
    for criterion in rubric:
        if criterion.blocking and not review.criteria.get(criterion.id, False):
            answered = criterion.id in review.criteria
            reasons.append(
                f"BLOCKING criterion `{criterion.id}` "
                f"{'failed' if answered else 'was not answered'}: {criterion.question}"
            )
    blocking_comments = [c for c in review.comments if c.blocking]
    if blocking_comments:
        reasons.append(f"{len(blocking_comments)} blocking finding(s) from the review")
    if review.decision == "request_changes" and not reasons:
        reasons.append("the reviewer requested changes")
    decision: Decision = "request_changes" if reasons else "approve"
    inline = tuple(c for c in review.comments if c.line in commentable.get(c.path, set()))
    body = tuple(c for c in review.comments if c not in inline)
    return Verdict(
        decision=decision,
        reasons=tuple(reasons),
        inline=inline,
        body_comments=body,
        overruled_model=decision != review.decision,
    )
