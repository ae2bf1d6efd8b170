"""Verdict rules, pure: mechanical failures and failed BLOCKING criteria overrule the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from reviewer.rubric import Criterion
from reviewer.static.diff import FileDiff
from reviewer.static.findings import COULD_NOT_RUN, Finding
from reviewer.static.report import findings_in_changed_code

Decision = Literal["approve", "request_changes"]

# GitHub shows every inline comment in the conversation; past this many the rest go in the body.
MAX_INLINE = 30
# Runs whose errors block wherever they are reported: a test, build or setup that fails on the
# merged tree breaks the base branch even when the failure shows in a file the change did not
# touch, or in no file at all. (The post-merge check reverts anything that breaks the base, so
# such failures are new.) A static analyser that crashes without locating anything (a plugin
# missing from the sandbox, say) is shown to the reviewer but does not block by itself.
RUN_WIDE_TOOLS = frozenset({"pytest", "setup", "build", "test"})


@dataclass(frozen=True)
class Comment:
    """A review comment on one line of the new file (`line` None: about the whole file)."""

    path: str
    line: int | None
    body: str
    blocking: bool = False


@dataclass(frozen=True)
class ModelReview:
    """What the model answered through the review tool."""

    decision: Decision
    summary: str
    criteria: Mapping[str, bool]  # criterion id -> passed
    comments: tuple[Comment, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)  # criterion id -> why


@dataclass(frozen=True)
class Verdict:
    """The final decision, why, and where each comment goes."""

    decision: Decision
    reasons: tuple[str, ...]
    inline: tuple[Comment, ...] = field(default_factory=tuple)
    body_comments: tuple[Comment, ...] = field(default_factory=tuple)
    overruled_model: bool = False


def blocking_phase1(findings: Iterable[Finding], diff: Sequence[FileDiff]) -> list[Finding]:
    """Return the phase 1 errors that block a merge."""
    # An error blocks when it sits in changed code or comes from a test, build or setup run.
    # Errors in untouched code (a pre-existing lint error, say) are left to the rubric review.
    # A required analyser or command that could not run blocks too: nothing was checked.
    errors = [finding for finding in findings if finding.severity == "error"]
    in_changed = set(findings_in_changed_code(errors, diff))
    return [
        f for f in errors if f in in_changed or f.tool in RUN_WIDE_TOOLS or f.rule == COULD_NOT_RUN
    ]


def finding_comment(finding: Finding) -> Comment:
    """Return a blocking review comment for a phase 1 finding."""
    rule = f" `{finding.rule}`" if finding.rule else ""
    return Comment(
        finding.path or "",
        finding.line,
        f"**{finding.tool}**{rule}: {finding.message}",
        blocking=True,
    )


def decide(
    review: ModelReview,
    rubric: Iterable[Criterion],
    errors_in_changed_code: int,
    commentable: Mapping[str, set[int]],
    mechanical: Sequence[Comment] = (),
) -> Verdict:
    """Combine phase 1 and the model's review into the verdict."""
    # Any blocking phase 1 error, any failed or unanswered BLOCKING criterion, or any blocking
    # comment means request_changes, whatever the model decided. Comments on lines the diff
    # does not show cannot be posted inline (GitHub answers 422), so they go in the body, as do
    # those past MAX_INLINE. `mechanical` are phase 1 findings to show as comments.
    reasons: list[str] = []
    if errors_in_changed_code:
        reasons.append(
            f"{errors_in_changed_code} phase 1 error(s): static analysis or diff checks on "
            "changed code, or a failing test or build"
        )
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
    comments = _unique([*mechanical, *review.comments])
    placeable = [c for c in comments if c.line in commentable.get(c.path, set())]
    # Blocking comments first, so a cap never hides the reason for a rejection.
    placeable.sort(key=lambda c: not c.blocking)
    inline = tuple(placeable[:MAX_INLINE])
    body = tuple(c for c in comments if c not in inline)
    return Verdict(
        decision=decision,
        reasons=tuple(reasons),
        inline=inline,
        body_comments=body,
        overruled_model=decision != review.decision,
    )


def _unique(comments: Iterable[Comment]) -> list[Comment]:
    """Drop repeated comments (same place and text); a blocking copy wins over a plain one."""
    seen: dict[tuple[str, int | None, str], Comment] = {}
    for comment in comments:
        key = (comment.path, comment.line, comment.body.strip())
        if key not in seen or (comment.blocking and not seen[key].blocking):
            seen[key] = comment
    return list(seen.values())
