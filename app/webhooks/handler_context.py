"""What a handler receives: the store, the clock, and ready GitHub clients; no raw tokens."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.github.client import Client, GitHubAccess
from app.store import Store, Tx
from app.store.installations import ensure_installation_tx
from app.store.repos import Repository, upsert_repo_tx
from app.webhooks.permissions import PermissionCache


class NoGitHubAccess(Exception):
    """A handler needed GitHub but the delivery carries no installation."""


@dataclass
class HandlerContext:
    """Everything a webhook handler may use; built once per delivery by the processor."""

    store: Store
    clock: Clock
    github: GitHubAccess
    permissions: PermissionCache
    delivery_id: str
    installation_id: int | None
    log: logging.LoggerAdapter[logging.Logger]

    async def client(self) -> Client:
        """Return a client acting as the App in the delivery's installation."""
        if self.installation_id is None:
            raise NoGitHubAccess(f"delivery {self.delivery_id} has no installation")
        return await self.github.installation_client(self.installation_id)


def repo_of(payload: dict[str, Any]) -> tuple[str, str]:
    """Return (owner, name) of the payload's repository."""
    repository = payload["repository"]
    return repository["owner"]["login"], repository["name"]


def is_bot(user: dict[str, Any] | None) -> bool:
    """Tell whether a payload user is a bot (GitHub Apps included)."""
    if not user:
        return True
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def ensure_repository_tx(tx: Tx, clock: Clock, payload: dict[str, Any]) -> int | None:
    """Make sure the payload's installation and repository rows exist; return the repo id."""
    installation = payload.get("installation")
    repository = payload.get("repository")
    if not isinstance(installation, dict) or not isinstance(repository, dict):
        return None
    ensure_installation_tx(tx, clock, installation["id"], repository["owner"]["login"])
    return upsert_repo_tx(tx, clock, installation["id"], Repository.from_github(repository))
