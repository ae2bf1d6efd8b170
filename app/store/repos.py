"""Repository rows: which repositories the App covers, their names, branches and policy state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import from_db, to_db


@dataclass(frozen=True)
class Repository:
    """A repository as GitHub describes it; an empty branch or a None `private` keeps the stored."""

    id: int
    full_name: str
    default_branch: str = ""
    private: bool | None = None

    @staticmethod
    def from_github(repository: Mapping[str, Any]) -> Repository:
        """Read a repository object of a webhook payload or REST answer."""
        return Repository(
            id=int(repository["id"]),
            full_name=str(repository["full_name"]),
            default_branch=str(repository.get("default_branch") or ""),
            private=repository["private"] if isinstance(repository.get("private"), bool) else None,
        )


def upsert_repo_tx(tx: Tx, clock: Clock, installation_id: int, repository: Repository) -> int:
    """Record a repository of an installation as active; return its id."""
    now = to_db(clock.now())
    tx.execute(
        "INSERT INTO repos (id, installation_id, full_name, default_branch, private, active,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " installation_id = excluded.installation_id, full_name = excluded.full_name,"
        " default_branch = CASE WHEN excluded.default_branch = '' THEN repos.default_branch"
        " ELSE excluded.default_branch END, private = COALESCE(excluded.private, repos.private),"
        " active = 1, updated_at = excluded.updated_at",
        (
            repository.id,
            installation_id,
            repository.full_name,
            repository.default_branch,
            repository.private,
            now,
            now,
        ),
    )
    return repository.id


def deactivate_repos_tx(tx: Tx, clock: Clock, repo_ids: Iterable[int]) -> None:
    """Mark repositories removed from an installation as inactive (their history is kept)."""
    for repo_id in repo_ids:
        tx.execute(
            "UPDATE repos SET active = 0, updated_at = ? WHERE id = ?",
            (to_db(clock.now()), repo_id),
        )


def repo_id_by_name_tx(tx: Tx, full_name: str) -> int | None:
    """Return the id of the repository called `full_name` (case-insensitively), if known."""
    repo_id = tx.scalar("SELECT id FROM repos WHERE lower(full_name) = lower(?)", (full_name,))
    return None if repo_id is None else int(repo_id)


def repo_default_branch_tx(tx: Tx, repo_id: int) -> str | None:
    """Return a repository's default branch, or None when the repository is not known."""
    branch = tx.scalar("SELECT default_branch FROM repos WHERE id = ?", (repo_id,))
    return None if branch is None else str(branch)


async def repo_default_branch(store: Store, repo_id: int) -> str | None:
    """Return a repository's default branch in its own transaction (None: not known)."""
    return await store.run(lambda tx: repo_default_branch_tx(tx, repo_id))


@dataclass(frozen=True)
class RepoVisibility:
    """Who may see a repository: its installation, and whether GitHub says it is private."""

    id: int
    full_name: str
    installation_id: int
    private: bool | None  # None: not recorded yet (treat as private)


def repo_visibility_tx(tx: Tx) -> tuple[RepoVisibility, ...]:
    """Return every known repository with its installation and privacy."""
    rows = tx.fetchall("SELECT id, full_name, installation_id, private FROM repos ORDER BY id")
    return tuple(
        RepoVisibility(
            id=int(row["id"]),
            full_name=str(row["full_name"]),
            installation_id=int(row["installation_id"]),
            private=None if row["private"] is None else bool(row["private"]),
        )
        for row in rows
    )


@dataclass(frozen=True)
class ActiveRepo:
    """An active repository of a live (not deleted, not suspended) installation."""

    id: int
    installation_id: int
    full_name: str
    default_branch: str


async def active_repos(store: Store) -> list[ActiveRepo]:
    """Return every repository a tick should visit, in id order."""
    rows = await store.fetchall(
        "SELECT r.id, r.installation_id, r.full_name, r.default_branch FROM repos r"
        " JOIN installations i ON i.id = r.installation_id"
        " WHERE r.active = 1 AND i.deleted_at IS NULL AND i.suspended_at IS NULL"
        " ORDER BY r.id"
    )
    return [
        ActiveRepo(r["id"], r["installation_id"], r["full_name"], r["default_branch"]) for r in rows
    ]


async def set_policy_error(store: Store, repo_id: int, error: str | None) -> None:
    """Record why a repository's policy file is unusable (None: it is fine again)."""
    await store.execute("UPDATE repos SET policy_error = ? WHERE id = ?", (error, repo_id))


# The event a tick records each time it posts (or GitHub refuses) a repository's policy status.
POLICY_STATUS_EVENT = "policy_status"
_REFUSED = re.compile(r"refused \((\d+)\) ")


@dataclass(frozen=True)
class PolicyStatusNote:
    """The last policy status a tick posted for a repository (or tried to: `refused`)."""

    key: str  # "<state>: <description>"
    refused: bool
    at: datetime


async def last_policy_status(store: Store, repo_id: int) -> PolicyStatusNote | None:
    """Return the last policy status noted for a repository, or None when none was."""
    row = await store.fetchone(
        "SELECT reason, created_at FROM events WHERE kind = ? AND repo_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (POLICY_STATUS_EVENT, repo_id),
    )
    if row is None:
        return None
    reason = str(row["reason"])
    refused = _REFUSED.match(reason)
    key = reason[refused.end() :] if refused else reason
    return PolicyStatusNote(key, refused is not None, from_db(str(row["created_at"])))


@dataclass(frozen=True)
class RepoConfig:
    """An installed repository and whether its `.townhall.toml` is usable (None: it is)."""

    id: int
    full_name: str
    default_branch: str
    active: bool
    policy_error: str | None


def repo_configs_tx(tx: Tx, repo_ids: Iterable[int] | None = None) -> tuple[RepoConfig, ...]:
    """Return every installed repository (or those of `repo_ids`) with its policy error."""
    rows = tx.fetchall(
        "SELECT r.id, r.full_name, r.default_branch, r.policy_error,"
        " r.active AND i.deleted_at IS NULL AND i.suspended_at IS NULL AS live"
        " FROM repos r JOIN installations i ON i.id = r.installation_id ORDER BY r.full_name"
    )
    wanted = None if repo_ids is None else set(repo_ids)
    return tuple(
        RepoConfig(
            id=int(row["id"]),
            full_name=str(row["full_name"]),
            default_branch=str(row["default_branch"]),
            active=bool(row["live"]),
            policy_error=None if row["policy_error"] is None else str(row["policy_error"]),
        )
        for row in rows
        if wanted is None or int(row["id"]) in wanted
    )
