"""The CEO tick: a short global step under the tick's lease, then a step per repository.

The global step drains the inbox, recovers lost attempts and reconciles installations; then
each active repository gets its own step (app/ceo/repo_step.py) under its own lease, many at
once: here `deps.repo_concurrency` at a time, on Modal one function per repository
(`deps.repo_steps`). A repository that fails or dies stops only itself. Safe to kill at any
point and to run again: every step reads the state it acts on from the store or GitHub, and
every change is one transaction, so a re-run finishes what was left.
"""

from __future__ import annotations

import logging

from app.ceo.deps import TickDeps
from app.ceo.installations_step import reconcile_installations
from app.ceo.repo_step import run_repo_steps
from app.ceo.report import TickReport
from app.ceo.review_step import check_merges
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
from app.store.repos import ActiveRepo, active_repos
from app.store.tasks import record_event
from app.store.timings import tick_detail, timed_tick

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
            note.detail = tick_detail(len(report.dispatched), report.errors)
    finally:
        await release(deps.store, TICK_LEASE, me)
    return report


async def _work(deps: TickDeps, report: TickReport) -> None:
    """Everything a tick does while it holds the lease."""
    repos = await global_step(deps, report)
    if deps.repo_steps is None:
        steps = await run_repo_steps(deps, repos)
    else:
        steps = await deps.repo_steps(repos, deps.app_login)
    for step in steps:
        report.add(step)
    report.post_merge_checks = await check_merges(deps)
    await purge_expired(deps.store, deps.clock)  # after every recovery that reads them
    await deps.store.run(
        lambda tx: record_event(
            tx,
            deps.clock,
            actor="ceo",
            kind="tick_completed",
            reason=f"{plural(len(repos), 'repository', 'repositories')}, "
            f"{len(report.dispatched)} dispatched, {plural(len(report.errors), 'error')}",
        )
    )


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 error`, `2 errors`."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


async def global_step(deps: TickDeps, report: TickReport) -> list[ActiveRepo]:
    """Drain, recover and reconcile installations; return the repositories to step through."""
    report.drained = await deps.processor.drain()
    report.recovered = await recover_lost_attempts(deps.store, deps.clock)
    await requeue_after_backoff(deps.store, deps.clock)
    if not deps.app_login:
        deps.app_login = await deps.github.app_login()
    await _reconcile_installations(deps, report)
    return await active_repos(deps.store)


async def _reconcile_installations(deps: TickDeps, report: TickReport) -> None:
    """Catch up on installation webhooks GitHub never redelivers; a failure skips only this."""
    try:
        report.installations_changed = await reconcile_installations(
            deps.store, deps.clock, deps.github
        )
    except Exception as error:  # the stored installations still serve this tick
        log.exception("installation reconcile failed")
        report.errors.append(f"installations: {type(error).__name__}: {error}")
