"""Apply a review's verdict: post it, then merge, wait, or send the task back with feedback."""

from __future__ import annotations

from dataclasses import replace

from app.github.client import Client
from app.policy import Policy
from app.store.reviews import ReviewRecord, ReviewTarget, send_back, settle
from app.taskstate import TaskState
from reviewer import actions
from reviewer.deps import ReviewDeps
from reviewer.evaluate import Evaluation
from reviewer.gitwork import Conflict, Merged
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
    """Post the one review, then merge, wait for a maintainer, or send the task back."""
    verdict, head = evaluation.verdict, merged.head_sha
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
    posted = await actions.post_review(
        client,
        target.owner,
        target.repo,
        pull.number,
        event="APPROVE" if approve else "REQUEST_CHANGES",
        body=body,
        comments=inline_payload(verdict.inline),
        commit_id=head,
    )
    record = ReviewRecord(
        task_id=target.task_id,
        attempt=target.attempt,
        repo_id=target.repo_id,
        pr_number=pull.number,
        head_sha=head,
        base_sha=merged.base_sha,
        decision=verdict.decision,
        outcome="changes_requested",
        reasons=verdict.reasons,
        model_decision=evaluation.model.decision,
        overruled=verdict.overruled_model,
        criteria=evaluation.model.criteria,
        static_report=evaluation.phase1.report,
        github_review_id=posted.id,
        review_event=posted.event,
    )
    if not approve:
        feedback = worker_feedback(verdict, pull.number, head)
        reason = f"changes requested: {verdict.reasons[0]}"
        await _send_back(deps, record, reason, feedback)
        # A new head that fails review is no longer ready for a maintainer to merge.
        await actions.remove_label(client, target.owner, target.repo, pull.number, READY_LABEL)
        return ReviewResult(target.task_id, "changes_requested", reason, head)
    if maintainer:
        await actions.add_label(client, target.owner, target.repo, pull.number, READY_LABEL)
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
    return await land(landing, review=record, base_sha=merged.base_sha)


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
