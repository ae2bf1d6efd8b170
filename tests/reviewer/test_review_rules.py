"""When the reviewer acts, how checks are judged, what it writes, and crash recovery."""

from __future__ import annotations

from datetime import timedelta

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.reviews import PastReview, claim_tx, recover_stalled_reviews, send_back_tx
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState
from reviewer.actions import combine_checks
from reviewer.messages import comment_list, inline_payload, review_body, worker_feedback
from reviewer.rubric import Criterion
from reviewer.static.report import StaticReport
from reviewer.trigger import MAX_ERRORS, needs_merge, needs_post_merge_check, needs_review
from reviewer.verdict import Comment, ModelReview, Verdict

REPORT: StaticReport = {
    "errors": 1,
    "warnings": 0,
    "findings": [
        {
            "tool": "ruff",
            "rule": "F401",
            "severity": "error",
            "path": "m.py",
            "line": 1,
            "column": 8,
            "message": "`os` imported but unused",
        }
    ],
    "passed": False,
    "durations": {"ruff": 0.1},
    "skipped": {},
    "tools": {"ruff": "failed"},
}


def test_a_head_is_reviewed_once() -> None:
    assert needs_review("pr_open", "abc", [])
    assert not needs_review("pr_open", "abc", [PastReview("abc", "changes_requested")])
    assert needs_review("pr_open", "def", [PastReview("abc", "changes_requested")])
    assert not needs_review("reviewing", "abc", []) and not needs_review("pr_open", None, [])


def test_errors_and_stale_heads_are_retried_up_to_a_limit() -> None:
    assert needs_review("pr_open", "abc", [PastReview("abc", "stale_head")])
    errors = [PastReview("abc", "error")] * (MAX_ERRORS - 1)
    assert needs_review("pr_open", "abc", errors)
    assert not needs_review("pr_open", "abc", [*errors, PastReview("abc", "error")])


def test_only_an_approval_waiting_for_checks_needs_a_merge() -> None:
    waiting = [PastReview("abc", "awaiting_checks")]
    assert needs_merge("pr_open", "abc", waiting)
    assert not needs_merge("pr_open", "new", waiting)
    assert not needs_merge("pr_open", "abc", [*waiting, PastReview("abc", "merged")])
    assert not needs_merge("pr_open", "abc", [PastReview("abc", "awaiting_maintainer")])


def test_a_merged_task_is_checked_once_after_the_merge() -> None:
    assert needs_post_merge_check("merged", "merged", None)
    assert needs_post_merge_check("merged", "awaiting_maintainer", None)
    assert not needs_post_merge_check("merged", "merged", "passed")
    assert not needs_post_merge_check("reverted", "merged", None)
    assert not needs_post_merge_check("merged", "changes_requested", None)


def test_checks_fail_on_any_failure_and_wait_on_anything_running() -> None:
    assert combine_checks([], []) == ("passing", [])
    assert combine_checks([("ci", "success")], [("lint", "completed", "neutral")]) == (
        "passing",
        [],
    )
    # Statuses come newest first: the latest per context counts.
    assert combine_checks([("ci", "success"), ("ci", "failure")], []) == ("passing", [])
    assert combine_checks([("ci", "pending")], [("lint", "in_progress", None)]) == (
        "pending",
        ["ci", "lint"],
    )
    assert combine_checks(
        [("ci", "pending")], [("lint", "completed", "timed_out"), ("e2e", "queued", None)]
    ) == ("failing", ["lint"])


def test_inline_comments_use_the_new_side_and_mark_blocking_ones() -> None:
    comments = [Comment("m.py", 3, "why?"), Comment("m.py", 4, "broken", blocking=True)]
    assert inline_payload(comments) == [
        {"path": "m.py", "line": 3, "side": "RIGHT", "body": "why?"},
        {"path": "m.py", "line": 4, "side": "RIGHT", "body": "**Blocking:** broken"},
    ]
    assert comment_list([Comment("", None, "build failed\nlog")]) == "- build failed\n  log"


def test_the_review_body_and_the_feedback_say_why() -> None:
    rubric = (Criterion("safe", "Safe?", True), Criterion("tidy", "Tidy?", False))
    model = ModelReview("approve", "Looks fine.", {"safe": True}, notes={"safe": "no | risk"})
    outside = Comment("README.md", 9, "typo", blocking=False)
    verdict = Verdict(
        "request_changes",
        ("1 phase 1 error(s)",),
        inline=(Comment("m.py", 1, "**ruff** `F401`: unused", blocking=True),),
        body_comments=(outside,),
        overruled_model=True,
    )
    body = review_body(
        verdict, model, rubric, REPORT, head_sha="h1", base_branch="main", base_sha="b1"
    )
    assert body.startswith("### Townhall review: changes requested\n\nLooks fine.")
    assert "- 1 phase 1 error(s)" in body
    assert "| `safe` | yes | pass | no \\| risk |" in body
    assert "| `tidy` | no | unanswered |" in body
    assert "- error: ruff `F401` `m.py:1`: `os` imported but unused" in body
    assert "`README.md:9`: typo" in body
    assert "The model approved; the rules above overrule it." in body
    feedback = worker_feedback(verdict, 12, "h1")
    assert feedback.startswith("The reviewer requested changes on PR #12 (head h1).")
    assert "`m.py:1`: **Blocking:** **ruff** `F401`: unused" in feedback
    assert "`README.md:9`: typo" in feedback


def seed(store: Store, clock: ManualClock, attempt: int, max_attempts: int) -> None:
    def apply(tx: Tx) -> None:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        task = create_task_tx(
            tx, clock, repo_id=1, issue_number=5, max_attempts=max_attempts, priority=0,
            actor="t", reason="t",
        )  # fmt: skip
        for state in (TaskState.PLANNED, TaskState.QUEUED):
            transition_tx(tx, clock, task.id, state, actor="t", reason="t")
        transition_tx(tx, clock, task.id, TaskState.RUNNING, actor="t", reason="t", attempt=attempt)
        transition_tx(tx, clock, task.id, TaskState.PR_OPEN, actor="t", reason="t", pr_number=2)

    store.run_sync(apply)


async def test_a_dead_reviewers_task_returns_to_pr_open(store: Store, clock: ManualClock) -> None:
    seed(store, clock, attempt=1, max_attempts=3)
    assert await store.run(lambda tx: claim_tx(tx, clock, 1, "abc", "r1"))
    assert not await store.run(lambda tx: claim_tx(tx, clock, 1, "abc", "r2"))
    assert await recover_stalled_reviews(store, clock) == []  # the lease is live

    clock.advance(timedelta(hours=1))
    assert await recover_stalled_reviews(store, clock) == [1]

    assert await store.fetchone("SELECT state FROM tasks") == {"state": "pr_open"}
    assert await store.fetchall("SELECT name FROM leases") == []


async def test_sending_back_the_last_attempt_needs_a_person(
    store: Store, clock: ManualClock
) -> None:
    seed(store, clock, attempt=2, max_attempts=2)
    await store.run(lambda tx: claim_tx(tx, clock, 1, "abc", "r1"))
    target = await store.run(lambda tx: send_back_tx(tx, clock, 1, "changes requested", "fix"))
    assert target == TaskState.NEEDS_HUMAN
    row = await store.fetchone("SELECT state, feedback FROM tasks")
    assert row == {"state": "needs_human", "feedback": "fix"}
