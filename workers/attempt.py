"""One attempt of one task: from a clean copy of the repository to a PR or a recorded failure.

Trusted side: read the task, mint a narrowed token, fetch the tree, publish the result.
Sandbox side: the agent's files and commands, with no token or key anywhere in it.
Before the agent starts, the repository's environment is planned from the base tree and
prepared (its setup commands run once per environment, cached); the agent, its commands and
verification all run on it. An environment that cannot be set up ends the attempt as
`environment_failed`: maintainers are told, and no attempt or fix round is spent.
Every attempt that starts ends in a recorded state, whatever goes wrong.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import cast

from app.clock import Clock
from app.codemap import DEFAULT_MAP_NAME, build_map
from app.github.checkout import checkout
from app.github.client import GitHubAccess
from app.github.policy import policy_from_tree
from app.llm import LLM, AnthropicModel, CallContext, ModelUsage
from app.logs import log_context
from app.pathrules import PathError, read_tree_file
from app.policy import Policy, PolicyError
from app.roles import TIER_FOR_COMPLEXITY, Role
from app.sandbox import LocalSandboxes, Sandbox, SandboxFactory
from app.sandbox.environment import Environment, EnvironmentFailed
from app.sandbox.verify import Verification
from app.settings import Tier
from app.store import Store
from app.store.attempt_results import (
    AttemptInput,
    AttemptOutcome,
    AttemptReport,
    PublishedPull,
    read_attempt_input,
    record_attempt_report,
)
from app.store.attempts import WORKER_LEASE_TTL, attempt_lease
from app.store.leases import hand_over, keeping, process_holder
from app.store.timings import timed_step
from app.taskstate import TaskState
from app.threads import in_thread
from app.untrusted import Fence, code_span, fence_issue, inert_line, inert_markdown
from workers.agent import AgentSession, Limits, Outcome
from workers.changes import (
    UnpublishableChange,
    change_violations,
    collect_changes,
    unified_diff,
)
from workers.checks import BaseBroken, Checks, start_checks
from workers.environment import ENVIRONMENT_FAILED_NOTE, failure_text, plan_for_tree
from workers.hold import ApprovalHeld, check_approval, recorded_hold
from workers.memory import describe_attempt, render_notes
from workers.publish import FileChange, Published, PullRequestText, publish_change
from workers.texts import (
    COMMIT_MESSAGE,
    FEEDBACK_SECTION,
    FIX_ROUND_MESSAGE,
    ORPHAN_COMMENT,
    PR_BODY,
    PR_TITLE,
    TASK_MESSAGE,
    dollars,
)
from workers.tools import ToolBox
from workers.upstream import WatchedModel, model_outage, upstream_failure

log = logging.getLogger("townhall.worker")

# Agent outcomes that mean a limit stopped the work (kept as a draft PR when it changed files).
LIMITS = frozenset(
    {Outcome.TURN_LIMIT, Outcome.TOKEN_LIMIT, Outcome.BUDGET_LIMIT, Outcome.TIME_LIMIT}
)
LIMIT_LABEL = "townhall:limit-reached"
UNPUBLISHABLE = "the agent finished, but the sandbox holds files that cannot be published"
# A committed map larger than this is not a map an agent should read (generated ones are ~32 KB).
MAX_MAP_BYTES = 1_000_000


@dataclass
class WorkerDeps:
    """What a worker needs from the trusted side."""

    store: Store
    clock: Clock
    github: GitHubAccess
    llm: LLM
    sandboxes: SandboxFactory = field(default_factory=LocalSandboxes)
    # The attempt's lease is renewed every third of this; the CEO recovers it once expired.
    lease_ttl: timedelta = WORKER_LEASE_TTL


class AttemptFailed(Exception):
    """The attempt cannot produce a ready PR; `outcome` names why, `log` says what happened."""

    def __init__(
        self,
        outcome: AttemptOutcome,
        log: str,
        diff: str | None = None,
        files: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{outcome}: {log[:200]}")
        self.outcome = outcome
        self.log = log
        self.diff = diff
        self.files = files


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


async def run_attempt(
    deps: WorkerDeps, task_id: int, attempt: int, worker: str = "worker"
) -> AttemptReport | None:
    """Run one attempt, record its report (a PR, or a failure with its log and diff), return it.

    Returns None when the task is no longer running this attempt (a stale dispatch).
    """
    with log_context(task=task_id, attempt=attempt):
        try:
            work = await read_attempt_input(deps.store, task_id, attempt)
        except LookupError as stale:
            log.warning("attempt %s of task %s not run: %s", attempt, task_id, stale)
            return None
        report = await _attempt_under_lease(deps, work)
        moved_on = await record_attempt_report(deps.store, deps.clock, report)
        if report.pull is not None and moved_on is not None and _orphaned(report.pull, moved_on):
            await _close_orphan(deps, work, report.pull.number, moved_on)
        return report


async def _attempt_under_lease(deps: WorkerDeps, work: AttemptInput) -> AttemptReport:
    """Run the attempt while renewing its lease; whatever goes wrong, report how it ended."""
    try:
        lease = attempt_lease(work.task_id, work.attempt)
        # Take the lease over from the holder the CEO recorded at dispatch, as this process,
        # so a kill of this process is seen at once (app/store/leases.expire_abandoned).
        holder = process_holder(f"worker:{work.task_id}:{work.attempt}")
        if not await hand_over(deps.store, deps.clock, lease, work.holder, holder, deps.lease_ttl):
            holder = work.holder  # lost already: the renewals say so, the tick recovers it
        async with keeping(deps.store, deps.clock, lease, holder, deps.lease_ttl):
            return await _attempt(deps, work)
    except AttemptFailed as failed:
        return _failure_report(work, failed)
    except Exception as error:  # a bug or an outage: the attempt still ends, recorded
        log.exception("attempt %s of task %s crashed", work.attempt, work.task_id)
        # An outage is not the change's failure: it does not use up an attempt.
        kind = AttemptOutcome.UPSTREAM_ERROR if upstream_failure(error) else AttemptOutcome.ERROR
        crash = AttemptFailed(kind, f"{type(error).__name__}: {error}")
        return _failure_report(work, crash)


def _orphaned(pull: PublishedPull, moved_on: TaskState) -> bool:
    """Whether a PR made for a task that moved on meanwhile must be closed.

    A draft of unfinished work is never wanted once its task moved on; a verified PR is closed
    only when its task was cancelled, since a task sent back to the queue reuses its branch.
    """
    return pull.draft or moved_on == TaskState.CANCELLED


async def _close_orphan(
    deps: WorkerDeps, work: AttemptInput, pr_number: int, state: TaskState
) -> None:
    """Close a PR whose task moved on (cancelled, vetoed, or retried) while it was made."""
    permissions = {"pull_requests": "write", "issues": "write", "metadata": "read"}
    async with await deps.github.installation_client(
        work.installation_id, [work.repo], permissions
    ) as client:
        await client.rest.issues.async_create_comment(
            work.owner, work.repo, pr_number, data={"body": ORPHAN_COMMENT.format(state=state)}
        )
        await client.rest.pulls.async_update(
            work.owner, work.repo, pr_number, data={"state": "closed"}
        )


def _report(
    work: AttemptInput,
    outcome: AttemptOutcome,
    *,
    log: str,
    note: str,
    session: AgentSession | None = None,
    diff: str | None = None,
    files: tuple[str, ...] = (),
    pull: PublishedPull | None = None,
) -> AttemptReport:
    """The attempt's immutable report, with the agent's usage when it got that far."""
    usage = session.usage if session is not None else ModelUsage()
    return AttemptReport(
        task_id=work.task_id,
        attempt=work.attempt,
        outcome=outcome,
        log=log,
        note=note,
        transcript=session.transcript() if session is not None else "",
        diff=diff,
        changed_files=files,
        summary=session.summary if session is not None else "",
        turns=usage.calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.dollars,
        pull=pull,
    )


def _failure_report(
    work: AttemptInput,
    failed: AttemptFailed,
    session: AgentSession | None = None,
    draft: PublishedPull | None = None,
) -> AttemptReport:
    """Report a failed attempt; a draft that keeps its work is named in its log and note."""
    kept = f" Its work is kept as draft PR #{draft.number}." if draft else ""
    summary = session.summary if session is not None else ""
    note = describe_attempt(failed.outcome, summary, failed.files, failed.log, "") + kept
    if failed.outcome == AttemptOutcome.ENVIRONMENT_FAILED:
        # Later attempts read the notes: a setup log is nothing an agent could act on.
        note = ENVIRONMENT_FAILED_NOTE
    return _report(
        work, failed.outcome, log=failed.log + kept, note=note, session=session,
        diff=failed.diff, files=failed.files, pull=draft,
    )  # fmt: skip


def _codebase_map(tree: Path) -> str:
    """The repository's own CODEBASE_MAP.md when it has one, else one generated now."""
    try:
        committed = read_tree_file(tree, DEFAULT_MAP_NAME, MAX_MAP_BYTES)
    except PathError:  # a link (to /proc/self/environ, say) or a huge file is never read
        committed = None
    if committed is not None:
        return committed.decode("utf-8", errors="replace")
    return build_map(tree)


async def _attempt(deps: WorkerDeps, work: AttemptInput) -> AttemptReport:
    if reason := await recorded_hold(deps.store, work):
        raise AttemptFailed(AttemptOutcome.HELD, ApprovalHeld(reason).log)
    step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
    with tempfile.TemporaryDirectory(prefix="townhall-base-") as directory:
        base_tree = Path(directory) / "tree"
        async with step("fetch"):
            await checkout(
                deps.github,
                work.installation_id,
                work.owner,
                work.repo,
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
        environment = await _prepare(deps, work, policy, base_tree)
        async with step("codebase_map"):
            codebase_map = await in_thread(_codebase_map, base_tree)
        # The base commit's own build and test start meanwhile (once per base and environment).
        checks = start_checks(
            deps.store, deps.clock, deps.sandboxes, environment, base_tree, work, role.verify
        )
        try:
            async with step("sandbox_setup"):
                sandbox = await deps.sandboxes.create(base_tree, environment)
            try:
                return await _work_in_sandbox(
                    deps, work, policy, role, codebase_map, sandbox, base_tree, checks
                )
            except UnpublishableChange as bad:
                raise AttemptFailed(AttemptOutcome.ERROR, f"unpublishable change: {bad}") from bad
            finally:
                await sandbox.close()
        finally:
            await checks.stop()


async def _prepare(
    deps: WorkerDeps, work: AttemptInput, policy: Policy, base_tree: Path
) -> Environment:
    """Plan the environment from the base tree and prepare it, before any agent starts."""
    step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
    try:
        async with step("environment") as note:
            plan = await in_thread(plan_for_tree, base_tree, policy)
            environment = await deps.sandboxes.prepare(plan, base_tree)
            how = "reused" if environment.reused else "set up"
            note.detail = f"{plan.stack}: {how} in {environment.seconds:.1f} s"
    except EnvironmentFailed as failed:
        raise AttemptFailed(AttemptOutcome.ENVIRONMENT_FAILED, failure_text(failed)) from failed
    return environment


def _tier(role: Role, complexity: str) -> Tier:
    """A role that names its own tier keeps it; otherwise the plan's complexity picks one."""
    if role.tier != "standard":
        return cast(Tier, role.tier)  # role tiers are validated by the policy parser
    return TIER_FOR_COMPLEXITY.get(complexity, "standard")


def _session(
    deps: WorkerDeps, work: AttemptInput, policy: Policy, role: Role, tools: ToolBox, map_: str
) -> AgentSession:
    """The agent's conversation: role prompt and codebase map first (the cached prefix)."""
    context = CallContext(phase="agent", task_id=work.task_id, attempt=work.attempt, role=role.name)
    return AgentSession(
        model=WatchedModel(AnthropicModel(deps.llm, _tier(role, work.complexity), context)),
        tools=tools,
        system=f"{role.system_prompt}\n\n# Codebase map\n{map_}",
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
    checks_to_run: Checks,
    message: str,
) -> Verification:
    """Run the agent, then the checks; feed failures back for the configured fix rounds."""
    outcome = await session.run(message)
    for fix_round in range(policy.limits.fix_rounds + 1):
        if outcome in LIMITS:
            raise AttemptFailed(AttemptOutcome.LIMIT_REACHED, f"the agent stopped: {outcome}")
        if outcome == Outcome.MODEL_ERROR and model_outage(session.model):
            raise AttemptFailed(AttemptOutcome.UPSTREAM_ERROR, session.summary)
        if outcome != Outcome.FINISHED:
            raise AttemptFailed(
                AttemptOutcome.ERROR, session.summary or f"the agent stopped: {outcome}"
            )
        try:
            changed = await collect_changes(
                sandbox, base_tree, max_file_bytes=policy.paths.max_file_bytes
            )
        except UnpublishableChange as bad:  # _keep_failed_work adds the details and the usage
            raise AttemptFailed(AttemptOutcome.ERROR, UNPUBLISHABLE) from bad
        if not changed:
            raise AttemptFailed(
                AttemptOutcome.NO_CHANGES, "the agent finished without changing any file"
            )
        try:
            checks = await checks_to_run.run(sandbox)
        except BaseBroken as broken:
            raise AttemptFailed(AttemptOutcome.ENVIRONMENT_FAILED, broken.text) from broken
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
    checks_to_run: Checks,
) -> AttemptReport:
    step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
    tools = ToolBox.for_role(sandbox, role, policy.paths)
    session = _session(deps, work, policy, role, tools, codebase_map)
    try:
        async with step("agent_and_verify") as note:
            checks = await _agent_and_verify(
                session, sandbox, base_tree, policy, checks_to_run, _task_message(work, Fence())
            )
            note.detail = f"{session.turns} turns, ${session.dollars:.4f}"
    except AttemptFailed as failed:
        return await _keep_failed_work(deps, work, role, session, tools, sandbox, base_tree, failed)
    try:  # the checks ran commands after the agent: the sandbox may have changed again
        changes = await collect_changes(
            sandbox, base_tree, max_file_bytes=tools.rules.max_file_bytes
        )
    except UnpublishableChange:
        unpublishable = AttemptFailed(AttemptOutcome.ERROR, UNPUBLISHABLE)
        return await _keep_failed_work(
            deps, work, role, session, tools, sandbox, base_tree, unpublishable
        )
    diff = unified_diff(changes, base_tree)
    files = tuple(sorted(changes))
    if violations := change_violations(changes, base_tree, tools.rules):
        forbidden = AttemptFailed(AttemptOutcome.ERROR, "\n".join(violations), diff, files)
        return _failure_report(work, forbidden, session)
    try:
        async with step("publish"):
            published = await _publish(deps, work, role, session, checks, changes, draft=False)
    except ApprovalHeld as held:
        not_published = AttemptFailed(AttemptOutcome.HELD, held.log, diff, files)
        return _failure_report(work, not_published, session)
    memory = describe_attempt(AttemptOutcome.VERIFIED, session.summary, files, "", checks.report())
    return _report(
        work, AttemptOutcome.VERIFIED, log=checks.report(), note=memory, session=session,
        diff=diff, files=files, pull=_pull(published, draft=False),
    )  # fmt: skip


async def _keep_failed_work(
    deps: WorkerDeps,
    work: AttemptInput,
    role: Role,
    session: AgentSession,
    tools: ToolBox,
    sandbox: Sandbox,
    base_tree: Path,
    failed: AttemptFailed,
) -> AttemptReport:
    """Report a failed agent run with its work so far: the diff, and a draft PR after a limit.

    The diff goes with the failure record, never silently dropped; an agent stopped by a
    limit with changes in hand also gets a draft PR.
    """
    log_text = failed.log
    try:
        changes = await collect_changes(
            sandbox, base_tree, max_file_bytes=tools.rules.max_file_bytes
        )
    except UnpublishableChange as bad:
        log_text = f"{log_text}\n\nunpublishable change: {bad}"
        changes = {}
    kept = AttemptFailed(
        failed.outcome, log_text, unified_diff(changes, base_tree) or None, tuple(sorted(changes))
    )
    draft = None
    allowed = not change_violations(changes, base_tree, tools.rules)
    if failed.outcome == AttemptOutcome.LIMIT_REACHED and changes and allowed:
        step = partial(timed_step, deps.store, deps.clock, work.task_id, work.attempt)
        try:
            async with step("publish_draft"):
                published = await _publish(deps, work, role, session, None, changes, draft=True)
            draft = _pull(published, draft=True)
        except ApprovalHeld as held:
            kept = AttemptFailed(AttemptOutcome.HELD, held.log, kept.diff, kept.files)
    return _failure_report(work, kept, session, draft)


def _pull(published: Published, *, draft: bool) -> PublishedPull:
    return PublishedPull(
        published.pr_number, published.commit_sha, published.branch, published.reused_pr, draft
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
    # Titles and file names come from untrusted people and the agent: inert on GitHub.
    title = inert_line(work.title)
    files = "\n".join(f"- {code_span(path)}" for path in sorted(changes))
    text = PullRequestText(
        PR_TITLE.format(title=title, number=work.issue_number),
        PR_BODY.format(
            number=work.issue_number,
            summary=inert_markdown(session.summary) or "(no summary: the attempt stopped early)",
            role=role.name,
            attempt=work.attempt,
            max_attempts=work.max_attempts,
            model=deps.llm.model_for(_tier(role, work.complexity)),
            input_tokens=session.usage.input_tokens,
            output_tokens=session.usage.output_tokens,
            cost=dollars(session.dollars),
            turns=session.turns,
            files=files,
            verification=verified,
        ),
    )
    permissions = {
        "contents": "write", "pull_requests": "write", "issues": "read", "metadata": "read"
    }  # fmt: skip
    async with await deps.github.installation_client(
        work.installation_id, [work.repo], permissions
    ) as client:
        await check_approval(deps.store, client, work)  # raises ApprovalHeld
        return await publish_change(
            client,
            owner=work.owner,
            repo=work.repo,
            base_branch=work.default_branch,
            base_sha=work.base_sha,
            issue_number=work.issue_number,
            changes=changes,
            message=COMMIT_MESSAGE.format(
                title=title,
                number=work.issue_number,
                summary=inert_markdown(session.summary) or "Work kept from an interrupted attempt.",
                task_id=work.task_id,
                attempt=work.attempt,
            ),
            pr=text,
            draft=draft,
            labels=(LIMIT_LABEL,) if draft else (),
        )
