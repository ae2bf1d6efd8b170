"""One repository's part of a tick, under that repository's own lease, and running many at once.

A step catches up, reads the policy, sweeps votes, fetches the mirror, reconciles PRs, plans,
reviews, schedules and tells people, for one repository. It holds the lease `repo:<id>` while
it runs, so two steps of one repository never overlap (a second tick, or a Modal function
still running, leaves the repository to the first), while steps of different repositories
run side by side: their time goes to GitHub and git, and the store keeps its single writer.
A step never raises: what went wrong is in its report, under the repository's name, and the
next tick starts that repository over (every step reads its state from the store and GitHub).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from app.ceo.catch_up import catch_up
from app.ceo.deps import RepoView, TickDeps
from app.ceo.notify_step import notify_needs_human
from app.ceo.plan_step import plan_approved
from app.ceo.policy_status import report_policy
from app.ceo.reconcile import open_pulls, reconcile
from app.ceo.report import TickReport
from app.ceo.review_step import review_ready
from app.ceo.schedule_step import schedule
from app.github.checkout import mirror
from app.github.client import Client
from app.github.policy import policy_from_github
from app.policy import PolicyError
from app.store.leases import holder_of, holding, process_holder
from app.store.repos import ActiveRepo, set_policy_error
from app.votes.sweep import RepoRef, SweepBusy, VoteServices, sweep_repository

log = logging.getLogger("townhall.ceo")


def repo_lease(repo_id: int) -> str:
    """Return the name of the lease a repository's step holds."""
    return f"repo:{repo_id}"


def step_holder() -> str:
    """Name a holder for one step: unique, and naming this process (so its death is seen)."""
    return process_holder(f"repo-step-{uuid.uuid4().hex[:12]}")


def failed_step(repo: ActiveRepo, error: BaseException) -> TickReport:
    """Report a step that ended with `error` as an error of its repository."""
    return TickReport(ran=True, errors=[f"{repo.full_name}: {type(error).__name__}: {error}"])


def step_reports(
    repos: Sequence[ActiveRepo], outputs: Sequence[TickReport | BaseException]
) -> list[TickReport]:
    """Pair the results of steps run elsewhere with their repositories, in order."""
    # A step never raises; an exception here is a step that died (its container crashed or
    # timed out): reported as an error of its repository, like a step's own failure.
    if len(outputs) != len(repos):
        raise ValueError(f"{len(outputs)} step results for {len(repos)} repositories")
    return [
        output if isinstance(output, TickReport) else failed_step(repo, output)
        for repo, output in zip(repos, outputs, strict=True)
    ]


async def run_repo_steps(deps: TickDeps, repos: Sequence[ActiveRepo]) -> list[TickReport]:
    """Run every repository's step in this process, `deps.repo_concurrency` at a time."""
    bound = asyncio.Semaphore(deps.repo_concurrency)

    async def bounded(repo: ActiveRepo) -> TickReport:
        async with bound:
            return await tick_repository(deps, repo)

    return list(await asyncio.gather(*(bounded(repo) for repo in repos)))


async def tick_repository(deps: TickDeps, repo: ActiveRepo) -> TickReport:
    """Run one repository's step unless another holds its lease; report, never raise."""
    report = TickReport(ran=True)
    name = repo_lease(repo.id)
    try:
        async with holding(
            deps.store, deps.clock, name, step_holder(), deps.tick_lease_ttl
        ) as mine:
            if not mine:
                other = await holder_of(deps.store, deps.clock, name)
                report.repos_busy.append(f"{repo.full_name} ({other or 'just released'})")
                return report
            await _step(deps, repo, report)
    except Exception as error:  # one broken repository must not stop the others
        log.exception("tick failed for %s", repo.full_name)
        report.errors += failed_step(repo, error).errors
    return report


async def _step(deps: TickDeps, repo: ActiveRepo, report: TickReport) -> None:
    # One open client for the whole repository step: githubkit otherwise builds a new HTTP
    # connection pool (and reloads CA certificates) for every request.
    async with await deps.github.installation_client(repo.installation_id) as client:
        await _step_with(deps, client, repo, report)


async def _report_policy(
    deps: TickDeps, client: Client, repo: ActiveRepo, error: PolicyError | None
) -> None:
    """Say on GitHub (a commit status) whether the policy is usable, when that changed."""
    public_url = deps.settings.public_url
    await report_policy(client, deps.store, repo, error, clock=deps.clock, public_url=public_url)


async def _step_with(deps: TickDeps, client: Client, repo: ActiveRepo, report: TickReport) -> None:
    repo_id, installation_id = repo.id, repo.installation_id
    full_name, branch = repo.full_name, repo.default_branch
    owner, name = full_name.split("/", 1)
    # Before anything is swept, planned or scheduled: a veto made while Townhall was down
    # (its webhook lost) must stop the task now, not after the merge.
    caught = await catch_up(deps, client, repo)
    if caught.comments or caught.label_changes:
        report.caught_up[full_name] = caught.comments + caught.label_changes
    try:
        policy = await policy_from_github(client, owner, name, branch)
    except PolicyError as error:
        # Never fall back to defaults silently: say what is wrong and leave the repo alone.
        await set_policy_error(deps.store, repo_id, str(error))
        await _report_policy(deps, client, repo, error)
        report.errors.append(f"{full_name}: {error}")
        return
    await set_policy_error(deps.store, repo_id, None)
    await _report_policy(deps, client, repo, None)
    services = VoteServices(deps.store, deps.clock, deps.github, deps.app_login)
    try:
        swept = await sweep_repository(
            services, RepoRef(repo_id, installation_id, full_name), policy
        )
        report.swept[full_name] = swept.issues
    except SweepBusy:
        # Another sweep (the web app's, perhaps waiting out a rate limit) is counting these
        # votes: only voting waits for it; the PRs, plans, reviews and queue go on.
        log.info("votes of %s skipped: another sweep is running", full_name)
        report.sweeps_busy.append(full_name)

    mirror_path = deps.workdir / "mirrors" / str(repo_id)
    head = await mirror(deps.github, installation_id, owner, name, branch, mirror_path)
    view = RepoView(repo_id, installation_id, full_name, branch, client, policy, mirror_path, head)

    pulls = await open_pulls(deps, view)
    report.reconciled += await reconcile(deps, view, pulls)
    planned, failed = await plan_approved(deps, view)
    report.planned += planned
    report.plan_failures += failed
    report.reviews += await review_ready(deps, view)
    await schedule(deps, view, pulls, report)
    report.told += await notify_needs_human(deps, view, pulls)
