"""Review one task's pull request head: the entry point the CEO tick and webhooks call.

`run_review` claims the task (pr_open -> reviewing, with a lease), merges the PR head with the
current base on the trusted side, judges the merge (reviewer/evaluate.py) against the issue
text the task was approved with, and acts: merge, wait for a maintainer or for checks, or send
the task back with one review. Each way out is recorded as a review row and transitions with
their events; a crash leaves a lease that app/store/reviews.recover_stalled_reviews turns back
into pr_open. Nothing is reviewed or merged while the issue's approved text does not stand.

A crash never costs a second review of a head: the verdict is stored before it is posted, and a
head with a stored verdict is acted on from it (posted only if GitHub does not show it yet).
A merge the App made but did not record is recognised by its merger and recorded as Townhall's
(app/store/decided_reviews.py), so it still gets its post-merge check.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path

from app.github.checkout import open_remote
from app.github.client import Client
from app.github.policy import policy_from_github
from app.llm import CallContext
from app.policy import Policy, parse_policy
from app.store.decided_reviews import merged_by_app, read_decided, record_own_merge
from app.store.leases import keeping
from app.store.reviews import (
    ReviewTarget,
    claim_review,
    read_target,
    record_failed_review,
    review_lease,
    settle,
)
from app.taskstate import TaskState
from app.threads import in_thread
from reviewer import actions
from reviewer.applying import act_on_verdict, resume_decided, send_back_conflict
from reviewer.deps import PERMISSIONS, ReviewDeps
from reviewer.evaluate import Subject, evaluate
from reviewer.gitwork import Conflict, HeadMoved, merge_pull_head
from reviewer.hold import landing_hold, recorded_hold
from reviewer.merging import Landing, land
from reviewer.phase1 import base_lookup
from reviewer.postmerge import run_post_merge_check
from reviewer.result import ReviewResult
from reviewer.trigger import needs_merge, needs_review

log = logging.getLogger("townhall.reviewer")


async def run_review(deps: ReviewDeps, task_id: int) -> ReviewResult:
    """Review the task's PR head if it is due (or merge it if only its checks were pending)."""
    target = await read_target(deps.store, task_id)
    if target is None or target.pr_number is None or target.head_sha is None:
        return ReviewResult(task_id, "skipped", "no task with an open PR")
    head = target.head_sha
    if not (
        needs_review(target.state, head, target.past)
        or needs_merge(target.state, head, target.past)
    ):
        return ReviewResult(task_id, "skipped", f"task is {target.state}; head {head[:12]} settled")
    if held := await recorded_hold(deps.store, target):
        # The issue's text changed after approval: nothing is reviewed or merged until
        # approval is confirmed again (the issue's tally says how).
        return ReviewResult(task_id, "skipped", f"held: {held}", head)
    claimed = await claim_review(deps.store, deps.clock, task_id, head, deps.holder, deps.lease_ttl)
    if not claimed:
        return ReviewResult(task_id, "skipped", "another reviewer holds this task")
    try:
        lease = review_lease(task_id)
        async with keeping(deps.store, deps.clock, lease, deps.holder, deps.lease_ttl):
            client = await deps.github.installation_client(
                target.installation_id, [target.repo], PERMISSIONS
            )
            async with client:
                result = await _review_claimed(deps, client, target)
    except Exception as error:  # a bug or an outage: recorded, and the task is released
        log.exception("review of task %s failed", task_id)
        detail = f"{type(error).__name__}: {error}"
        await record_failed_review(deps.store, deps.clock, target, head, detail)
        return ReviewResult(task_id, "error", detail, head)
    if result.outcome == "merged":
        try:
            checked = await run_post_merge_check(deps, task_id)
        except Exception:  # the check stays due; the next tick runs it again
            log.exception("post-merge check of task %s failed", task_id)
            return replace(result, post_merge="error")
        result = replace(result, post_merge=checked.outcome)
    return result


async def _review_claimed(deps: ReviewDeps, client: Client, target: ReviewTarget) -> ReviewResult:
    assert target.pr_number is not None
    pull = await actions.read_pull(client, target.owner, target.repo, target.pr_number)
    if not pull.open:
        return await _closed(deps, target, pull)
    head = pull.head_sha
    past = target.past
    if needs_review(TaskState.PR_OPEN, head, past) and (
        decided := await read_decided(deps.store, target.task_id, head)
    ):
        # Decided before the reviewer stopped (or before its merge failed): act on that verdict.
        return await resume_decided(deps, client, target, pull, decided)
    if needs_merge(TaskState.PR_OPEN, head, past) and not needs_review(
        TaskState.PR_OPEN, head, past
    ):
        if held := await landing_hold(deps.store, client, target):
            await _release(deps, target, f"not merged: {held}")
            return ReviewResult(target.task_id, "held", held, head)
        policy = await _policy(client, target)
        landing = Landing(deps.store, deps.clock, client, target, pull, policy)
        return await land(landing, review=None, base_sha="")
    if not needs_review(TaskState.PR_OPEN, head, past):
        await _release(deps, target, f"head {head[:12]} was already reviewed", head_sha=head)
        return ReviewResult(target.task_id, "skipped", "the new head was already reviewed", head)
    remote = await open_remote(deps.github, target.installation_id, target.owner, target.repo)
    with tempfile.TemporaryDirectory(prefix="townhall-review-") as directory:
        root = Path(directory)
        try:
            merged = await in_thread(
                merge_pull_head, remote, pull.base_ref, pull.head_ref, head, root
            )
        except HeadMoved as moved:
            return await _stale(deps, target, head, str(moved))
        if isinstance(merged, Conflict):
            return await send_back_conflict(deps, client, target, pull, head, merged)
        policy = parse_policy(merged.policy_text) if merged.policy_text is not None else Policy()
        subject = Subject(
            target.issue_number, target.issue_title, target.issue_body, target.brief, pull.base_ref
        )
        evaluation = await evaluate(
            deps.llm,
            CallContext(
                phase="review", task_id=target.task_id, attempt=target.attempt, role="reviewer"
            ),
            root / "tree",
            merged,
            policy,
            subject,
            sandboxes=deps.sandboxes,
            baseline=base_lookup(
                deps.store,
                deps.clock,
                deps.sandboxes,
                root / "tree",
                repo=f"{target.owner}/{target.repo}",
                base_sha=merged.base_sha,
            ),
        )
    return await act_on_verdict(deps, client, target, pull, merged, policy, evaluation)


async def _closed(deps: ReviewDeps, target: ReviewTarget, pull: actions.PullState) -> ReviewResult:
    """The PR was merged or closed outside this review: follow it (reconcile does the same).

    A merge by the App is Townhall's own, made by a reviewer that stopped before recording it:
    it is recorded as such, and its post-merge check follows.
    """
    if pull.merged and merged_by_app(pull.merged_by, await deps.github.app_login()):
        await record_own_merge(
            deps.store, deps.clock, target.task_id, head_sha=pull.head_sha, merge_sha=pull.merge_sha
        )
        detail = f"PR merged by Townhall as {(pull.merge_sha or '?')[:12]}; recorded now"
        return ReviewResult(target.task_id, "merged", detail, pull.head_sha, pull.merge_sha)
    target_state = TaskState.MERGED if pull.merged else TaskState.PR_OPEN
    how = "merged" if pull.merged else "closed without merging"
    await settle(deps.store, deps.clock, target.task_id, target_state, f"PR {how} by hand")
    return ReviewResult(target.task_id, "closed", f"PR {how}", pull.head_sha, pull.merge_sha)


async def _stale(deps: ReviewDeps, target: ReviewTarget, head: str, why: str) -> ReviewResult:
    await _release(deps, target, f"head {head[:12]} moved before the review: {why}")
    return ReviewResult(target.task_id, "stale_head", why, head)


async def _release(
    deps: ReviewDeps, target: ReviewTarget, reason: str, head_sha: str | None = None
) -> None:
    await settle(
        deps.store, deps.clock, target.task_id, TaskState.PR_OPEN, reason, head_sha=head_sha
    )


async def _policy(client: Client, target: ReviewTarget) -> Policy:
    return await policy_from_github(client, target.owner, target.repo, target.default_branch)
