"""The repositories a tick works on, and what is wrong with each one's policy file."""

from __future__ import annotations

from dataclasses import dataclass

from app.store.db import Store


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
