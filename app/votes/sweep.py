"""One vote sweep of a repository: read, decide, record, and show what changed.

Reads go through GraphQL (about one request per 100 open issues), decisions are pure, each batch
of decisions is one store transaction (with the tasks they create or cancel), and the issue is
only written to when its tally or its labels differ from what Townhall last put there.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.policy import Policy
from app.store import Store, leases
from app.store.votes import (
    SweepFigures,
    finish_sweep_tx,
    save_labels_applied_tx,
    save_tally_tx,
    start_sweep_tx,
)
from app.votes import query
from app.votes.explain import explanation, explanation_fingerprint
from app.votes.facts import VoterCaches, VoterLookup
from app.votes.fetch import Meter, VoteReader, chunks
from app.votes.publish import Publisher
from app.votes.record import Decided, IssueMemory, load_memory_tx, record_decisions_tx
from app.votes.rules import decide
from app.votes.tally import OWN_LABELS, fingerprint, render_tally, state_labels

log = logging.getLogger(__name__)

DECISIONS_PER_TRANSACTION = 100
# One sweep of a repository at a time, across processes (the tick and the web app's
# debounced sweeps): two at once could both post a first tally comment.
LEASE_TTL = timedelta(minutes=10)
RENEW_EVERY = 50  # published issues between lease renewals


class SweepBusy(Exception):
    """Another sweep of the same repository is running; try again later."""


@dataclass
class _SweepLease:
    store: Store
    clock: Clock
    name: str
    # Named after this process, so a tick ends the lease of a killed sweep at once (leases.py).
    holder: str = field(
        default_factory=lambda: leases.process_holder(f"sweep-{uuid.uuid4().hex[:12]}")
    )

    async def acquire(self) -> None:
        if not await leases.acquire(self.store, self.clock, self.name, self.holder, LEASE_TTL):
            raise SweepBusy(f"{self.name} is held by another sweep")

    async def renew(self) -> None:
        await leases.renew(self.store, self.clock, self.name, self.holder, LEASE_TTL)

    async def release(self) -> None:
        await leases.release(self.store, self.name, self.holder)


@dataclass(frozen=True)
class RepoRef:
    """A repository Townhall is installed on."""

    id: int
    installation_id: int
    full_name: str

    @property
    def owner(self) -> str:
        """Return the owner's login."""
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        """Return the repository's name."""
        return self.full_name.split("/", 1)[1]


@dataclass
class VoteServices:
    """What a sweep needs: the store, the clock, GitHub access, and the App's own login."""

    store: Store
    clock: Clock
    github: GitHubAccess
    app_login: str
    caches: VoterCaches = field(init=False)

    def __post_init__(self) -> None:
        self.caches = VoterCaches(self.clock)


@dataclass
class SweepReport:
    """What one sweep saw, changed and cost."""

    repo: str
    sweep_id: int
    issues: int
    changes: list[tuple[int, str, str]]
    comments_written: int
    labels_synced: int
    meter: Meter
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)

    def figures(self) -> SweepFigures:
        """Return the figures stored on the sweep's audit row."""
        return SweepFigures(
            issues=self.issues,
            changed=len(self.changes),
            graphql_requests=self.meter.graphql_requests,
            graphql_cost=self.meter.graphql_cost,
            rest_requests=self.meter.rest_reads + self.meter.rest_writes,
        )


async def sweep_repository(
    services: VoteServices,
    repo: RepoRef,
    policy: Policy,
    *,
    numbers: Collection[int] | None = None,
) -> SweepReport:
    """Sweep every open issue of `repo` (or only `numbers`) and act on what changed.

    Raises SweepBusy when another sweep of the repository holds its lease.
    """
    lease = _SweepLease(services.store, services.clock, f"votes:{repo.id}")
    await lease.acquire()
    try:
        # One open client for the whole sweep: githubkit otherwise builds a new HTTP client
        # (and reloads CA certificates) for every request.
        async with await services.github.installation_client(repo.installation_id) as client:
            return await _sweep(services, client, repo, policy, numbers, lease)
    finally:
        await lease.release()


async def _sweep(
    services: VoteServices,
    client: Client,
    repo: RepoRef,
    policy: Policy,
    numbers: Collection[int] | None,
    lease: _SweepLease,
) -> SweepReport:
    started = time.perf_counter()
    phases: dict[str, float] = {}
    store, clock, votes = services.store, services.clock, policy.votes
    meter = Meter()
    reader = VoteReader(client, repo.owner, repo.name, meter)
    reads = await (reader.issues(numbers) if numbers is not None else reader.open_issues())
    contents = query.counted_contents(
        votes.up, votes.down, (votes.approve_reaction, votes.veto_reaction)
    )
    await reader.complete(reads, contents)
    issues = [read.snapshot() for read in reads]
    phases["read"] = time.perf_counter() - started

    scope = "all open issues" if numbers is None else f"issues {sorted(numbers)}"
    sweep_id = await store.run(lambda tx: start_sweep_tx(tx, clock, repo.id, scope))
    memory = await store.run(lambda tx: load_memory_tx(tx, repo.id))
    lookup = VoterLookup(client, repo.owner, repo.name, services.caches, meter)
    now = clock.now()
    facts = await lookup.facts(issues, votes, services.app_login, now)
    phases["voters"] = time.perf_counter() - started - sum(phases.values())

    decided = []
    for issue in issues:
        remembered = memory.get(issue.number, IssueMemory())
        decision = decide(issue, votes, facts, remembered.acts, remembered.standing, now)
        explained = explanation(decision, issue, votes)
        decided.append(
            Decided(issue, decision, explained, explanation_fingerprint(explained), remembered)
        )
    phases["decide"] = time.perf_counter() - started - sum(phases.values())
    changes: list[tuple[int, str, str]] = []
    for batch in chunks(decided, DECISIONS_PER_TRANSACTION):
        changes += await store.run(
            partial(
                record_decisions_tx,
                clock=clock,
                repo_id=repo.id,
                sweep_id=sweep_id,
                batch=batch,
                max_attempts=policy.limits.max_attempts,
            )
        )

    phases["record"] = time.perf_counter() - started - sum(phases.values())
    publisher = Publisher(client, repo.owner, repo.name, services.app_login, meter)
    await lease.renew()
    written, synced = await _publish(services, repo, publisher, decided, lease)
    phases["publish"] = time.perf_counter() - started - sum(phases.values())
    report = SweepReport(
        repo.full_name,
        sweep_id,
        len(issues),
        changes,
        written,
        synced,
        meter,
        time.perf_counter() - started,
        phases,
    )
    await store.run(lambda tx: finish_sweep_tx(tx, clock, sweep_id, report.figures()))
    log.info(
        "swept %s: %d issues, %d changed, %d requests (GraphQL %d, cost %d)",
        repo.full_name,
        report.issues,
        len(changes),
        meter.requests,
        meter.graphql_requests,
        meter.graphql_cost,
    )
    return report


async def _publish(
    services: VoteServices,
    repo: RepoRef,
    publisher: Publisher,
    decided: Sequence[Decided],
    lease: _SweepLease,
) -> tuple[int, int]:
    """Update tally comments and labels that differ from what Townhall last showed."""
    written = synced = 0
    now = services.clock.now()
    for index, item in enumerate(decided, start=1):
        if index % RENEW_EVERY == 0:
            await lease.renew()
        decision, memory, issue = item.decision, item.memory, item.issue
        number = decision.number
        wanted_labels = state_labels(decision)
        # Without a record (first sweep, lost store) what the issue carries is the record.
        applied = memory.labels_applied
        if applied is None:
            applied = tuple(sorted(label for label in issue.labels if label in OWN_LABELS))
        if tuple(sorted(wanted_labels)) != tuple(sorted(applied)):
            await publisher.labels(number, issue.labels, wanted_labels)
            await services.store.run(
                partial(
                    save_labels_applied_tx, repo_id=repo.id, number=number, labels=wanted_labels
                )
            )
            synced += 1
        if not (decision.has_activity or memory.tally_comment_id is not None):
            continue  # nobody voted yet: no comment, so quiet issues stay quiet
        body = render_tally(decision, f"{repo.full_name}#{number}", now >= decision.window_ends)
        digest = fingerprint(body)
        if digest == memory.tally_fingerprint:
            continue
        comment_id = await publisher.tally(number, body, memory.tally_comment_id)
        await services.store.run(
            partial(
                save_tally_tx,
                repo_id=repo.id,
                number=number,
                comment_id=comment_id,
                fingerprint=digest,
            )
        )
        written += 1
    return written, synced
