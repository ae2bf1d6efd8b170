"""Land an approved head: wait for its checks, then merge pinned to the reviewed sha."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.clock import Clock
from app.github.client import Client
from app.policy import Policy
from app.store import Store
from app.store.reviews import ReviewRecord, ReviewTarget, send_back, settle
from app.taskstate import TaskState
from app.untrusted import inert_line
from reviewer import actions
from reviewer.result import ReviewResult
from reviewer.texts import CHECKS_FEEDBACK, CONFLICT_FEEDBACK, MERGE_REFUSED
from reviewer.trigger import head_is_done


@dataclass(frozen=True)
class Landing:
    """The parts landing needs: the store, GitHub, the task and its PR, and the policy."""

    store: Store
    clock: Clock
    client: Client
    target: ReviewTarget
    pull: actions.PullState
    policy: Policy


async def land(landing: Landing, review: ReviewRecord | None, base_sha: str) -> ReviewResult:
    """Merge the approved head when its checks pass, or wait for them, or send it back."""
    # `review` is None when an earlier review approved the head and waited for its checks:
    # then a wait records no new row, only the task's moves.
    target, pull = landing.target, landing.pull
    head = pull.head_sha
    record = review or ReviewRecord(
        task_id=target.task_id,
        attempt=target.attempt,
        repo_id=target.repo_id,
        pr_number=pull.number,
        head_sha=head,
        base_sha=base_sha,
        decision="approve",
        outcome="awaiting_checks",
        reasons=("approved by an earlier review; its checks have finished",),
    )
    checks, names = await actions.read_checks(landing.client, target.owner, target.repo, head)
    if checks == "failing":
        feedback = CHECKS_FEEDBACK.format(
            pr_number=pull.number, head_sha=head, names=", ".join(names)
        )
        failed = replace(
            record, outcome="checks_failed", reasons=(f"checks failing: {', '.join(names)}",)
        )
        return await _send_back(landing, failed, f"checks failing: {', '.join(names)}", feedback)
    if checks == "pending":
        reason = f"approved {head[:12]}; waiting for checks: {', '.join(names)}"
        return await _settle(
            landing, replace(record, outcome="awaiting_checks") if review else None, reason
        )
    if pull.mergeable is False:
        return await _conflict(landing, record, "GitHub reports the PR as not mergeable")
    result = await actions.merge_pull(
        landing.client,
        target.owner,
        target.repo,
        pull.number,
        sha=head,
        method=landing.policy.merge.method,
        # The squash commit lands on the default branch, where a live "Fixes #N" would close
        # that issue: the title goes through the same sanitiser as when the PR was opened.
        title=inert_line(pull.title),
    )
    if result.status == "merged":
        merged = replace(record, outcome="merged", merge_sha=result.sha)
        reason = f"merged {head[:12]} as {(result.sha or '')[:12]} ({landing.policy.merge.method})"
        return await _settle(landing, merged, reason, TaskState.MERGED, merge_sha=result.sha)
    if result.status == "conflict":
        return await _conflict(landing, record, result.message)
    if result.status == "stale_head":
        # A newer head was pushed after the review: it gets its own review; no attempt is spent.
        stale = replace(record, outcome="stale_head", reasons=(result.message,))
        return await _settle(landing, stale, f"head moved before the merge: {result.message}")
    # Branch protection, a merge method the repository forbids: the change is approved and
    # nothing the worker does would help, so a maintainer is told on the PR and merges it.
    refused = MERGE_REFUSED.format(pr_number=pull.number, message=inert_line(result.message))
    await actions.comment(landing.client, target.owner, target.repo, pull.number, refused)
    return await _settle(
        landing, replace(record, outcome="merge_refused", reasons=(refused,)), refused
    )


async def _settle(
    landing: Landing,
    record: ReviewRecord | None,
    reason: str,
    state: TaskState = TaskState.PR_OPEN,
    merge_sha: str | None = None,
) -> ReviewResult:
    task_id = landing.target.task_id
    await settle(
        landing.store,
        landing.clock,
        task_id,
        state,
        reason,
        record=record,
        head_reviewed=record is not None and head_is_done(record.outcome),
        head_sha=landing.pull.head_sha,
    )
    outcome = record.outcome if record is not None else "awaiting_checks"
    return ReviewResult(task_id, outcome, reason, landing.pull.head_sha, merge_sha)


async def _conflict(landing: Landing, record: ReviewRecord, message: str) -> ReviewResult:
    pull = landing.pull
    feedback = CONFLICT_FEEDBACK.format(
        base_branch=pull.base_ref,
        pr_number=pull.number,
        head_sha=pull.head_sha,
        base_sha=record.base_sha or "its tip",
        files=f"unknown ({message})",
    )
    conflicted = replace(record, outcome="conflict", reasons=(message,))
    return await _send_back(landing, conflicted, f"merge conflict with {pull.base_ref}", feedback)


async def _send_back(
    landing: Landing, record: ReviewRecord, reason: str, feedback: str
) -> ReviewResult:
    task_id = landing.target.task_id
    await send_back(
        landing.store,
        landing.clock,
        record,
        head_reviewed=head_is_done(record.outcome),
        reason=reason,
        feedback=feedback,
    )
    return ReviewResult(task_id, record.outcome, reason, landing.pull.head_sha)
