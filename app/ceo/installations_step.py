"""Reconcile installations and their repositories with GitHub's own lists, once per tick.

GitHub does not redeliver webhooks: an `installation` or `installation_repositories` event
lost while Townhall was down would leave an installation unknown (or a removed repository
active) for good. Each tick compares the store with `GET /app/installations` and, for every
live installation, `GET /installation/repositories`; `installation_changes` and
`repo_changes` are pure, `reconcile_installations` does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.store.db import Store, Tx
from app.store.installations import (
    Installation,
    delete_installation_tx,
    suspend_installation_tx,
    unsuspend_installation_tx,
    upsert_installation_tx,
)
from app.store.repos import Repository, deactivate_repos_tx, upsert_repo_tx

PER_PAGE = 100


@dataclass(frozen=True)
class ListedInstallation:
    """An installation as `GET /app/installations` lists it."""

    installation: Installation
    suspended: bool


@dataclass(frozen=True)
class StoredInstallation:
    """An installation row: whether it is deleted or suspended."""

    id: int
    deleted: bool
    suspended: bool


@dataclass(frozen=True)
class InstallationChanges:
    """What the store must do so its installations match GitHub's list."""

    upsert: tuple[Installation, ...] = ()
    delete: tuple[int, ...] = ()
    suspend: tuple[int, ...] = ()
    unsuspend: tuple[int, ...] = ()
    live: tuple[int, ...] = ()  # listed and not suspended: their repositories are listed next


@dataclass(frozen=True)
class StoredRepo:
    """A repository row of one installation."""

    id: int
    full_name: str
    default_branch: str
    active: bool


@dataclass(frozen=True)
class RepoChanges:
    """What the store must do so one installation's repositories match GitHub's list."""

    upsert: tuple[Repository, ...] = ()
    deactivate: tuple[int, ...] = ()


def installation_changes(
    stored: Sequence[StoredInstallation], listed: Sequence[ListedInstallation]
) -> InstallationChanges:
    """Diff stored installations against GitHub's list."""
    known = {row.id: row for row in stored}
    listed_ids = {item.installation.id for item in listed}
    upsert = tuple(
        item.installation
        for item in listed
        if item.installation.id not in known or known[item.installation.id].deleted
    )
    suspend = tuple(
        item.installation.id
        for item in listed
        if item.suspended and not _suspended(known.get(item.installation.id))
    )
    unsuspend = tuple(
        item.installation.id
        for item in listed
        if not item.suspended and _suspended(known.get(item.installation.id))
    )
    delete = tuple(row.id for row in stored if not row.deleted and row.id not in listed_ids)
    live = tuple(item.installation.id for item in listed if not item.suspended)
    return InstallationChanges(upsert, delete, suspend, unsuspend, live)


def _suspended(row: StoredInstallation | None) -> bool:
    return row is not None and row.suspended


def repo_changes(stored: Sequence[StoredRepo], listed: Sequence[Repository]) -> RepoChanges:
    """Diff one installation's stored repositories against the ones GitHub lists for it."""
    by_id = {row.id: row for row in stored}
    by_name = {row.full_name.lower(): row for row in stored}
    matched = [(repo, by_id.get(repo.id) or by_name.get(repo.full_name.lower())) for repo in listed]
    # A row found by name keeps its own id (a repository recreated under the same name, or
    # a row recorded before its id was known): other rows refer to it, and names are unique.
    upsert = tuple(
        replace(repo, id=row.id) if row else repo for repo, row in matched if _differs(row, repo)
    )
    kept = {row.id for _, row in matched if row is not None}
    deactivate = tuple(row.id for row in stored if row.active and row.id not in kept)
    return RepoChanges(upsert, deactivate)


def _differs(row: StoredRepo | None, repo: Repository) -> bool:
    # Only new, reactivated, renamed or re-branched repositories are written: a quiet tick
    # writes nothing.
    if row is None or not row.active or row.full_name != repo.full_name:
        return True
    return bool(repo.default_branch) and row.default_branch != repo.default_branch


async def reconcile_installations(store: Store, clock: Clock, github: GitHubAccess) -> int:
    """Bring installations and repositories in line with GitHub; return the changes made."""
    async with github.app_client() as app:
        listed = await _listed_installations(app)
    changes = installation_changes(await _stored_installations(store), listed)
    await store.run(lambda tx: _apply_installations_tx(tx, clock, changes))
    for gone in changes.delete + changes.suspend:
        github.forget_installation(gone)
    count = len(changes.upsert + changes.delete + changes.suspend + changes.unsuspend)
    for installation_id in changes.live:
        count += await _reconcile_repos(store, clock, github, installation_id)
    return count


async def _listed_installations(app: Client) -> list[ListedInstallation]:
    # Named, so tests/contract/calls.py finds the operations these functions page through.
    apps = app.rest.apps
    pages = app.rest.paginate(apps.async_list_installations, map_func=_json_list, per_page=PER_PAGE)
    return [
        ListedInstallation(Installation.from_github(item), bool(item.get("suspended_at")))
        async for item in pages
    ]


async def _reconcile_repos(
    store: Store, clock: Clock, github: GitHubAccess, installation_id: int
) -> int:
    async with await github.installation_client(installation_id) as client:
        apps = client.rest.apps
        pages = client.rest.paginate(
            apps.async_list_repos_accessible_to_installation,
            map_func=_json_repositories,
            per_page=PER_PAGE,
        )
        listed = [Repository.from_github(item) async for item in pages]
    changes = repo_changes(await _stored_repos(store, installation_id), listed)
    await store.run(lambda tx: _apply_repos_tx(tx, clock, installation_id, changes))
    return len(changes.upsert) + len(changes.deactivate)


def _json_list(response: Any) -> list[Mapping[str, Any]]:
    # Raw JSON, not githubkit's models: only a few fields are read, and a model's stricter
    # schema must not turn one odd installation into a failed reconcile.
    return list(response.json())


def _json_repositories(response: Any) -> list[Mapping[str, Any]]:
    return list(response.json()["repositories"])


async def _stored_installations(store: Store) -> list[StoredInstallation]:
    rows = await store.fetchall("SELECT id, deleted_at, suspended_at FROM installations")
    return [
        StoredInstallation(int(r["id"]), r["deleted_at"] is not None, r["suspended_at"] is not None)
        for r in rows
    ]


async def _stored_repos(store: Store, installation_id: int) -> list[StoredRepo]:
    rows = await store.fetchall(
        "SELECT id, full_name, default_branch, active FROM repos WHERE installation_id = ?",
        (installation_id,),
    )
    return [
        StoredRepo(r["id"], r["full_name"], r["default_branch"] or "", bool(r["active"]))
        for r in rows
    ]


def _apply_installations_tx(tx: Tx, clock: Clock, changes: InstallationChanges) -> None:
    for installation in changes.upsert:
        upsert_installation_tx(tx, clock, installation)
    for installation_id in changes.delete:
        delete_installation_tx(tx, clock, installation_id)
    for installation_id in changes.suspend:
        suspend_installation_tx(tx, clock, installation_id)
    for installation_id in changes.unsuspend:
        unsuspend_installation_tx(tx, installation_id)


def _apply_repos_tx(tx: Tx, clock: Clock, installation_id: int, changes: RepoChanges) -> None:
    for repository in changes.upsert:
        upsert_repo_tx(tx, clock, installation_id, repository)
    deactivate_repos_tx(tx, clock, changes.deactivate)
