"""Fixtures: localhub on loopback with Townhall installed on octo/demo, and vote services on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from app.github.client import GitHubAccess
from app.policy import Policy, VotePolicy
from app.serving import ServerThread
from app.settings import GitHubAppCredentials
from app.standins.localhub import AppKeyPair, LocalHub, LocalHubControl, generate_app_keypair
from app.standins.localhub.models import Comment
from app.store import Store, Tx
from app.store.installations import Installation, upsert_installation_tx
from app.store.repos import Repository, upsert_repo_tx
from app.votes.sweep import RepoRef, SweepReport, VoteServices, sweep_repository

APP_ID = 4242
APP_LOGIN = "townhall[bot]"
OWNER = "octo"
REPO = "demo"


@pytest.fixture(scope="session")
def keys() -> AppKeyPair:
    """One RSA key pair for the test app (generating one per test would be slow)."""
    return generate_app_keypair()


@dataclass
class Hub:
    """A running localhub, its control client, and Townhall's vote services pointed at it."""

    ctl: LocalHubControl
    localhub: LocalHub
    clock: ManualClock
    store: Store
    services: VoteServices
    repo: RepoRef
    veteran: datetime

    def user(self, login: str, *, age_days: float = 400, kind: str = "User") -> str:
        """Create an account `age_days` old; return its login."""
        self.ctl.create_user(
            login, kind=kind, created_at=self.clock.now() - timedelta(days=age_days)
        )
        return login

    def issue(self, title: str, body: str = "", author: str = "alice") -> int:
        """File an issue now; return its number."""
        return int(self.ctl.create_issue(OWNER, REPO, author, title, body)["number"])

    def react(self, number: int, users: list[str], content: str = "+1") -> None:
        """Add one reaction per user, now."""
        items = [{"user": login, "content": content} for login in users]
        self.ctl.add_reactions(OWNER, REPO, number, items)

    def comments(self, number: int) -> list[Comment]:
        """Return the issue's comments as localhub holds them (read while the hub is idle)."""
        repo = self.localhub.state.repo(OWNER, REPO)
        return sorted(
            (c for c in repo.comments.values() if c.issue_number == number), key=lambda c: c.id
        )

    def labels(self, number: int) -> set[str]:
        """Return the issue's labels as localhub holds them."""
        return set(self.localhub.state.repo(OWNER, REPO).issues[number].labels)

    def counters(self) -> dict[str, Any]:
        """Return localhub's request counters."""
        return self.ctl.counters()

    def writes(self) -> dict[str, int]:
        """Return the write requests localhub served (anything but GET and GraphQL reads)."""
        routes: dict[str, int] = self.counters()["routes"]
        return {
            route: count
            for route, count in routes.items()
            if not route.startswith("GET ")
            and route != "POST /graphql"
            and "access_tokens" not in route
        }

    async def sweep(self, policy: Policy | None = None, **options: Any) -> SweepReport:
        """Run one sweep of octo/demo."""
        return await sweep_repository(self.services, self.repo, policy or POLICY, **options)


POLICY = Policy(votes=VotePolicy(window_hours=1.0))


def _register(tx: Tx, clock: ManualClock, installation_id: int, repo: dict[str, Any]) -> None:
    upsert_installation_tx(tx, clock, Installation(installation_id, OWNER))
    upsert_repo_tx(tx, clock, installation_id, Repository.from_github(repo))


@pytest.fixture
def hub(tmp_path: Path, keys: AppKeyPair, store: Store, clock: ManualClock) -> Iterator[Hub]:
    """Start localhub (sharing the test clock), install the App, and record it in the store."""
    localhub = LocalHub(tmp_path / "hub", clock=clock, token_ttl=timedelta(hours=1))
    with ServerThread(localhub.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        created = ctl.create_repo(OWNER, REPO)
        installation = ctl.create_installation(APP_ID, OWNER)
        repository = created["repository"]
        store.run_sync(lambda tx: _register(tx, clock, int(installation["id"]), repository))
        access = GitHubAccess(server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock)
        services = VoteServices(store, clock, access, APP_LOGIN)
        repo = RepoRef(int(repository["id"]), int(installation["id"]), f"{OWNER}/{REPO}")
        hub = Hub(ctl, localhub, clock, store, services, repo, clock.now() - timedelta(days=400))
        for login in ("alice", "maint", "stranger"):
            hub.user(login)
        ctl.set_collaborator(OWNER, REPO, "maint", "write")
        yield hub
