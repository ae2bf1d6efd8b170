"""The review rubric: binary criteria, BLOCKING or not, as data a repository may replace."""

from __future__ import annotations

from dataclasses import dataclass

from app.policy import ReviewPolicy


@dataclass(frozen=True)
class Criterion:
    """One yes/no question the reviewer answers about a change."""

    id: str
    question: str
    blocking: bool


DEFAULT_RUBRIC: tuple[Criterion, ...] = (
    Criterion("no-errors", "Are the changed files free of errors (phase 1 and by reading)?", True),
    Criterion(
        "imports-resolve",
        "Do all imports resolve, with every new dependency declared in the manifest?",
        True,
    ),
    Criterion("no-secrets", "Is the change free of hard-coded secrets, keys and tokens?", True),
    Criterion(
        "no-injection",
        "Is the change free of injection and other OWASP top-10 issues "
        "(untrusted input reaching SQL, shell, paths, HTML or deserialisation unchecked)?",
        True,
    ),
    Criterion("does-what-asked", "Does the change do what the issue asked, and no more?", True),
    Criterion("bounded", "Are all loops and recursion bounded, with no way to spin forever?", True),
    Criterion("names", "Are names clear and consistent with the codebase?", False),
    Criterion("no-dead-code", "Is the change free of dead or commented-out code?", False),
    Criterion("error-handling", "Are errors handled where they can happen?", False),
)


def render_rubric(rubric: tuple[Criterion, ...]) -> str:
    """Render the rubric for the reviewer's prompt."""
    return "\n".join(
        f"- `{c.id}` ({'BLOCKING' if c.blocking else 'non-blocking'}): {c.question}" for c in rubric
    )


def rubric_for(review: ReviewPolicy) -> tuple[Criterion, ...]:
    """Return the repository's rubric: the default, its own criteria, or the default plus them."""
    own = tuple(Criterion(item.id, item.question, item.blocking) for item in review.criteria)
    if not own:
        return DEFAULT_RUBRIC
    if not review.extend:
        return own
    replaced = {criterion.id for criterion in own}
    return tuple(c for c in DEFAULT_RUBRIC if c.id not in replaced) + own
