"""The reviewer's GitHub side: read the PR and its checks, post the review, merge, label, comment.

Thin I/O over githubkit; the decisions are made by the caller from pure functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from githubkit.exception import RequestFailed

from app.github.client import Client
from reviewer.texts import OWN_PR_NOTE

ChecksState = Literal["passing", "pending", "failing"]
ReviewEvent = Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"]
MergeStatus = Literal["merged", "conflict", "stale_head", "refused"]
MergeMethod = Literal["squash", "merge", "rebase"]

# GitHub computes `mergeable` in the background; a fresh PR may answer null for a moment.
MERGEABLE_TRIES = 3
MERGEABLE_PAUSE = 1.0
_FAILING_CONCLUSIONS = {"failure", "timed_out", "cancelled", "action_required", "startup_failure"}
_OWN_PR = "own pull request"
REVIEWS_PER_PAGE = 100
# Ends every review Townhall posts, so a restart finds the review it already posted on a head
# (with the App as its author: anyone can paste the marker into their own review).
REVIEW_MARKER = "<!-- townhall:review head={head_sha} -->"
_EVENT_OF_STATE: dict[str, ReviewEvent] = {
    "APPROVED": "APPROVE",
    "CHANGES_REQUESTED": "REQUEST_CHANGES",
    "COMMENTED": "COMMENT",
}


@dataclass(frozen=True)
class PullState:
    """The live facts of a pull request the reviewer acts on."""

    number: int
    open: bool
    merged: bool
    merge_sha: str | None
    head_sha: str
    head_ref: str
    base_ref: str
    mergeable: bool | None
    title: str
    merged_by: str | None = None  # the login that merged it


@dataclass(frozen=True)
class PostedReview:
    """A review on GitHub and the event it was posted with."""

    id: int
    event: ReviewEvent


@dataclass(frozen=True)
class MergeResult:
    """How a merge request ended; `sha` is the merge commit when merged."""

    status: MergeStatus
    sha: str | None
    message: str


def combine_checks(
    statuses: Sequence[tuple[str, str]], runs: Sequence[tuple[str, str, str | None]]
) -> tuple[ChecksState, list[str]]:
    """Judge a head's statuses and check runs; return the state and the checks behind it."""
    # Failing names the failing checks, pending the unfinished ones. No checks at all is
    # passing: a repository without CI has nothing to wait for.
    latest: dict[str, str] = {}
    for context, state in statuses:
        latest.setdefault(context, state)  # GitHub lists statuses newest first
    failing = [c for c, state in latest.items() if state in ("failure", "error")]
    failing += [n for n, _, conclusion in runs if conclusion in _FAILING_CONCLUSIONS]
    if failing:
        return "failing", failing
    pending = [c for c, state in latest.items() if state == "pending"]
    pending += [n for n, status, _ in runs if status != "completed"]
    return ("pending", pending) if pending else ("passing", [])


async def read_pull(client: Client, owner: str, repo: str, number: int) -> PullState:
    """Read the PR, waiting briefly while GitHub still computes whether it is mergeable."""
    for attempt in range(MERGEABLE_TRIES):
        response = await client.rest.pulls.async_get(owner, repo, number)
        pull = response.parsed_data
        if pull.mergeable is not None or pull.state != "open" or attempt == MERGEABLE_TRIES - 1:
            break
        await asyncio.sleep(MERGEABLE_PAUSE)
    # 2022-11-28 (app/github/client.py) still has `merge_commit_sha`; 2026-03-10 removed it.
    merge_sha = pull.merge_commit_sha
    return PullState(
        number=pull.number,
        open=pull.state == "open",
        merged=bool(pull.merged),
        merge_sha=merge_sha if pull.merged and isinstance(merge_sha, str) else None,
        head_sha=pull.head.sha,
        head_ref=pull.head.ref,
        base_ref=pull.base.ref,
        mergeable=pull.mergeable,
        title=pull.title,
        merged_by=pull.merged_by.login if pull.merged and pull.merged_by else None,
    )


async def read_checks(
    client: Client, owner: str, repo: str, sha: str
) -> tuple[ChecksState, list[str]]:
    """Return the combined state of the statuses and check runs on `sha`."""
    statuses: list[tuple[str, str]] = []
    try:
        combined = (
            await client.rest.repos.async_get_combined_status_for_ref(owner, repo, sha)
        ).parsed_data
        statuses = [(s.context, s.state) for s in combined.statuses]
    except RequestFailed as error:
        # Without the `statuses` permission the combined status is unreadable; check runs,
        # which GitHub Actions and most CI report, still are.
        if error.response.status_code not in (403, 404):
            raise
    runs_page = (
        await client.rest.checks.async_list_for_ref(owner, repo, sha, per_page=100)
    ).parsed_data
    runs = [(run.name, run.status, run.conclusion) for run in runs_page.check_runs]
    return combine_checks(statuses, runs)


async def post_review(
    client: Client,
    owner: str,
    repo: str,
    number: int,
    *,
    event: ReviewEvent,
    body: str,
    comments: list[dict[str, Any]],
    commit_id: str,
) -> PostedReview:
    """Post one review, so the verdict is published exactly once whatever GitHub refuses."""
    # GitHub answers 422 when an app reviews its own PR with APPROVE or REQUEST_CHANGES (then a
    # COMMENT review says the same) and when an inline comment is off the diff (then the
    # comments move into the body).
    for _ in range(3):
        try:
            return await _create_review(
                client, owner, repo, number, event, body, comments, commit_id
            )
        except RequestFailed as error:
            if error.response.status_code != 422:
                raise
            detail = error.response.text
        if _OWN_PR in detail and event != "COMMENT":
            action = "approve" if event == "APPROVE" else "request changes on"
            body += OWN_PR_NOTE.format(action=action)
            event = "COMMENT"
        elif comments:
            listed = "\n".join(f"- `{c['path']}:{c['line']}`: {c['body']}" for c in comments)
            body += f"\n\n{listed}"
            comments = []
        else:
            break
    raise RuntimeError(f"GitHub refused the review: {detail[:500]}")


async def find_review(
    client: Client, owner: str, repo: str, number: int, *, author: str, head_sha: str
) -> PostedReview | None:
    """Return the review `author` posted on head `head_sha` with Townhall's marker, if any."""
    marker = REVIEW_MARKER.format(head_sha=head_sha)
    page = 1
    while True:
        response = await client.rest.pulls.async_list_reviews(
            owner, repo, number, per_page=REVIEWS_PER_PAGE, page=page
        )
        reviews: list[dict[str, Any]] = response.json()
        for review in reviews:
            login = str((review.get("user") or {}).get("login", ""))
            if (
                login.lower() == author.lower()
                and review.get("commit_id") == head_sha
                and marker in str(review.get("body") or "")
            ):
                event = _EVENT_OF_STATE.get(str(review.get("state")), "COMMENT")
                return PostedReview(int(review["id"]), event)
        if len(reviews) < REVIEWS_PER_PAGE:
            return None
        page += 1


async def merge_pull(
    client: Client,
    owner: str,
    repo: str,
    number: int,
    *,
    sha: str,
    method: MergeMethod,
    title: str,
) -> MergeResult:
    """Merge pinned to the reviewed head; 409 (head moved) and 405 (not mergeable) are results.

    GitHub answers 405 both for a conflict and for a merge that branch protection, the
    repository's allowed merge methods or a draft forbid. Only a conflict is the worker's to
    fix, so a 405 is a conflict only when the PR itself says it does not merge cleanly (or is
    behind a base the rules want it up to date with); the rest is refused, for a maintainer.
    """
    try:
        response = await client.rest.pulls.async_merge(
            owner,
            repo,
            number,
            sha=sha,
            merge_method=method,
            commit_title=f"{title} (#{number})",
        )
    except RequestFailed as error:
        status = error.response.status_code
        message = _message(error)
        if status == 409:
            return MergeResult("stale_head", None, message)
        if status == 405:
            pull = (await client.rest.pulls.async_get(owner, repo, number)).parsed_data
            # "behind": the branch rules want it up to date, and redoing it on the base does.
            if pull.mergeable is False or pull.mergeable_state in ("dirty", "behind"):
                return MergeResult("conflict", None, message)
            return MergeResult("refused", None, message)
        if status in (403, 422):
            return MergeResult("refused", None, message)
        raise
    result = response.parsed_data
    return MergeResult("merged" if result.merged else "refused", result.sha, result.message)


async def add_label(client: Client, owner: str, repo: str, number: int, label: str) -> None:
    """Add a label to an issue or PR (GitHub creates it if the repository lacks it)."""
    await client.rest.issues.async_add_labels(owner, repo, number, data={"labels": [label]})


async def remove_label(client: Client, owner: str, repo: str, number: int, label: str) -> None:
    """Remove a label from an issue or PR if it is there."""
    try:
        await client.rest.issues.async_remove_label(owner, repo, number, label)
    except RequestFailed as error:
        if error.response.status_code != 404:
            raise


async def comment(client: Client, owner: str, repo: str, number: int, body: str) -> None:
    """Comment on an issue or PR."""
    await client.rest.issues.async_create_comment(owner, repo, number, data={"body": body})


async def reopen_issue(client: Client, owner: str, repo: str, number: int) -> None:
    """Reopen an issue that a merge closed."""
    await client.rest.issues.async_update(owner, repo, number, data={"state": "open"})


async def _create_review(
    client: Client,
    owner: str,
    repo: str,
    number: int,
    event: ReviewEvent,
    body: str,
    comments: list[dict[str, Any]],
    commit_id: str,
) -> PostedReview:
    # Any: githubkit types `comments` as a versioned TypedDict; the payload is GitHub's shape.
    data: Any = {"event": event, "body": body, "commit_id": commit_id}
    if comments:
        data["comments"] = comments
    response = await client.rest.pulls.async_create_review(owner, repo, number, data=data)
    review = response.parsed_data
    return PostedReview(review.id, event)


def _message(error: RequestFailed) -> str:
    try:
        payload = error.response.json()
    except ValueError:
        return error.response.text[:500]
    return str(payload.get("message", "")) if isinstance(payload, dict) else str(payload)[:500]
