"""What a CEO tick works with: the runtime's parts, and one repository's view for this tick."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.ceo.ports import Dispatcher, Reviewer
from app.ceo.report import TickReport
from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.llm import LLM
from app.policy import Policy
from app.settings import Settings
from app.store import Store
from app.store.attempts import WORKER_START_TTL
from app.store.repos import ActiveRepo
from app.votes.sweep import RepoRef
from app.webhooks.processor import InboxProcessor

# Renewed every third of this while the tick runs, so a crashed tick (on another host) blocks
# the next one for a minute at most; on this host its dead process frees it at once.
TICK_LEASE_TTL = timedelta(seconds=60)
# Repository steps run at once in one process. They mostly wait on GitHub and git (the store
# keeps its one writer), so a few at a time hide that wait: 8 took a busy tick of 100
# repositories from 37 s (one at a time) to 17 s on two cores (bench/tick_bench.py); more at
# once would mostly add to GitHub's secondary rate limits.
REPO_CONCURRENCY = 8

# Runs the repository steps of one tick somewhere else (one Modal function per repository)
# and returns a report per repository, in order; given the repositories and the App's login.
RepoSteps = Callable[[Sequence[ActiveRepo], str], Awaitable[list[TickReport]]]


@dataclass
class TickDeps:
    """The long-lived parts a tick uses; built once per process by the wiring."""

    settings: Settings
    store: Store
    clock: Clock
    github: GitHubAccess
    llm: LLM
    processor: InboxProcessor
    dispatcher: Dispatcher
    workdir: Path
    reviewer: Reviewer | None = None
    app_login: str = ""
    tick_lease_ttl: timedelta = TICK_LEASE_TTL
    # The lease each dispatched attempt starts with, until its worker takes it over and renews
    # it (WorkerDeps.lease_ttl): long enough for a spawned worker to start.
    worker_lease_ttl: timedelta = WORKER_START_TTL
    # How many repository steps run at once in this process.
    repo_concurrency: int = REPO_CONCURRENCY
    # Where repository steps run: None runs them here, `repo_concurrency` at a time.
    repo_steps: RepoSteps | None = None

    def __post_init__(self) -> None:
        if self.repo_concurrency < 1:
            raise ValueError(f"repo_concurrency must be at least 1, not {self.repo_concurrency}")


@dataclass(frozen=True)
class RepoView(RepoRef):
    """One repository as this tick sees it: its policy, mirror, head and an open client."""

    default_branch: str
    client: Client
    policy: Policy
    mirror: Path
    head_sha: str
