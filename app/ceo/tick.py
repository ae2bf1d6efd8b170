"""The CEO tick: lease, drain, recover, then per repository sweep, reconcile, plan, schedule.

Safe to kill at any point and to run again: every step reads the state it acts on from the
store or GitHub, and every change is one transaction, so a re-run finishes what was left.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from app.ceo.deps import RepoView, TickDeps, TickReport
from app.ceo.notify_step import notify_needs_human
from app.ceo.plan_step import plan_approved
from app.ceo.reconcile import open_pulls, reconcile
from app.ceo.review_step import check_merges, review_ready
from app.ceo.schedule_step import schedule
from app.github.client import Client
from app.github.git import mirror_branch
from app.github.policy import policy_from_github
from app.policy import PolicyError
from app.store.attempts import recover_lost_attempts
from app.store.leases import acquire, holder_of, keeping, release
from app.store.tasks import record_event
from app.store.timings import timed_tick
from app.votes.sweep import RepoRef, VoteServices, sweep_repository

log = logging.getLogger("townhall.ceo")

TICK_LEASE = "ceo-tick"
# Longer than a tick should ever take; a crashed tick's lease frees itself after this.
TICK_LEASE_TTL = timedelta(minutes=15)


def tick_holder() -> str:
    """A name for this tick in the lease table: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_tick(deps: TickDeps, holder: str | None = None) -> TickReport:
    """Run one tick unless another holds the lease; return what it did."""
    me = holder or tick_holder()
    if not await acquire(deps.store, deps.clock, TICK_LEASE, me, TICK_LEASE_TTL):
        other = await holder_of(deps.store, deps.clock, TICK_LEASE)
        return TickReport(ran=False, reason=f"another tick is running ({other}); exiting")
    report = TickReport(ran=True)
    try:
        async with (
            keeping(deps.store, deps.clock, TICK_LEASE, me, TICK_LEASE_TTL),
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
    if not deps.app_login:
        deps.app_login = await deps.github.app_login()
    repos = await deps.store.fetchall(
        "SELECT r.id, r.installation_id, r.full_name, r.default_branch FROM repos r"
        " JOIN installations i ON i.id = r.installation_id"
        " WHERE r.active = 1 AND i.deleted_at IS NULL AND i.suspended_at IS NULL"
        " ORDER BY r.id"
    )
    for row in repos:
        try:
            await _tick_repo(deps, row, report)
        except Exception as error:  # one broken repository must not stop the others
            log.exception("tick failed for %s", row["full_name"])
            report.errors.append(f"{row['full_name']}: {type(error).__name__}: {error}")
    report.post_merge_checks = await check_merges(deps)
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


async def _tick_repo(deps: TickDeps, row: dict[str, object], report: TickReport) -> None:
    installation_id = int(str(row["installation_id"]))
    # One open client for the whole repository step: githubkit otherwise builds a new HTTP
    # connection pool (and reloads CA certificates) for every request.
    async with await deps.github.installation_client(installation_id) as client:
        await _tick_repo_with(deps, client, row, report)


async def _tick_repo_with(
    deps: TickDeps, client: Client, row: dict[str, object], report: TickReport
) -> None:
    repo_id, installation_id = int(str(row["id"])), int(str(row["installation_id"]))
    full_name, branch = str(row["full_name"]), str(row["default_branch"])
    owner, name = full_name.split("/", 1)
    try:
        policy = await policy_from_github(client, owner, name, branch)
    except PolicyError as error:
        # Never fall back to defaults silently: say what is wrong and leave the repo alone.
        await deps.store.execute(
            "UPDATE repos SET policy_error = ? WHERE id = ?", (str(error), repo_id)
        )
        report.errors.append(f"{full_name}: {error}")
        return
    await deps.store.execute("UPDATE repos SET policy_error = NULL WHERE id = ?", (repo_id,))
    services = VoteServices(deps.store, deps.clock, deps.github, deps.app_login)
    swept = await sweep_repository(services, RepoRef(repo_id, installation_id, full_name), policy)
    report.swept[full_name] = swept.issues

    token = await deps.github.installation_token(installation_id, [name], {"contents": "read"})
    repository = (await client.rest.repos.async_get(owner, name)).parsed_data
    mirror = deps.workdir / "mirrors" / str(repo_id)
    head = await asyncio.to_thread(mirror_branch, repository.clone_url, token.token, branch, mirror)
    view = RepoView(repo_id, installation_id, full_name, branch, client, policy, mirror, head)

    pulls = await open_pulls(deps, view)
    report.reconciled += await reconcile(deps, view, pulls)
    planned, failed = await plan_approved(deps, view)
    report.planned += planned
    report.plan_failures += failed
    report.reviews += await review_ready(deps, view)
    await schedule(deps, view, pulls, report)
    report.told += await notify_needs_human(deps, view)
