"""Ticks catch up on installation webhooks GitHub never redelivers: against localhub, no webhook."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import anthropic
import pytest

from app.ceo.deps import TickDeps
from app.ceo.installations_step import (
    InstallationChanges,
    ListedInstallation,
    RepoChanges,
    StoredInstallation,
    StoredRepo,
    installation_changes,
    repo_changes,
)
from app.ceo.tick import run_tick
from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.handlers import build_router
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, GitHubAppCredentials, Settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.store import Store
from app.store.installations import Installation
from app.store.repos import Repository
from app.webhooks.processor import InboxProcessor
from tests.ceo.dispatchers import RecordingDispatcher

APP_ID = 91
OWNER = "octo"
POLICY = "[votes]\nthreshold = 2\nwindow_hours = 0\n"


@dataclass
class Down:
    """localhub with the App installed while Townhall was down: nothing is in the store."""

    hub: LocalHub
    ctl: LocalHubControl
    deps: TickDeps
    store: Store
    installation_id: int
    repo_ids: dict[str, int]


@pytest.fixture
def down(tmp_path: Path, store: Store) -> Iterator[Down]:
    keys = generate_app_keypair()
    source = tmp_path / "source"
    source.mkdir()
    (source / ".townhall.toml").write_text(POLICY)
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    with (
        ServerThread(hub.create_app()) as hub_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        for name in ("shop", "blog"):
            ctl.create_repo_from_dir(OWNER, name, source)
        repo_ids = {name: _hub_repo_id(hub, name) for name in ("shop", "blog")}
        installation = ctl.create_installation(APP_ID, OWNER)  # no webhook URL: none delivered
        clock = SystemClock()
        access = GitHubAccess(
            hub_server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock
        )
        # The tick needs a model client to exist; nothing here is planned, so none is called.
        client = anthropic.AsyncAnthropic(api_key="k", base_url=hub_server.url, max_retries=0)
        deps = TickDeps(
            settings=Settings(github_api_url=hub_server.url, daily_budget_usd=100),
            store=store,
            clock=clock,
            github=access,
            llm=LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock)),
            processor=InboxProcessor(store, clock, build_router(), access),
            dispatcher=RecordingDispatcher(),
            workdir=tmp_path / "work",
        )
        yield Down(hub, ctl, deps, store, int(installation["id"]), repo_ids)


def _hub_repo_id(hub: LocalHub, name: str) -> int:
    repo = hub.state.find_repo(OWNER, name)
    assert repo is not None
    return repo.id


async def _repos(store: Store) -> dict[str, bool]:
    rows = await store.fetchall("SELECT full_name, active FROM repos")
    return {row["full_name"]: bool(row["active"]) for row in rows}


async def test_an_installation_made_while_down_appears_with_its_repositories(down: Down) -> None:
    report = await run_tick(down.deps)

    assert report.ran and not report.errors, report.errors
    row = await down.store.fetchone(
        "SELECT account_login, deleted_at, suspended_at FROM installations WHERE id = ?",
        (down.installation_id,),
    )
    assert row is not None and row["account_login"] == OWNER
    assert row["deleted_at"] is None and row["suspended_at"] is None
    assert await _repos(down.store) == {"octo/shop": True, "octo/blog": True}
    assert set(report.swept) == {"octo/shop", "octo/blog"}  # visited in the same tick


async def test_a_repository_removed_from_the_installation_becomes_inactive(down: Down) -> None:
    await run_tick(down.deps)
    # As if the owner narrowed the installation to one repository while Townhall was down.
    installation = down.hub.state.data.installations[down.installation_id]
    installation.repository_selection = "selected"
    installation.repository_ids = [down.repo_ids["shop"]]

    report = await run_tick(down.deps)

    assert not report.errors, report.errors
    assert await _repos(down.store) == {"octo/shop": True, "octo/blog": False}
    assert set(report.swept) == {"octo/shop"}


async def test_a_deleted_installation_is_marked_deleted(down: Down) -> None:
    await run_tick(down.deps)
    del down.hub.state.data.installations[down.installation_id]

    report = await run_tick(down.deps)

    assert not report.errors, report.errors
    deleted = await down.store.fetchone(
        "SELECT deleted_at FROM installations WHERE id = ?", (down.installation_id,)
    )
    assert deleted is not None and deleted["deleted_at"] is not None
    assert await _repos(down.store) == {"octo/shop": False, "octo/blog": False}
    assert report.swept == {}


def test_the_diff_of_stored_and_listed_installations() -> None:
    stored = [
        StoredInstallation(1, deleted=False, suspended=False),  # gone from GitHub
        StoredInstallation(2, deleted=False, suspended=False),  # suspended since
        StoredInstallation(3, deleted=False, suspended=True),  # unsuspended since
        StoredInstallation(4, deleted=True, suspended=False),  # reinstalled
        StoredInstallation(5, deleted=True, suspended=False),  # still gone: nothing to do
    ]
    listed = [
        ListedInstallation(Installation(2, "b"), suspended=True),
        ListedInstallation(Installation(3, "c"), suspended=False),
        ListedInstallation(Installation(4, "d"), suspended=False),
        ListedInstallation(Installation(6, "e"), suspended=False),  # new
    ]

    assert installation_changes(stored, listed) == InstallationChanges(
        upsert=(Installation(4, "d"), Installation(6, "e")),
        delete=(1,),
        suspend=(2,),
        unsuspend=(3,),
        live=(3, 4, 6),
    )


def test_the_diff_of_stored_and_listed_repositories() -> None:
    stored = [
        StoredRepo(1, "o/same", "main", active=True),
        StoredRepo(2, "o/removed", "main", active=True),
        StoredRepo(3, "o/back", "main", active=False),
        StoredRepo(4, "o/old-name", "main", active=True),
        StoredRepo(5, "o/recreated", "main", active=True),
    ]
    listed = [
        Repository(1, "o/same", "main"),
        Repository(3, "o/back", "main"),
        Repository(4, "o/new-name", "main"),
        Repository(9, "o/recreated", "main"),  # new id, same name: the stored row is kept
        Repository(7, "o/new", "trunk"),
    ]

    assert repo_changes(stored, listed) == RepoChanges(
        upsert=(
            Repository(3, "o/back", "main"),
            Repository(4, "o/new-name", "main"),
            Repository(7, "o/new", "trunk"),
        ),
        deactivate=(2,),
    )
    assert repo_changes(stored[:1], listed[:1]) == RepoChanges()  # a quiet tick writes nothing
