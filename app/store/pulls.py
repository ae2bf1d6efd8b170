"""Pull request rows of Townhall's own PRs, each pointing at the task whose work it carries.

A PR is Townhall's only when the App opened it from a `townhall/issue-N` branch of the base
repository itself: anyone can name a fork's branch that way, and a PR taken for a task's would
have its number and head reviewed and merged in the task's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.store.db import Tx
from app.store.times import to_db
from app.taskstate import TaskState

TOWNHALL_BRANCH_PREFIX = "townhall/issue-"
# GitHub's author_association values of people who hold a role on the repository itself.
ROLE_HOLDERS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# A task in these states has a current PR that only a newer event about that PR may replace.
_PR_BOUND = (TaskState.PR_OPEN, TaskState.REVIEWING)


def issue_number_of_branch(ref: str) -> int | None:
    """Return N for Townhall's branch `townhall/issue-N`, else None."""
    if not ref.startswith(TOWNHALL_BRANCH_PREFIX):
        return None
    tail = ref.removeprefix(TOWNHALL_BRANCH_PREFIX)
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class PullRequestRecord:
    """A pull request as GitHub last described it; `state` is open, closed or merged."""

    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    state: str
    merged: bool
    merge_sha: str | None
    author: str
    author_association: str
    # The head branch lives in the base repository (not in a fork).
    same_repository: bool

    @staticmethod
    def from_github(pull: Mapping[str, Any]) -> PullRequestRecord:
        """Read a REST pull request (webhook payload, or a model dumped as JSON)."""
        merged = bool(pull.get("merged"))
        head_repo = pull["head"].get("repo") or {}
        base_repo = pull["base"].get("repo") or {}
        return PullRequestRecord(
            number=int(pull["number"]),
            head_ref=pull["head"]["ref"],
            head_sha=pull["head"]["sha"],
            base_ref=pull["base"]["ref"],
            state="merged" if merged else pull["state"],
            merged=merged,
            merge_sha=pull.get("merge_commit_sha"),
            author=str((pull.get("user") or {}).get("login") or ""),
            author_association=str(pull.get("author_association") or "NONE"),
            # A fork whose repository was deleted has no head repository: not ours either.
            same_repository=head_repo.get("id") is not None
            and head_repo.get("id") == base_repo.get("id"),
        )

    def on_townhall_branch(self) -> bool:
        """Whether the head is a `townhall/issue-N` branch of the base repository itself."""
        return self.same_repository and issue_number_of_branch(self.head_ref) is not None

    def is_townhalls(self, app_login: str) -> bool:
        """Whether Townhall opened this PR: the App's login, on its branch, in the base repo."""
        by_app = bool(app_login) and self.author.lower() == app_login.lower()
        return by_app and self.on_townhall_branch()

    def claims_files(self, app_login: str) -> bool:
        """Whether this PR holds its files against queued tasks.

        Townhall's own PRs do, and so do those of people with a role on the repository; an
        outsider's PR never does, or anyone could stop voted work by opening one.
        """
        by_app = bool(app_login) and self.author.lower() == app_login.lower()
        return by_app or self.author_association in ROLE_HOLDERS


def upsert_pull_request_tx(
    tx: Tx, clock: Clock, repo_id: int, pull: PullRequestRecord, app_login: str
) -> int | None:
    """Record a PR Townhall opened; return its task id (None, and nothing kept, if not ours)."""
    issue_number = issue_number_of_branch(pull.head_ref)
    if issue_number is None or not pull.is_townhalls(app_login):
        return None
    task_id = tx.scalar(
        "SELECT id FROM tasks WHERE repo_id = ? AND issue_number = ?", (repo_id, issue_number)
    )
    tx.execute(
        "INSERT INTO pull_requests (repo_id, number, task_id, head_ref, head_sha, base_ref, state,"
        " merged, merge_sha, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, number) DO UPDATE SET task_id = excluded.task_id,"
        " head_sha = excluded.head_sha, state = excluded.state, merged = excluded.merged,"
        " merge_sha = excluded.merge_sha, updated_at = excluded.updated_at",
        (
            repo_id,
            pull.number,
            task_id,
            pull.head_ref,
            pull.head_sha,
            pull.base_ref,
            pull.state,
            1 if pull.merged else 0,
            pull.merge_sha,
            to_db(clock.now()),
        ),
    )
    if task_id is not None and pull.state == "open":
        # Only an open PR is the task's current one: a late event about a superseded draft
        # must not point the task back at it.
        tx.execute(
            "UPDATE tasks SET pr_number = ?, head_sha = ?, branch = ? WHERE id = ?"
            " AND (pr_number IS NULL OR pr_number = ? OR state NOT IN (?, ?))",
            (pull.number, pull.head_sha, pull.head_ref, task_id, pull.number, *_PR_BOUND),
        )
    return None if task_id is None else int(task_id)


def record_review_state_tx(
    tx: Tx, clock: Clock, repo_id: int, pr_number: int, review_state: str
) -> None:
    """Remember the latest review state (approved, commented, ...) of a pull request."""
    tx.execute(
        "UPDATE pull_requests SET last_review_state = ?, updated_at = ?"
        " WHERE repo_id = ? AND number = ?",
        (review_state, to_db(clock.now()), repo_id, pr_number),
    )
