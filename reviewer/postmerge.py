"""After a merge: build and test the base branch again, and revert the merge if it broke it.

The merge commit is checked with the repository's build and test commands in a sandbox on its
environment (planned from that commit's files and prepared first: a cache hit when its
manifests did not change). When it fails, its first parent is checked too, in its own
environment: only a merge that turned a passing base into a failing one is reverted. An
environment that cannot be set up is recorded as such and reverts nothing.

The revert is one commit made through the git data API on top of the current tip, and the
branch moves to it by a fast-forward ref update: it lands at once, it fails safely if the
branch moved meanwhile (then it is recomputed), and unlike a revert pull request it does not
have to pass the very checks that are failing. The task goes merged -> reverted -> queued
(or needs_human) with the log as feedback, the issue is reopened and told why.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from githubkit.exception import RequestFailed

from app.github.checkout import open_remote
from app.github.client import Client
from app.github.git import Remote
from app.policy import Policy, PolicyError, parse_policy
from app.sandbox.environment import EnvironmentFailed
from app.sandbox.verify import Verification, planned_checks, verify
from app.store.leases import acquire, release
from app.store.reviews import (
    POST_MERGE_LOG_CHARS,
    MergedTask,
    ReviewTarget,
    read_merged_task,
    record_post_merge,
    record_revert,
)
from app.taskstate import TaskState
from app.threads import in_thread
from app.untrusted import inert_line
from reviewer import actions
from reviewer.deps import PERMISSIONS, ReviewDeps
from reviewer.gitwork import POLICY_PATH, TreeEntry, Workspace, fetch_branch, revert_changes
from reviewer.texts import (
    NEEDS_HUMAN,
    NEXT_ATTEMPT,
    POST_MERGE_FEEDBACK,
    REVERT_COMMENT,
    REVERT_FAILED_COMMENT,
    REVERT_MESSAGE,
)
from reviewer.trigger import needs_post_merge_check
from workers.environment import failure_text, plan_for_tree

POST_MERGE_LEASE_TTL = timedelta(minutes=30)
LOG_CHARS = POST_MERGE_LOG_CHARS
# How often the revert is recomputed when the branch moves while it is being pushed.
REVERT_TRIES = 2


@dataclass(frozen=True)
class PostMergeResult:
    """How the post-merge check ended (passed, skipped, broken_before, reverted, ...)."""

    task_id: int
    outcome: str
    detail: str = ""
    revert_sha: str | None = None


async def run_post_merge_check(deps: ReviewDeps, task_id: int) -> PostMergeResult:
    """Check the base branch after the task's merge; revert the merge if it broke the base."""
    due = await read_merged_task(deps.store, task_id)
    if due is None or not needs_post_merge_check(
        due.target.state, due.review.outcome, due.review.post_merge
    ):
        return PostMergeResult(task_id, "not_due")
    lease = f"post-merge:{task_id}"
    if not await acquire(deps.store, deps.clock, lease, deps.holder, POST_MERGE_LEASE_TTL):
        return PostMergeResult(task_id, "not_due", "another check is running")
    try:
        target = due.target
        client = await deps.github.installation_client(
            target.installation_id, [target.repo], PERMISSIONS
        )
        async with client:
            return await _check(deps, client, due)
    finally:
        await release(deps.store, lease, deps.holder)


async def _check(deps: ReviewDeps, client: Client, due: MergedTask) -> PostMergeResult:
    target = due.target
    merge_sha = due.review.merge_sha
    if merge_sha is None and target.pr_number is not None:
        pull = await actions.read_pull(client, target.owner, target.repo, target.pr_number)
        merge_sha = pull.merge_sha
    if merge_sha is None:
        return await _mark(deps, due, "skipped", "the merge commit is not known")
    remote = await open_remote(deps.github, target.installation_id, target.owner, target.repo)
    branch = target.default_branch
    with tempfile.TemporaryDirectory(prefix="townhall-postmerge-") as directory:
        space, _ = await in_thread(fetch_branch, remote, branch, Path(directory))
        try:
            policy = _policy_at(space, merge_sha)
        except PolicyError as error:
            return await _mark(deps, due, "skipped", str(error))
        try:
            after = await _verify_at(deps, space, merge_sha, policy)
            if after is None:
                return await _mark(deps, due, "skipped", "no build or test commands are known")
            if after.passed:
                return await _mark(deps, due, "passed", after.report())
            log = after.failure_log()[-LOG_CHARS:]
            before = await _verify_at(deps, space, f"{merge_sha}^1", policy)
        except EnvironmentFailed as failed:  # nothing was checked: never a reason to revert
            return await _mark(deps, due, "environment_failed", failure_text(failed))
        if before is not None and not before.passed:
            detail = f"the base already failed before the merge; not reverted\n{log}"
            return await _mark(deps, due, "broken_before", detail)
        try:
            revert_sha = await _push_revert(client, space, target, merge_sha, remote)
        except (RequestFailed, RevertError) as error:
            return await _revert_failed(deps, client, due, str(error), log)
    return await _reverted(deps, client, due, revert_sha, log)


class RevertError(Exception):
    """The revert could not be computed or pushed."""


async def _push_revert(
    client: Client,
    space: Workspace,
    target: ReviewTarget,
    merge_sha: str,
    remote: Remote,
) -> str:
    branch = target.default_branch
    title = inert_line(target.issue_title)  # lands on the default branch: no live "Fixes #N"
    message = REVERT_MESSAGE.format(
        title=title, pr_number=target.pr_number, merge_sha=merge_sha, base_branch=branch
    )
    for attempt in range(REVERT_TRIES):
        await in_thread(space.fetch, remote, [f"+refs/heads/{branch}:refs/base"])
        tip = space.rev("refs/base")
        changes = await in_thread(revert_changes, space, merge_sha, tip)
        if changes is None:
            raise RevertError(f"reverting {merge_sha[:12]} on {tip[:12]} conflicts")
        sha = await _commit(client, target, tip, changes, message)
        try:
            await client.rest.git.async_update_ref(
                target.owner, target.repo, f"heads/{branch}", sha=sha, force=False
            )
        except RequestFailed as error:
            # 422: the branch moved since the tip was read; recompute on the new tip.
            if error.response.status_code != 422 or attempt == REVERT_TRIES - 1:
                raise
            continue
        return sha
    raise RevertError("unreachable")


async def _commit(
    client: Client, target: ReviewTarget, tip: str, changes: dict[str, TreeEntry], message: str
) -> str:
    git = client.rest.git
    entries: list[Any] = []
    for path, entry in sorted(changes.items()):
        if entry.content is None:
            entries.append({"path": path, "mode": entry.mode, "type": "blob", "sha": None})
            continue
        content = base64.b64encode(entry.content).decode()
        blob = await git.async_create_blob(
            target.owner, target.repo, content=content, encoding="base64"
        )
        entries.append(
            {"path": path, "mode": entry.mode, "type": "blob", "sha": blob.parsed_data.sha}
        )
    base = (await git.async_get_commit(target.owner, target.repo, tip)).parsed_data
    tree = await git.async_create_tree(
        target.owner, target.repo, base_tree=base.tree.sha, tree=entries
    )
    commit = await git.async_create_commit(
        target.owner, target.repo, message=message, tree=tree.parsed_data.sha, parents=[tip]
    )
    return commit.parsed_data.sha


def _policy_at(space: Workspace, commit: str) -> Policy:
    text = space.show(commit, POLICY_PATH)
    return parse_policy(text) if text is not None else Policy()


async def _verify_at(
    deps: ReviewDeps, space: Workspace, commit: str, policy: Policy
) -> Verification | None:
    """Build and test `commit` in its environment; None when it has no build or test."""
    await in_thread(space.checkout, commit)
    plan = await in_thread(plan_for_tree, space.tree, policy)
    checks = planned_checks(plan.build, plan.test, ())
    if not checks:
        return None
    environment = await deps.sandboxes.prepare(plan, space.tree)  # EnvironmentFailed
    async with deps.sandboxes.open(space.tree, environment) as sandbox:
        return await verify(sandbox, checks, plan.command_timeout)


async def _mark(deps: ReviewDeps, due: MergedTask, outcome: str, detail: str) -> PostMergeResult:
    await record_post_merge(deps.store, deps.clock, due, outcome, detail)
    return PostMergeResult(due.target.task_id, outcome, detail)


async def _reverted(
    deps: ReviewDeps, client: Client, due: MergedTask, revert_sha: str, log: str
) -> PostMergeResult:
    target = due.target
    feedback = POST_MERGE_FEEDBACK.format(
        pr_number=target.pr_number, base_branch=target.default_branch, log=log
    )
    next_state = await record_revert(
        deps.store,
        deps.clock,
        due,
        revert_sha=revert_sha,
        log=log,
        reason=f"{target.default_branch} failed its checks after the merge; "
        f"reverted in {revert_sha[:12]}",
        feedback=feedback,
    )
    next_step = (
        NEXT_ATTEMPT.format(attempt=target.attempt + 1, max_attempts=target.max_attempts)
        if next_state == TaskState.QUEUED
        else NEEDS_HUMAN.format(max_attempts=target.max_attempts)
    )
    body = REVERT_COMMENT.format(
        pr_number=target.pr_number,
        base_branch=target.default_branch,
        revert_sha=revert_sha,
        next_step=next_step,
        log=log,
    )
    await actions.reopen_issue(client, target.owner, target.repo, target.issue_number)
    await actions.comment(client, target.owner, target.repo, target.issue_number, body)
    return PostMergeResult(target.task_id, "reverted", log, revert_sha)


async def _revert_failed(
    deps: ReviewDeps, client: Client, due: MergedTask, error: str, log: str
) -> PostMergeResult:
    target = due.target
    await _mark(deps, due, "revert_failed", f"{error}\n{log}")
    body = REVERT_FAILED_COMMENT.format(
        pr_number=target.pr_number, base_branch=target.default_branch, error=error, log=log
    )
    await actions.comment(client, target.owner, target.repo, target.issue_number, body)
    return PostMergeResult(target.task_id, "revert_failed", error)
