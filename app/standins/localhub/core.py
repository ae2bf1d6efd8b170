"""The hub's shared services (state, clock, git, webhooks, faults, counters) and request context."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app.clock import Clock

from .counters import Counters
from .faults import FaultInjector
from .git import GitRepo
from .models import Repo
from .recorder import ExchangeRecorder
from .render_core import Urls
from .state import HubState
from .webhooks import WebhookDispatcher

_MEMO_SIZE = 1024


class HubCore:
    """Everything a route needs, in one place; built once per LocalHub."""

    def __init__(self, state: HubState, clock: Clock, data_dir: Path, token_ttl: timedelta) -> None:
        self.state = state
        self.clock = clock
        self.data_dir = data_dir
        self.token_ttl = token_ttl
        self.faults = FaultInjector()
        self.counters = Counters()
        self.exchanges = ExchangeRecorder()
        # Tarball download tokens handed out in redirects: token -> (full name, commit).
        self.download_tokens: dict[str, tuple[str, str]] = {}
        self.webhooks = WebhookDispatcher(state.data.webhook)
        self._locks: dict[int, asyncio.Lock] = {}
        # Results computed from immutable git objects (diffs, merge checks), keyed by their shas.
        self.git_memo: dict[tuple[object, ...], object] = {}

    @property
    def repos_dir(self) -> Path:
        """Return the directory holding the bare repositories (`<owner>/<name>.git`)."""
        return self.data_dir / "repos"

    def now(self) -> datetime:
        """Return the hub's current time, truncated to seconds like GitHub's timestamps."""
        return self.clock.now().replace(microsecond=0)

    def git(self, repo: Repo) -> GitRepo:
        """Return the bare repository backing `repo`."""
        return GitRepo(self.repos_dir / repo.owner_login / f"{repo.name}.git")

    def remember(self, key: tuple[object, ...], value: object) -> None:
        """Keep a git-derived result; the oldest entries go once the memo is full."""
        if len(self.git_memo) >= _MEMO_SIZE:
            del self.git_memo[next(iter(self.git_memo))]
        self.git_memo[key] = value

    def repo_lock(self, repo: Repo) -> asyncio.Lock:
        """Return the lock that serialises ref-moving operations (merges, ref updates) on `repo`."""
        lock = self._locks.get(repo.id)
        if lock is None:
            lock = self._locks[repo.id] = asyncio.Lock()
        return lock


@dataclass(frozen=True)
class Ctx:
    """One request's view of the hub: the services, URL builder, and who is acting."""

    core: HubCore
    urls: Urls
    login: str

    @property
    def state(self) -> HubState:
        """Return the hub state."""
        return self.core.state
