"""Act on a review: post it, then merge, wait, or send the task back with its feedback."""

from __future__ import annotations

from dataclasses import replace

from app.github.client import Client
from app.policy import Policy
from app.store import Tx
from app.store.reviews import (
    ReviewRecord,
    ReviewResult,
    ReviewTarget,
    insert_review_tx,
    send_back_tx,
    settle_tx,
)
from app.taskstate import TaskState
from reviewer import actions
from reviewer.deps import ReviewDeps
from reviewer.evaluate import Evaluation
from reviewer.gitwork import Conflict, Merged
from reviewer.merging import Landing, land
from reviewer.messages import inline_payload, review_body, worker_feedback
from reviewer.texts import CONFLICT_COMMENT, CONFLICT_FEEDBACK, MAINTAINER_NOTE, READY_LABEL


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

        def send_back(tx: Tx) -> None:
            insert_review_tx(tx, deps.clock, record)
            send_back_tx(tx, deps.clock, target.task_id, reason, feedback)

        await deps.store.run(send_back)
        # A new head that fails review is no longer ready for a maintainer to merge.
        await actions.remove_label(client, target.owner, target.repo, pull.number, READY_LABEL)
        return ReviewResult(target.task_id, "changes_requested", reason, head)
    if maintainer:
        await actions.add_label(client, target.owner, target.repo, pull.number, READY_LABEL)
        waiting = replace(record, outcome="awaiting_maintainer")
        reason = f"approved {head[:12]}; merge mode is maintainer, waiting for a person to merge"

        def wait(tx: Tx) -> None:
            insert_review_tx(tx, deps.clock, waiting)
            settle_tx(tx, deps.clock, target.task_id, TaskState.PR_OPEN, reason, head_sha=head)

        await deps.store.run(wait)
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

    def send_back(tx: Tx) -> None:
        insert_review_tx(tx, deps.clock, record)
        send_back_tx(tx, deps.clock, target.task_id, reason, feedback)

    await deps.store.run(send_back)
    return ReviewResult(target.task_id, "conflict", reason, head)
