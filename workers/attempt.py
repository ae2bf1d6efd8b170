"""One attempt of one task: from a clean copy of the repository to a PR or a recorded failure.

Trusted side: read the task, mint a narrowed token, fetch the tree, publish the result.
Sandbox side: the agent's files and commands, with no token or key anywhere in it.
Every attempt that starts ends in a recorded state, whatever goes wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import cast

from app.ceo.planning import TIER_FOR_COMPLEXITY
from app.clock import Clock
from app.codemap import DEFAULT_MAP_NAME, build_map
from app.github.client import GitHubAccess
from app.github.git import fetch_tree
from app.github.policy import policy_from_tree
from app.llm import LLM, CallContext
from app.logs import log_context
from app.pathrules import changed_path_violations
from app.policy import Policy, PolicyError
from app.roles import Role
from app.sandbox import Sandbox, create_sandbox
from app.sandbox.verify import Verification, verify
from app.settings import Tier
from app.store import Store, Tx
from app.store.attempts import (
    WORKER_LEASE_TTL,
    attempt_lease,
    end_attempt_tx,
    fail_attempt_tx,
    live_attempt_tx,
)
from app.store.leases import keeping
from app.store.tasks import transition_tx
from app.store.timings import timed_step
from app.taskstate import TaskState
from app.untrusted import Fence, fence_issue, inert_markdown
from workers.agent import AgentSession, Limits, Outcome
from workers.changes import UnpublishableChange, collect_changes, unified_diff
from workers.memory import Note, add_note_tx, describe_attempt, read_notes_tx, render_notes
from workers.publish import FileChange, Published, PullRequestText, publish_change
from workers.texts import (
    COMMIT_MESSAGE,
    FEEDBACK_SECTION,
    FIX_ROUND_MESSAGE,
    ORPHAN_COMMENT,
    PR_BODY,
    PR_TITLE,
    TASK_MESSAGE,
)
from workers.tools import ToolBox

log = logging.getLogger("townhall.worker")

# Agent outcomes that mean a limit stopped the work (kept as a draft PR when it changed files).
LIMITS = frozenset(
    {Outcome.TURN_LIMIT, Outcome.TOKEN_LIMIT, Outcome.BUDGET_LIMIT, Outcome.TIME_LIMIT}
)
LIMIT_LABEL = "townhall:limit-reached"


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
    notes: tuple[Note, ...] = ()
    holder: str = "worker"  # the lease holder recorded when the attempt was dispatched
    spent_usd: float = 0.0  # what earlier attempts of this task cost


class AttemptOutcome(StrEnum):
    """How an attempt ended; only `verified` work becomes a ready PR."""

    VERIFIED = "verified"
    BUILD_FAILED = "build_failed"
    NO_CHANGES = "no_changes"
    LIMIT_REACHED = "limit_reached"
    ERROR = "error"


class AttemptFailed(Exception):
    """The attempt cannot produce a ready PR; `outcome` names why, `log` says what happened."""

    def __init__(self, outcome: AttemptOutcome, log: str, diff: str | None = None) -> None:
        super().__init__(f"{outcome}: {log[:200]}")
        self.outcome = outcome
        self.log = log
        self.diff = diff
        self.files: list[str] = []
        self.summary = ""
        self.transcript = ""
        self.dollars = 0.0
        self.draft: Published | None = None


@dataclass
class Success:
    """A verified change that was published."""

    published: Published
    files: list[str]
    diff: str
    summary: str
    checks: Verification
    transcript: str
    dollars: float


def _read_input(tx: Tx, task_id: int, attempt: int) -> AttemptInput:
    row = tx.fetchone(
        "SELECT t.*, r.full_name, r.default_branch, r.installation_id, i.title, i.body"
        " FROM tasks t JOIN repos r ON r.id = t.repo_id"
        " JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
        " WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        raise LookupError(f"task {task_id} or its repository is not recorded")
    if row["state"] != TaskState.RUNNING or row["attempt"] != attempt:
        raise LookupError(
            f"task is {row['state']} at attempt {row['attempt']}, not running {attempt}"
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
        notes=tuple(read_notes_tx(tx, task_id)),
        holder=str(
            tx.scalar(
                "SELECT worker FROM attempts WHERE task_id = ? AND number = ?", (task_id, attempt)
            )
            or "worker"
        ),
        spent_usd=float(row["cost_usd"] or 0.0),
    )


def _task_message(work: AttemptInput, fence: Fence) -> str:
    feedback = (
        FEEDBACK_SECTION.format(feedback=fence.wrap(work.feedback, "feedback"))
        if work.feedback
        else ""
    )
    # The brief and the notes were written by models that read the issue: fenced as data too.
    memory = render_notes(work.notes)
    return TASK_MESSAGE.format(
        number=work.issue_number,
        repo=f"{work.owner}/{work.repo}",
        brief=fence.wrap(work.brief, "plan-brief"),
        fenced_issue=fence_issue(work.title, work.body, fence),
        memory=fence.wrap(memory, "earlier-attempts") + "\n" if memory else "",
        feedback=feedback,
    )


async def run_attempt(deps: WorkerDeps, task_id: int, attempt: int, worker: str = "worker") -> None:
    """Run one attempt and record how it ended (a PR, or a failure with its log and diff)."""
    with log_context(task=task_id, attempt=attempt):
        await _run_attempt(deps, task_id, attempt, worker)


async def _run_attempt(deps: WorkerDeps, task_id: int, attempt: int, worker: str) -> None:
    try:
        work = await deps.store.run(lambda tx: _read_input(tx, task_id, attempt))
    except LookupError as stale:
        log.warning("attempt %s of task %s not run: %s", attempt, task_id, stale)
        return
    try:
        lease = attempt_lease(task_id, attempt)
        # Renew as the holder the CEO recorded at dispatch, or the renewals would all fail.
        async with keeping(deps.store, deps.clock, lease, work.holder, WORKER_LEASE_TTL):
            success = await _attempt(deps, work)
    except AttemptFailed as failed:
        await _record_failure(deps, work, failed)
        return
    except Exception as error:  # a bug or an outage: the attempt still ends, recorded
        log.exception("attempt %s of task %s crashed", attempt, task_id)
        await _record_failure(
            deps, work, AttemptFailed(AttemptOutcome.ERROR, f"{type(error).__name__}: {error}")
        )
        return
    await _record_success(deps, work, success)


async def _record_failure(deps: WorkerDeps, work: AttemptInput, failed: AttemptFailed) -> None:
    draft = f" Its work is kept as draft PR #{failed.draft.pr_number}." if failed.draft else ""
    note = describe_attempt(failed.outcome, failed.summary, failed.files, failed.log, "") + draft

    def record(tx: Tx) -> TaskState | None:
        moved_on = live_attempt_tx(tx, work.task_id, work.attempt)
        log_text = f"{failed.log}{draft}\n\n{failed.transcript}".strip()
        if moved_on is None:
            # The next attempt hears why this one failed, not the tail of its transcript.
            fail_attempt_tx(
                tx, deps.clock, work.task_id, work.attempt, outcome=failed.outcome,
                log=log_text, diff=failed.diff, feedback=failed.log + draft,
                cost_usd=failed.dollars,
            )  # fmt: skip
        else:
            end_attempt_tx(
                tx, deps.clock, work.task_id, work.attempt, outcome=failed.outcome,
                log=f"(task {moved_on} meanwhile) {log_text}", diff=failed.diff,
                cost_usd=failed.dollars,
            )  # fmt: skip
        tx.execute(
            "UPDATE attempts SET changed_files = ? WHERE task_id = ? AND number = ?",
            (json.dumps(failed.files), work.task_id, work.attempt),
        )
        add_note_tx(tx, deps.clock, work.task_id, work.attempt, failed.outcome, note)
        return moved_on

    moved_on = await deps.store.run(record)
    if moved_on is not None and failed.draft is not None:
        await _close_orphan(deps, work, failed.draft, moved_on)


async def _close_orphan(
    deps: WorkerDeps, work: AttemptInput, published: Published, state: TaskState
) -> None:
    """Close a PR whose task moved on (cancelled, vetoed, or retried) while it was made."""
    permissions = {"pull_requests": "write", "issues": "write", "metadata": "read"}
    async with await deps.github.installation_client(
        work.installation_id, [work.repo], permissions
    ) as client:
        await client.rest.issues.async_create_comment(
            work.owner, work.repo, published.pr_number,
            data={"body": ORPHAN_COMMENT.format(state=state)},
        )  # fmt: skip
        await client.rest.pulls.async_update(
            work.owner, work.repo, published.pr_number, data={"state": "closed"}
        )


async def _record_success(deps: WorkerDeps, work: AttemptInput, done: Success) -> None:
    note = describe_attempt(
        AttemptOutcome.VERIFIED, done.summary, done.files, "", done.checks.report()
    )
    published = done.published

    def record(tx: Tx) -> TaskState | None:
        moved_on = live_attempt_tx(tx, work.task_id, work.attempt)
        end_attempt_tx(
            tx, deps.clock, work.task_id, work.attempt, outcome=AttemptOutcome.VERIFIED,
            log=f"{done.checks.report()}\n\n{done.transcript}", diff=done.diff,
            cost_usd=done.dollars,
        )  # fmt: skip
        tx.execute(
            "UPDATE attempts SET changed_files = ? WHERE task_id = ? AND number = ?",
            (json.dumps(done.files), work.task_id, work.attempt),
        )
        add_note_tx(tx, deps.clock, work.task_id, work.attempt, AttemptOutcome.VERIFIED, note)
        if moved_on is None:
            transition_tx(
                tx, deps.clock, work.task_id, TaskState.PR_OPEN, actor="worker",
                reason=f"PR #{published.pr_number} "
                f"{'updated' if published.reused_pr else 'opened'}",
                expect=[TaskState.RUNNING], pr_number=published.pr_number,
                head_sha=published.commit_sha, branch=published.branch, feedback=None,
            )  # fmt: skip
        return moved_on

    moved_on = await deps.store.run(record)
    if moved_on == TaskState.CANCELLED:
        await _close_orphan(deps, work, published, moved_on)


def _codebase_map(tree: Path) -> str:
    """The repository's own CODEBASE_MAP.md when it has one, else one generated now."""
    committed = tree / DEFAULT_MAP_NAME
    if committed.is_file():
        return committed.read_text(encoding="utf-8", errors="replace")
    return build_map(tree)


async def _attempt(deps: WorkerDeps, work: AttemptInput) -> Success:
    step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
    token = await deps.github.installation_token(
        work.installation_id, [work.repo], {"contents": "read", "metadata": "read"}
    )
    async with await deps.github.installation_client(work.installation_id, [work.repo]) as client:
        repository = (await client.rest.repos.async_get(work.owner, work.repo)).parsed_data
    with tempfile.TemporaryDirectory(prefix="townhall-base-") as directory:
        base_tree = Path(directory) / "tree"
        async with step("fetch"):
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
            raise AttemptFailed(AttemptOutcome.ERROR, str(error)) from error
        role = policy.roles.get(work.role)
        if role is None:
            raise AttemptFailed(AttemptOutcome.ERROR, f"role {work.role!r} is not in the policy")
        async with step("codebase_map"):
            codebase_map = await asyncio.to_thread(_codebase_map, base_tree)
        async with step("sandbox_setup"):
            sandbox = await create_sandbox(deps.sandbox_backend, base_tree)
        try:
            return await _work_in_sandbox(
                deps, work, policy, role, codebase_map, sandbox, base_tree
            )
        except UnpublishableChange as bad:
            raise AttemptFailed(AttemptOutcome.ERROR, f"unpublishable change: {bad}") from bad
        finally:
            await sandbox.close()


def _session(
    deps: WorkerDeps, work: AttemptInput, policy: Policy, role: Role, tools: ToolBox, map_: str
) -> AgentSession:
    """The agent's conversation: role prompt and codebase map first (the cached prefix)."""
    # A role that names its own tier keeps it; otherwise the plan's complexity picks one.
    tier = role.tier if role.tier != "standard" else TIER_FOR_COMPLEXITY.get(work.complexity)
    return AgentSession(
        llm=deps.llm,
        tools=tools,
        system=f"{role.system_prompt}\n\n# Codebase map\n{map_}",
        tier=cast(Tier, tier or "standard"),  # role tiers are validated by the policy parser
        context=CallContext(
            phase="agent", task_id=work.task_id, attempt=work.attempt, role=role.name
        ),
        limits=Limits(
            max_turns=policy.budget.max_turns,
            # The task's budget covers all its attempts, not each one.
            max_dollars=max(policy.budget.per_task_usd - work.spent_usd, 0.0),
            max_seconds=policy.budget.max_minutes * 60,
        ),
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
        if outcome in LIMITS:
            raise AttemptFailed(AttemptOutcome.LIMIT_REACHED, f"the agent stopped: {outcome}")
        if outcome != Outcome.FINISHED:
            raise AttemptFailed(
                AttemptOutcome.ERROR, session.summary or f"the agent stopped: {outcome}"
            )
        if not await collect_changes(sandbox, base_tree):
            raise AttemptFailed(
                AttemptOutcome.NO_CHANGES, "the agent finished without changing any file"
            )
        checks = await verify(sandbox, policy.commands, role.verify)
        if checks.passed:
            return checks
        if fix_round == policy.limits.fix_rounds:
            raise AttemptFailed(AttemptOutcome.BUILD_FAILED, checks.failure_log())
        outcome = await session.run(FIX_ROUND_MESSAGE.format(log=checks.failure_log()))
    raise AssertionError("unreachable")


async def _work_in_sandbox(
    deps: WorkerDeps,
    work: AttemptInput,
    policy: Policy,
    role: Role,
    codebase_map: str,
    sandbox: Sandbox,
    base_tree: Path,
) -> Success:
    step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
    tools = ToolBox.for_role(sandbox, role, policy.paths)
    session = _session(deps, work, policy, role, tools, codebase_map)
    try:
        async with step("agent_and_verify") as note:
            checks = await _agent_and_verify(
                session, sandbox, base_tree, policy, role, _task_message(work, Fence())
            )
            note.detail = f"{session.turns} turns, ${session.dollars:.4f}"
    except AttemptFailed as failed:
        # Keep the work so far: the diff goes with the failure record, never silently dropped;
        # an agent stopped by a limit with changes in hand also gets a draft PR.
        try:
            changes = await collect_changes(sandbox, base_tree)
        except UnpublishableChange as bad:
            failed.log = f"{failed.log}\n\nunpublishable change: {bad}"
            changes = {}
        failed.diff = unified_diff(changes, base_tree) or None
        failed.files = sorted(changes)
        failed.summary = session.summary
        failed.transcript = session.transcript()
        failed.dollars = session.dollars
        allowed = not changed_path_violations(changes, tools.rules)
        if failed.outcome == AttemptOutcome.LIMIT_REACHED and changes and allowed:
            async with step("publish_draft"):
                failed.draft = await _publish(deps, work, role, session, None, changes, draft=True)
        raise
    changes = await collect_changes(sandbox, base_tree)
    diff = unified_diff(changes, base_tree)
    if violations := changed_path_violations(changes, tools.rules):
        forbidden = AttemptFailed(AttemptOutcome.ERROR, "\n".join(violations), diff)
        forbidden.files = sorted(changes)
        raise forbidden
    async with step("publish"):
        published = await _publish(deps, work, role, session, checks, changes, draft=False)
    return Success(
        published,
        sorted(changes),
        diff,
        session.summary,
        checks,
        session.transcript(),
        session.dollars,
    )


async def _publish(
    deps: WorkerDeps,
    work: AttemptInput,
    role: Role,
    session: AgentSession,
    checks: Verification | None,
    changes: dict[str, FileChange],
    *,
    draft: bool,
) -> Published:
    """Commit through the API on the issue's branch and open (or reuse) its PR."""
    verified = (
        checks.report()
        if checks
        else ("not verified: the attempt stopped at a limit; this draft keeps its work")
    )
    files = "\n".join(f"- `{path}`" for path in sorted(changes))
    text = PullRequestText(
        PR_TITLE.format(title=work.title, number=work.issue_number),
        PR_BODY.format(
            number=work.issue_number,
            summary=inert_markdown(session.summary) or "(no summary: the attempt stopped early)",
            role=role.name,
            attempt=work.attempt,
            max_attempts=work.max_attempts,
            model=deps.llm.model_for(session.tier),
            input_tokens=session.input_tokens,
            output_tokens=session.output_tokens,
            cost=session.dollars,
            turns=session.turns,
            files=files,
            verification=verified,
        ),
    )
    permissions = {"contents": "write", "pull_requests": "write", "metadata": "read"}
    async with await deps.github.installation_client(
        work.installation_id, [work.repo], permissions
    ) as client:
        return await publish_change(
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
                summary=inert_markdown(session.summary) or "Work kept from an interrupted attempt.",
                task_id=work.task_id,
                attempt=work.attempt,
            ),
            pr=text,
            draft=draft,
            labels=(LIMIT_LABEL,) if draft else (),
        )
