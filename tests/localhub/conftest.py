"""Fixtures: a running localhub on loopback, an app installed on a seeded repo, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from githubkit import AppAuthStrategy
from githubkit.cache import MemCacheStrategy

from app.clock import ManualClock
from app.github.client import Client
from app.serving import ServerThread
from app.standins.localhub import AppKeyPair, LocalHub, LocalHubControl, generate_app_keypair
from app.standins.localhub.tls import shared_ssl_context

APP_ID = 4242
OWNER = "octo"
REPO = "demo"


@pytest.fixture(scope="session")
def keys() -> AppKeyPair:
    """One RSA key pair for the test app (generating one per test would be slow)."""
    return generate_app_keypair()


def make_github(url: str, auth: Any, **options: Any) -> Client:
    """Return a githubkit client for the hub with its own token cache (no cross-test reuse).

    It speaks Townhall's pinned REST API version (app.github.client.REST_API_VERSION) and,
    like Townhall's clients, fills the label fields githubkit's models require but GitHub's
    description lacks (app.github.compat).
    """
    options.setdefault("ssl_verify", shared_ssl_context())
    # No hishel cache: now that answers carry ETags it revalidates, and hishel 1.4 hands back
    # its stored answer even when the revalidation got a fresh 200 (seen with pulls.get).
    options.setdefault("http_cache", False)
    return Client(auth, base_url=url + "/", cache_strategy=MemCacheStrategy(), **options)


def open_github(stack: ExitStack, url: str, auth: Any, **options: Any) -> Client:
    """Return a client that keeps one HTTP connection pool until `stack` closes."""
    # Outside a `with` block githubkit builds a new httpx client per request.
    client = make_github(url, auth, **options)
    stack.enter_context(client)
    return client


@dataclass
class World:
    """A hub with app `townhall` installed on octo/demo, and people with tokens."""

    hub: LocalHub
    url: str
    ctl: LocalHubControl
    clock: ManualClock
    keys: AppKeyPair
    installation_id: int
    repo_path: Path
    stack: ExitStack

    @property
    def app_auth(self) -> AppAuthStrategy:
        """Return the app's JWT auth strategy."""
        return AppAuthStrategy(APP_ID, self.keys.private_key_pem)

    def as_app(self, **options: Any) -> Client:
        """Return a client authenticated as the app (JWT)."""
        return open_github(self.stack, self.url, self.app_auth, **options)

    def as_installation(self, **options: Any) -> Client:
        """Return a client authenticated as the installation (token minted by githubkit)."""
        auth = self.app_auth.as_installation(self.installation_id)
        return open_github(self.stack, self.url, auth, **options)

    def as_user(self, login: str, **options: Any) -> Client:
        """Return a client acting as a person with a personal token."""
        return open_github(self.stack, self.url, f"{login}-token", **options)


def seed_source(root: Path) -> Path:
    """Write a small project to import as the repository's first commit."""
    source = root / "source"
    (source / "pkg").mkdir(parents=True)
    (source / "README.md").write_text("# demo\n\nA sample project.\n")
    lines = "".join(f"line {n}\n" for n in range(1, 21))
    (source / "pkg" / "core.py").write_text(lines)
    return source


@pytest.fixture
def world(tmp_path: Path, keys: AppKeyPair) -> Iterator[World]:
    """Start a hub (manual clock at the real time) seeded with an app, a repo and users."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    hub = LocalHub(tmp_path / "hub", clock=clock, token_ttl=timedelta(hours=1))
    with (
        ServerThread(hub.create_app()) as server,
        LocalHubControl(server.url) as ctl,
        ExitStack() as stack,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        repo = ctl.create_repo_from_dir(OWNER, REPO, seed_source(tmp_path))
        installation = ctl.create_installation(APP_ID, OWNER)
        for login in ("alice", "bob", "carol"):
            ctl.create_user(login, token=f"{login}-token")
        ctl.create_user(OWNER, token=f"{OWNER}-token")
        ctl.set_collaborator(OWNER, REPO, "carol", "write")
        path = Path(repo["path"])
        yield World(hub, server.url, ctl, clock, keys, int(installation["id"]), path, stack)
