"""Verdict rules: phase 1 and BLOCKING criteria overrule the model; comments land in place."""

from __future__ import annotations

from app.policy import ReviewPolicy, RubricItem
from reviewer.rubric import DEFAULT_RUBRIC, Criterion, rubric_for
from reviewer.static.diff import commentable_lines, parse_diff
from reviewer.static.findings import Finding, Severity
from reviewer.verdict import (
    MAX_INLINE,
    Comment,
    Decision,
    ModelReview,
    blocking_phase1,
    decide,
    finding_comment,
)

RUBRIC = (Criterion("safe", "Is it safe?", True), Criterion("tidy", "Is it tidy?", False))
DIFF = "\n".join(
    [
        "diff --git a/pkg/mod.py b/pkg/mod.py",
        "--- a/pkg/mod.py",
        "+++ b/pkg/mod.py",
        "@@ -1,3 +1,4 @@",
        " import sys",
        "+import os",
        " ",
        " def f():",
    ]
)
FILES = parse_diff(DIFF)
COMMENTABLE = commentable_lines(FILES)


def model(decision: Decision = "approve", **criteria: bool) -> ModelReview:
    answers = {"safe": True, "tidy": True} | criteria
    return ModelReview(decision, "summary", answers)


def error(tool: str, path: str | None, line: int | None, severity: Severity = "error") -> Finding:
    return Finding(tool, "R1", severity, path, line, None, "bad")


def test_an_approval_with_everything_passing_stands() -> None:
    verdict = decide(model(), RUBRIC, 0, COMMENTABLE)
    assert (verdict.decision, verdict.reasons, verdict.overruled_model) == ("approve", (), False)


def test_phase1_errors_overrule_an_approval() -> None:
    verdict = decide(model(), RUBRIC, 2, COMMENTABLE)
    assert verdict.decision == "request_changes" and verdict.overruled_model
    assert "2 phase 1 error(s)" in verdict.reasons[0]


def test_a_failed_or_unanswered_blocking_criterion_overrules_an_approval() -> None:
    failed = decide(model(safe=False), RUBRIC, 0, COMMENTABLE)
    assert failed.decision == "request_changes"
    assert failed.reasons == ("BLOCKING criterion `safe` failed: Is it safe?",)
    silent = decide(ModelReview("approve", "s", {"tidy": True}), RUBRIC, 0, COMMENTABLE)
    assert silent.reasons == ("BLOCKING criterion `safe` was not answered: Is it safe?",)


def test_a_failed_non_blocking_criterion_does_not_block() -> None:
    assert decide(model(tidy=False), RUBRIC, 0, COMMENTABLE).decision == "approve"


def test_an_approval_with_a_blocking_finding_is_changed_to_request_changes() -> None:
    finding = Comment("pkg/mod.py", 2, "unused import", blocking=True)
    review = ModelReview("approve", "s", {"safe": True, "tidy": True}, (finding,))
    verdict = decide(review, RUBRIC, 0, COMMENTABLE)
    assert verdict.decision == "request_changes"
    assert verdict.reasons == ("1 blocking finding(s) from the review",)
    assert verdict.inline == (finding,)


def test_the_model_may_request_changes_on_its_own() -> None:
    verdict = decide(model("request_changes"), RUBRIC, 0, COMMENTABLE)
    assert verdict.reasons == ("the reviewer requested changes",)
    assert not verdict.overruled_model


def test_comments_off_the_diff_go_to_the_body() -> None:
    inside = Comment("pkg/mod.py", 2, "in the diff")
    context = Comment("pkg/mod.py", 4, "a context line is commentable too")
    outside = Comment("pkg/mod.py", 40, "not in any hunk")
    elsewhere = Comment("README.md", 1, "file not in the diff")
    whole_file = Comment("pkg/mod.py", None, "about the file")
    review = ModelReview(
        "approve", "s", {"safe": True}, (inside, context, outside, elsewhere, whole_file)
    )
    verdict = decide(review, RUBRIC, 0, COMMENTABLE)
    assert verdict.inline == (inside, context)
    assert verdict.body_comments == (outside, elsewhere, whole_file)


def test_inline_comments_are_capped_blocking_first_and_deduplicated() -> None:
    many = tuple(Comment("pkg/mod.py", 2, f"note {n}") for n in range(MAX_INLINE + 5))
    mechanical = [Comment("pkg/mod.py", 2, "ruff says no", blocking=True)]
    review = ModelReview("approve", "s", {"safe": True}, (*many, many[0]))
    verdict = decide(review, RUBRIC, 1, COMMENTABLE, mechanical=mechanical)
    assert len(verdict.inline) == MAX_INLINE and verdict.inline[0] == mechanical[0]
    assert len(verdict.inline) + len(verdict.body_comments) == len(many) + 1


def test_blocking_phase1_keeps_errors_in_changed_code_and_failed_runs() -> None:
    in_change = error("ruff", "pkg/mod.py", 2)
    untouched_line = error("mypy", "pkg/mod.py", 1)
    untouched_file = error("ruff", "other.py", 3)
    failing_test = error("pytest", "tests/test_other.py", 9)
    failed_build = error("build", None, None)
    crashed_analyser = error("mypy", None, None)
    warning = error("ruff", "pkg/mod.py", 2, severity="warning")
    found = blocking_phase1(
        [
            in_change,
            untouched_line,
            untouched_file,
            failing_test,
            failed_build,
            crashed_analyser,
            warning,
        ],
        FILES,
    )
    assert found == [in_change, failing_test, failed_build]


def test_a_phase1_finding_becomes_a_blocking_comment() -> None:
    comment = finding_comment(error("ruff", "pkg/mod.py", 2))
    assert comment == Comment("pkg/mod.py", 2, "**ruff** `R1`: bad", blocking=True)
    assert finding_comment(error("build", None, None)).path == ""


def test_a_repository_rubric_replaces_or_extends_the_default() -> None:
    own = (RubricItem("has-tests", "Tests?", True),)
    assert rubric_for(ReviewPolicy()) == DEFAULT_RUBRIC
    assert rubric_for(ReviewPolicy(criteria=own)) == (Criterion("has-tests", "Tests?", True),)
    extended = rubric_for(ReviewPolicy(criteria=own, extend=True))
    assert extended[: len(DEFAULT_RUBRIC)] == DEFAULT_RUBRIC
    assert extended[-1].id == "has-tests"
    relaxed = (RubricItem("names", "Names?", True),)
    overridden = rubric_for(ReviewPolicy(criteria=relaxed, extend=True))
    assert [c for c in overridden if c.id == "names"] == [Criterion("names", "Names?", True)]
