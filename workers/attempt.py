"""One attempt of one task: from a clean copy of the repository to a PR or a recorded failure.

Trusted side: read the task, mint a narrowed token, fetch the tree, publish the result.
Sandbox side: the agent's files and commands, with no token or key anywhere in it.
Every attempt that starts ends in a recorded state, whatever goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.ceo.attempts import WORKER_LEASE_TTL, attempt_lease, end_attempt_tx, fail_attempt_tx
from app.clock import Clock
from app.codemap import build_map
from app.github.client import GitHubAccess
from app.llm import LLM, CallContext
from app.policy import Policy, PolicyError
from app.repo_policy import policy_from_tree
from app.roles import Role
from app.settings import Tier
from app.store import Store, Tx
from app.store.leases import renew
from app.store.tasks import transition_tx
from app.taskstate import TaskState
from workers.agent import AgentSession, Limits, Outcome
from workers.changes import collect_changes, unified_diff
from workers.fetch import fetch_tree
from workers.paths import changed_path_violations
from workers.publish import PullRequestText, publish_change
from workers.sandbox import Sandbox, open_sandbox
from workers.texts import (
    COMMIT_MESSAGE,
    FEEDBACK_SECTION,
    FIX_ROUND_MESSAGE,
    PR_BODY,
    PR_TITLE,
    TASK_MESSAGE,
)
from workers.tools import ToolBox
from workers.untrusted import Fence, fence_issue
from workers.verify import Verification, verify

log = logging.getLogger("townhall.worker")

TIER_FOR_COMPLEXITY: dict[str, Tier] = {"small": "fast", "medium": "standard", "large": "deep"}


@dataclass
class WorkerDeps:
    """What a worker needs from the trusted side."""

    store: Store
    clock: Clock
    github: GitHubAccess
    llm: LLM
    sandbox_backend: str = "local"


@dataclass(frozen=True)
class AttemptInput:
    """Everything read from the store about the task being attempted."""

    task_id: int
    attempt: int
    max_attempts: int
    issue_number: int
    title: str
    body: str
    brief: str
    role: str
    complexity: str
    feedback: str | None
    base_sha: str
    owner: str
    repo: str
    default_branch: str
    installation_id: int


class AttemptFailed(Exception):
    """The attempt cannot produce a PR; `outcome` names why, `log` says what happened."""

    def __init__(self, outcome: str, log: str, diff: str | None = None) -> None:
        super().__init__(f"{outcome}: {log[:200]}")
        self.outcome = outcome
        self.log = log
        self.diff = diff


def _read_input(tx: Tx, task_id: int, attempt: int) -> AttemptInput:
    row = tx.fetchone(
        "SELECT t.*, r.full_name, r.default_branch, r.installation_id, i.title, i.body"
        " FROM tasks t JOIN repos r ON r.id = t.repo_id"
        " JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        raise AttemptFailed("missing_task", f"task {task_id} or its repository is not recorded")
    if row["state"] != TaskState.RUNNING or row["attempt"] != attempt:
        raise AttemptFailed(
            "stale_dispatch",
            f"task is {row['state']} at attempt {row['attempt']}, not running {attempt}",
        )
    owner, repo = row["full_name"].split("/", 1)
    return AttemptInput(
        task_id=task_id,
        attempt=attempt,
        max_attempts=row["max_attempts"],
        issue_number=row["issue_number"],
        title=row["title"],
        body=row["body"],
        brief=row["brief"] or "",
        role=row["role"] or "developer",
        complexity=row["complexity"] or "medium",
        feedback=row["feedback"],
        base_sha=row["base_sha"],
        owner=owner,
        repo=repo,
        default_branch=row["default_branch"],
        installation_id=row["installation_id"],
    )


@contextlib.asynccontextmanager
async def _holding_lease(deps: WorkerDeps, name: str, holder: str) -> AsyncIterator[None]:
    """Renew the attempt's lease while the work runs, so the CEO knows the worker lives."""

    async def keep_renewing() -> None:
        while True:
            await asyncio.sleep(WORKER_LEASE_TTL.total_seconds() / 3)
            if not await renew(deps.store, deps.clock, name, holder, WORKER_LEASE_TTL):
                log.warning("lease %s was lost; the CEO will have recovered this attempt", name)
                return

    renewer = asyncio.create_task(keep_renewing())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


def _task_message(work: AttemptInput, fence: Fence) -> str:
    feedback = (
        FEEDBACK_SECTION.format(feedback=fence.wrap(work.feedback, "feedback"))
        if work.feedback
        else ""
    )
    return TASK_MESSAGE.format(
        number=work.issue_number,
        repo=f"{work.owner}/{work.repo}",
        brief=work.brief,
        fenced_issue=fence_issue(work.title, work.body, fence),
        feedback=feedback,
    )


async def _agent_and_verify(
    session: AgentSession,
    sandbox: Sandbox,
    base_tree: Path,
    policy: Policy,
    role: Role,
    message: str,
) -> Verification:
    """Run the agent, then the checks; feed failures back for the configured fix rounds."""
    outcome = await session.run(message)
    for fix_round in range(policy.limits.fix_rounds + 1):
        if outcome != Outcome.FINISHED:
            raise AttemptFailed(
                f"agent_{outcome}", session.summary or f"the agent stopped: {outcome}"
            )
        if not await collect_changes(sandbox, base_tree):
            raise AttemptFailed("no_change", "the agent finished without changing any file")
        checks = await verify(sandbox, policy.commands, role.verify)
        if checks.passed:
            return checks
        if fix_round == policy.limits.fix_rounds:
            raise AttemptFailed("verification_failed", checks.failure_log())
        outcome = await session.run(FIX_ROUND_MESSAGE.format(log=checks.failure_log()))
    raise AssertionError("unreachable")


async def run_attempt(deps: WorkerDeps, task_id: int, attempt: int, worker: str = "worker") -> None:
    """Run one attempt and record how it ended (a PR, or a failure with its log and diff)."""
    try:
        work = await deps.store.run(lambda tx: _read_input(tx, task_id, attempt))
    except AttemptFailed as stale:
        log.warning("attempt %s of task %s not run: %s", attempt, task_id, stale)
        return
    lease = attempt_lease(task_id, attempt)
    try:
        async with _holding_lease(deps, lease, worker):
            await _attempt(deps, work)
        return
    except AttemptFailed as failed:
        ending = failed
    except Exception as error:  # a bug or an outage: the attempt still ends, recorded
        log.exception("attempt %s of task %s crashed", attempt, task_id)
        ending = AttemptFailed("worker_error", f"{type(error).__name__}: {error}")
    await deps.store.run(
        lambda tx: fail_attempt_tx(
            tx,
            deps.clock,
            task_id,
            attempt,
            outcome=ending.outcome,
            log=ending.log,
            diff=ending.diff,
        )
    )


async def _attempt(deps: WorkerDeps, work: AttemptInput) -> None:
    token = await deps.github.installation_token(
        work.installation_id, [work.repo], {"contents": "read", "metadata": "read"}
    )
    async with await deps.github.installation_client(work.installation_id, [work.repo]) as client:
        repository = (await client.rest.repos.async_get(work.owner, work.repo)).parsed_data
    with tempfile.TemporaryDirectory(prefix="townhall-base-") as directory:
        base_tree = Path(directory) / "tree"
        await asyncio.to_thread(
            fetch_tree,
            repository.clone_url,
            token.token,
            work.default_branch,
            work.base_sha,
            base_tree,
        )
        try:
            policy = policy_from_tree(base_tree)
        except PolicyError as error:
            raise AttemptFailed("invalid_policy", str(error)) from error
        role = policy.roles.get(work.role)
        if role is None:
            raise AttemptFailed("unknown_role", f"role {work.role!r} is not in the policy")
        codebase_map = await asyncio.to_thread(build_map, base_tree)
        async with open_sandbox(deps.sandbox_backend, base_tree) as sandbox:
            await _work_in_sandbox(deps, work, policy, role, codebase_map, sandbox, base_tree)


async def _work_in_sandbox(
    deps: WorkerDeps,
    work: AttemptInput,
    policy: Policy,
    role: Role,
    codebase_map: str,
    sandbox: Sandbox,
    base_tree: Path,
) -> None:
    tools = ToolBox.for_role(sandbox, role, policy.paths)
    tier = (
        TIER_FOR_COMPLEXITY.get(work.complexity, "standard")
        if role.tier == "standard"
        else role.tier
    )
    session = AgentSession(
        llm=deps.llm,
        tools=tools,
        system=f"{role.system_prompt}\n\n# Codebase map\n{codebase_map}",
        tier=tier,  # type: ignore[arg-type]  # role tiers are validated by the policy parser
        context=CallContext(
            phase="agent", task_id=work.task_id, attempt=work.attempt, role=role.name
        ),
        limits=Limits(
            max_turns=policy.budget.max_turns,
            max_dollars=policy.budget.per_task_usd,
            max_seconds=policy.budget.max_minutes * 60,
        ),
    )
    try:
        checks = await _agent_and_verify(
            session, sandbox, base_tree, policy, role, _task_message(work, Fence())
        )
    except AttemptFailed as failed:
        # Keep the work so far: the diff goes with the failure record, never silently dropped.
        changes = await collect_changes(sandbox, base_tree)
        failed.diff = unified_diff(changes, base_tree) or None
        failed.log = f"{failed.log}\n\n{session.transcript()}"
        raise
    changes = await collect_changes(sandbox, base_tree)
    diff = unified_diff(changes, base_tree)
    if violations := changed_path_violations(changes, tools.rules):
        raise AttemptFailed("forbidden_change", "\n".join(violations), diff)
    await _publish(deps, work, role, session, checks, changes, diff)


async def _publish(
    deps: WorkerDeps,
    work: AttemptInput,
    role: Role,
    session: AgentSession,
    checks: Verification,
    changes: dict[str, Any],
    diff: str,
) -> None:
    text = PullRequestText(
        PR_TITLE.format(title=work.title, number=work.issue_number),
        PR_BODY.format(
            number=work.issue_number,
            summary=session.summary,
            role=role.name,
            attempt=work.attempt,
            max_attempts=work.max_attempts,
            model=deps.llm.model_for(session.tier),
            cost=session.dollars,
            turns=session.turns,
            verification=checks.report(),
        ),
    )
    permissions = {"contents": "write", "pull_requests": "write", "metadata": "read"}
    async with await deps.github.installation_client(
        work.installation_id, [work.repo], permissions
    ) as client:
        published = await publish_change(
            client,
            owner=work.owner,
            repo=work.repo,
            base_branch=work.default_branch,
            base_sha=work.base_sha,
            issue_number=work.issue_number,
            changes=changes,
            message=COMMIT_MESSAGE.format(
                title=work.title,
                number=work.issue_number,
                summary=session.summary,
                task_id=work.task_id,
                attempt=work.attempt,
            ),
            pr=text,
        )

    def record(tx: Tx) -> None:
        end_attempt_tx(
            tx,
            deps.clock,
            work.task_id,
            work.attempt,
            outcome="pr_opened",
            log=f"{checks.report()}\n\n{session.transcript()}",
            diff=diff,
            cost_usd=session.dollars,
        )
        transition_tx(
            tx,
            deps.clock,
            work.task_id,
            TaskState.PR_OPEN,
            actor="worker",
            reason=f"PR #{published.pr_number} {'updated' if published.reused_pr else 'opened'}",
            expect=[TaskState.RUNNING],
            pr_number=published.pr_number,
            head_sha=published.commit_sha,
            branch=published.branch,
            feedback=None,
        )

    await deps.store.run(record)
