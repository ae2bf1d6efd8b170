"""What a CEO tick works with: the runtime's parts, and one repository's view for this tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.ceo.dispatch import Dispatcher
from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.llm import LLM
from app.policy import Policy
from app.settings import Settings
from app.store import Store
from app.votes.sweep import RepoRef
from app.webhooks.processor import InboxProcessor
from reviewer.deps import ReviewDeps


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
    review: ReviewDeps | None = None
    app_login: str = ""


@dataclass(frozen=True)
class RepoView(RepoRef):
    """One repository as this tick sees it: its policy, mirror, head and an open client."""

    default_branch: str
    client: Client
    policy: Policy
    mirror: Path
    head_sha: str


@dataclass
class TickReport:
    """What one tick did, for the log, the CLI and the demo's progress view."""

    ran: bool
    reason: str = ""
    drained: dict[str, int] = field(default_factory=dict)
    recovered: list[tuple[int, int]] = field(default_factory=list)
    swept: dict[str, int] = field(default_factory=dict)
    planned: list[int] = field(default_factory=list)
    plan_failures: list[int] = field(default_factory=list)
    dispatched: list[tuple[int, int]] = field(default_factory=list)
    waiting: dict[int, str] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)
    reviews: list[int] = field(default_factory=list)
    post_merge_checks: list[int] = field(default_factory=list)
    told: list[int] = field(default_factory=list)
    budget_stop: str | None = None
    errors: list[str] = field(default_factory=list)
