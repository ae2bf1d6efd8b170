"""What a CEO tick works with: the runtime's parts, and one repository's view for this tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.ceo.ports import Dispatcher, Reviewer
from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.llm import LLM
from app.policy import Policy
from app.settings import Settings
from app.store import Store
from app.store.attempts import WORKER_START_TTL
from app.votes.sweep import RepoRef
from app.webhooks.processor import InboxProcessor

# Renewed every third of this while the tick runs, so a crashed tick (on another host) blocks
# the next one for a minute at most; on this host its dead process frees it at once.
TICK_LEASE_TTL = timedelta(seconds=60)


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


@dataclass(frozen=True)
class RepoView(RepoRef):
    """One repository as this tick sees it: its policy, mirror, head and an open client."""

    default_branch: str
    client: Client
    policy: Policy
    mirror: Path
    head_sha: str
