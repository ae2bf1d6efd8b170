"""Apply a review's verdict: store it, post it once, then merge, wait, or send the task back.

The verdict and what it posts are stored (a `decided` review row) before the post, and the
post looks for Townhall's own review of the head on GitHub first: a reviewer that stops after
posting, or whose merge fails, acts on the same verdict next time without asking the model or
posting again (resume_decided).
"""

from __future__ import annotations

from dataclasses import replace

from app.github.client import Client
from app.github.policy import policy_from_github
from app.policy import Policy
from app.store.decided_reviews import record_decided
from app.store.reviews import (
    DECIDED,
    DecidedReview,
    ReviewDraft,
    ReviewRecord,
    ReviewTarget,
    send_back,
    settle,
)
from app.taskstate import TaskState
from reviewer import actions
from reviewer.deps import ReviewDeps
from reviewer.evaluate import Evaluation
from reviewer.gitwork import Conflict, Merged
from reviewer.hold import landing_hold
from reviewer.merging import Landing, land
from reviewer.messages import inline_payload, review_body, worker_feedback
from reviewer.result import ReviewResult
from reviewer.texts import CONFLICT_COMMENT, CONFLICT_FEEDBACK, MAINTAINER_NOTE, READY_LABEL
from reviewer.trigger import head_is_done


async def act_on_verdict(
    deps: ReviewDeps,
    client: Client,
    target: ReviewTarget,
    pull: actions.PullState,
    merged: Merged,
    policy: Policy,
    evaluation: Evaluation,
) -> ReviewResult:
    """Store the verdict, post the one review, then merge, wait, or send the task back.

    When the issue's approved text no longer stands (edited while the review ran), nothing is
    posted or merged: the verdict is recorded as `held` and the head is reviewed again once
    approval is confirmed.
    """
    verdict, head = evaluation.verdict, merged.head_sha
    if held := await landing_hold(deps.store, client, target):
        return await _hold(deps, target, pull, merged, evaluation, held)
    approve = verdict.decision == "approve"
    maintainer = approve and policy.merge.mode == "maintainer"
    body = review_body(
        verdict,
        evaluation.model,
        evaluation.rubric,
        evaluation.phase1.report,
        head_sha=head,
        base_branch=pull.base_ref,
        base_sha=merged.base_sha,
        note=MAINTAINER_NOTE if maintainer else "",
    )
    record = ReviewRecord(
        task_id=target.task_id,
        attempt=target.attempt,
        repo_id=target.repo_id,
        pr_number=pull.number,
        head_sha=head,
        base_sha=merged.base_sha,
        decision=verdict.decision,
        outcome=DECIDED,
        reasons=verdict.reasons,
        model_decision=evaluation.model.decision,
        overruled=verdict.overruled_model,
        criteria=evaluation.model.criteria,
        static_report=evaluation.phase1.report,
    )
    draft = ReviewDraft(
        event="APPROVE" if approve else "REQUEST_CHANGES",
        body=body,
        comments=tuple(inline_payload(verdict.inline)),
        feedback="" if approve else worker_feedback(verdict, pull.number, head),
        maintainer=maintainer,
    )
    decided = DecidedReview(record, draft)
    # Stored before it is posted: a crash or a failed merge after the post never costs a second
    # model call or a second review of this head (resume_decided acts on it).
    await record_decided(deps.store, deps.clock, decided)
    return await _publish(deps, client, target, pull, policy, decided)


async def resume_decided(
    deps: ReviewDeps,
    client: Client,
    target: ReviewTarget,
    pull: actions.PullState,
    decided: DecidedReview,
) -> ReviewResult:
    """Act on a verdict stored before the reviewer stopped: post it unless it is on GitHub."""
    head = decided.record.head_sha
    if held := await landing_hold(deps.store, client, target):
        # The verdict stays stored; it is acted on once approval is confirmed again.
        await settle(
            deps.store, deps.clock, target.task_id, TaskState.PR_OPEN, f"not merged: {held}"
        )
        return ReviewResult(target.task_id, "held", held, head)
    policy = await policy_from_github(client, target.owner, target.repo, target.default_branch)
    return await _publish(deps, client, target, pull, policy, decided)


async def _publish(
    deps: ReviewDeps,
    client: Client,
    target: ReviewTarget,
    pull: actions.PullState,
    policy: Policy,
    decided: DecidedReview,
) -> ReviewResult:
    """Post the decided review once per head, then act on it."""
    draft, head = decided.draft, decided.record.head_sha
    owner, repo = target.owner, target.repo
    app_login = await deps.github.app_login()
    posted = await actions.find_review(
        client, owner, repo, pull.number, author=app_login, head_sha=head
    )
    if posted is None:
        posted = await actions.post_review(
            client,
            owner,
            repo,
            pull.number,
            event="APPROVE" if draft.event == "APPROVE" else "REQUEST_CHANGES",
            body=draft.body + "\n" + actions.REVIEW_MARKER.format(head_sha=head),
            comments=[dict(c) for c in draft.comments],
            commit_id=head,
        )
    record = replace(decided.record, github_review_id=posted.id, review_event=posted.event)
    if record.decision != "approve":
        reason = f"changes requested: {record.reasons[0]}"
        await _send_back(deps, replace(record, outcome="changes_requested"), reason, draft.feedback)
        # A new head that fails review is no longer ready for a maintainer to merge.
        await actions.remove_label(client, owner, repo, pull.number, READY_LABEL)
        return ReviewResult(target.task_id, "changes_requested", reason, head)
    if draft.maintainer:
        await actions.add_label(client, owner, repo, pull.number, READY_LABEL)
        waiting = replace(record, outcome="awaiting_maintainer")
        reason = f"approved {head[:12]}; merge mode is maintainer, waiting for a person to merge"
        await settle(
            deps.store,
            deps.clock,
            target.task_id,
            TaskState.PR_OPEN,
            reason,
            record=waiting,
            head_reviewed=head_is_done(waiting.outcome),
            head_sha=head,
        )
        return ReviewResult(target.task_id, "awaiting_maintainer", reason, head)
    landing = Landing(deps.store, deps.clock, client, target, pull, policy)
    return await land(landing, review=record, base_sha=record.base_sha)


async def _hold(
    deps: ReviewDeps,
    target: ReviewTarget,
    pull: actions.PullState,
    merged: Merged,
    evaluation: Evaluation,
    reason: str,
) -> ReviewResult:
    """Record a verdict that cannot be acted on while the issue is held; release the task."""
    verdict = evaluation.verdict
    record = ReviewRecord(
        task_id=target.task_id,
        attempt=target.attempt,
        repo_id=target.repo_id,
        pr_number=pull.number,
        head_sha=merged.head_sha,
        base_sha=merged.base_sha,
        decision=verdict.decision,
        outcome="held",
        reasons=(reason,),
        model_decision=evaluation.model.decision,
        overruled=verdict.overruled_model,
        criteria=evaluation.model.criteria,
        static_report=evaluation.phase1.report,
    )
    why = f"not merged: {reason}"
    await settle(
        deps.store, deps.clock, target.task_id, TaskState.PR_OPEN, why, record=record,
        head_reviewed=head_is_done(record.outcome), head_sha=merged.head_sha,
    )  # fmt: skip
    return ReviewResult(target.task_id, "held", reason, merged.head_sha)


async def send_back_conflict(
    deps: ReviewDeps,
    client: Client,
    target: ReviewTarget,
    pull: actions.PullState,
    head: str,
    conflict: Conflict,
) -> ReviewResult:
    """Say on the PR that it conflicts with its base, and send the task back to the worker."""
    files = ", ".join(conflict.files)
    await actions.comment(
        client,
        target.owner,
        target.repo,
        pull.number,
        CONFLICT_COMMENT.format(base_branch=pull.base_ref, files=files),
    )
    feedback = CONFLICT_FEEDBACK.format(
        base_branch=pull.base_ref,
        pr_number=pull.number,
        head_sha=head,
        base_sha=conflict.base_sha,
        files=files,
    )
    record = ReviewRecord(
        task_id=target.task_id,
        attempt=target.attempt,
        repo_id=target.repo_id,
        pr_number=pull.number,
        head_sha=head,
        base_sha=conflict.base_sha,
        decision="request_changes",
        outcome="conflict",
        reasons=(f"merge conflict with {pull.base_ref} in {files}",),
    )
    reason = f"merge conflict with {pull.base_ref}"
    await _send_back(deps, record, reason, feedback)
    return ReviewResult(target.task_id, "conflict", reason, head)


async def _send_back(deps: ReviewDeps, record: ReviewRecord, reason: str, feedback: str) -> None:
    done = head_is_done(record.outcome)
    await send_back(
        deps.store, deps.clock, record, head_reviewed=done, reason=reason, feedback=feedback
    )
