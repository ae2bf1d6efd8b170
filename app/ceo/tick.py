"""The CEO tick: lease, drain, recover, then per repository sweep, reconcile, plan, schedule.

Safe to kill at any point and to run again: every step reads the state it acts on from the
store or GitHub, and every change is one transaction, so a re-run finishes what was left.
"""

from __future__ import annotations

import logging

from app.ceo.catch_up import catch_up
from app.ceo.deps import RepoView, TickDeps
from app.ceo.installations_step import reconcile_installations
from app.ceo.notify_step import notify_needs_human
from app.ceo.plan_step import plan_approved
from app.ceo.reconcile import open_pulls, reconcile
from app.ceo.report import TickReport
from app.ceo.review_step import check_merges, review_ready
from app.ceo.schedule_step import schedule
from app.github.checkout import mirror
from app.github.client import Client
from app.github.policy import policy_from_github
from app.policy import PolicyError
from app.store.attempts import recover_lost_attempts, requeue_after_backoff
from app.store.leases import (
    acquire,
    expire_abandoned,
    holder_of,
    keeping,
    process_holder,
    purge_expired,
    release,
)
from app.store.repos import ActiveRepo, active_repos, set_policy_error
from app.store.tasks import record_event
from app.store.timings import timed_tick
from app.votes.sweep import RepoRef, SweepBusy, VoteServices, sweep_repository

log = logging.getLogger("townhall.ceo")

TICK_LEASE = "ceo-tick"


def tick_holder() -> str:
    """A name for this tick in the lease table: host and process (so its death is seen)."""
    return process_holder("tick")


async def run_tick(deps: TickDeps, holder: str | None = None) -> TickReport:
    """Run one tick unless another holds the lease; return what it did."""
    me = holder or tick_holder()
    # A tick (or worker, or review) killed on this host left leases nobody renews: end them
    # now rather than when they run out, so this tick and the recoveries below go ahead.
    await expire_abandoned(deps.store, deps.clock)
    if not await acquire(deps.store, deps.clock, TICK_LEASE, me, deps.tick_lease_ttl):
        other = await holder_of(deps.store, deps.clock, TICK_LEASE)
        return TickReport(ran=False, reason=f"another tick is running ({other}); exiting")
    report = TickReport(ran=True)
    try:
        async with (
            keeping(deps.store, deps.clock, TICK_LEASE, me, deps.tick_lease_ttl),
            timed_tick(deps.store, deps.clock) as note,
        ):
            await _work(deps, report)
            note.ok = not report.errors
            note.detail = f"{len(report.dispatched)} dispatched, {len(report.errors)} errors"
    finally:
        await release(deps.store, TICK_LEASE, me)
    return report


async def _work(deps: TickDeps, report: TickReport) -> None:
    """Everything a tick does while it holds the lease."""
    report.drained = await deps.processor.drain()
    report.recovered = await recover_lost_attempts(deps.store, deps.clock)
    await requeue_after_backoff(deps.store, deps.clock)
    if not deps.app_login:
        deps.app_login = await deps.github.app_login()
    await _reconcile_installations(deps, report)
    repos = await active_repos(deps.store)
    for repo in repos:
        try:
            await _tick_repo(deps, repo, report)
        except Exception as error:  # one broken repository must not stop the others
            log.exception("tick failed for %s", repo.full_name)
            report.errors.append(f"{repo.full_name}: {type(error).__name__}: {error}")
    report.post_merge_checks = await check_merges(deps)
    await purge_expired(deps.store, deps.clock)  # after every recovery that reads them
    await deps.store.run(
        lambda tx: record_event(
            tx,
            deps.clock,
            actor="ceo",
            kind="tick_completed",
            reason=f"{len(repos)} repositories, {len(report.dispatched)} dispatched, "
            f"{len(report.errors)} errors",
        )
    )


async def _reconcile_installations(deps: TickDeps, report: TickReport) -> None:
    """Catch up on installation webhooks GitHub never redelivers; a failure skips only this."""
    try:
        report.installations_changed = await reconcile_installations(
            deps.store, deps.clock, deps.github
        )
    except Exception as error:  # the stored installations still serve this tick
        log.exception("installation reconcile failed")
        report.errors.append(f"installations: {type(error).__name__}: {error}")


async def _tick_repo(deps: TickDeps, repo: ActiveRepo, report: TickReport) -> None:
    # One open client for the whole repository step: githubkit otherwise builds a new HTTP
    # connection pool (and reloads CA certificates) for every request.
    async with await deps.github.installation_client(repo.installation_id) as client:
        await _tick_repo_with(deps, client, repo, report)


async def _tick_repo_with(
    deps: TickDeps, client: Client, repo: ActiveRepo, report: TickReport
) -> None:
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
        report.errors.append(f"{full_name}: {error}")
        return
    await set_policy_error(deps.store, repo_id, None)
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
