"""Installations and their repositories: keep the rows current as the App is (un)installed."""

from __future__ import annotations

from typing import Any

from app.store import Tx
from app.store.installations import (
    Installation,
    delete_installation_tx,
    suspend_installation_tx,
    unsuspend_installation_tx,
    upsert_installation_tx,
)
from app.store.repos import Repository, deactivate_repos_tx, upsert_repo_tx
from app.webhooks.handler_context import HandlerContext
from app.webhooks.router import Router

router = Router()


def _repositories(listed: list[dict[str, Any]], owner: str) -> list[Repository]:
    # Installation payloads list repositories briefly: id, name, full_name (no owner object).
    return [
        Repository.from_github(
            {**repo, "full_name": repo.get("full_name") or f"{owner}/{repo['name']}"}
        )
        for repo in listed
    ]


@router.register("installation")
async def on_installation(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record created/deleted/suspended installations and the repositories they cover."""
    installation = Installation.from_github(payload["installation"])
    action = payload.get("action")

    def apply(tx: Tx) -> None:
        if action == "deleted":
            delete_installation_tx(tx, context.clock, installation.id)
            return
        if action == "suspend":
            suspend_installation_tx(tx, context.clock, installation.id)
            return
        upsert_installation_tx(tx, context.clock, installation)
        if action == "unsuspend":
            unsuspend_installation_tx(tx, installation.id)
        for repo in _repositories(payload.get("repositories") or [], installation.account_login):
            upsert_repo_tx(tx, context.clock, installation.id, repo)

    await context.store.run(apply)
    if action in {"deleted", "suspend"}:
        context.github.forget_installation(installation.id)


@router.register("installation_repositories")
async def on_installation_repositories(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record repositories added to or removed from an installation."""
    installation = Installation.from_github(payload["installation"])
    added = _repositories(payload.get("repositories_added") or [], installation.account_login)
    removed = [repo["id"] for repo in payload.get("repositories_removed") or []]

    def apply(tx: Tx) -> None:
        upsert_installation_tx(tx, context.clock, installation)
        for repo in added:
            upsert_repo_tx(tx, context.clock, installation.id, repo)
        deactivate_repos_tx(tx, context.clock, removed)

    await context.store.run(apply)
