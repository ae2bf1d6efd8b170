"""Installations and their repositories: keep the rows current as the App is (un)installed."""

from __future__ import annotations

from typing import Any

from app.store import Tx
from app.store.entities import (
    deactivate_repos_tx,
    mark_installation_tx,
    upsert_installation_tx,
    upsert_repo_tx,
)
from app.webhooks.handler_context import HandlerContext
from app.webhooks.router import Router

router = Router()


def _with_full_names(repositories: list[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
    # Installation payloads list repositories briefly: id, name, full_name (no owner object).
    return [
        {**repo, "full_name": repo.get("full_name") or f"{owner}/{repo['name']}"}
        for repo in repositories
    ]


@router.register("installation")
async def on_installation(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record created/deleted/suspended installations and the repositories they cover."""
    installation = payload["installation"]
    owner = (installation.get("account") or {}).get("login", "")
    action = payload.get("action")

    def apply(tx: Tx) -> None:
        if action == "deleted":
            mark_installation_tx(tx, context.clock, installation["id"], "deleted_at")
            return
        if action == "suspend":
            mark_installation_tx(tx, context.clock, installation["id"], "suspended_at")
            return
        upsert_installation_tx(tx, context.clock, installation)
        if action == "unsuspend":
            mark_installation_tx(tx, context.clock, installation["id"], "unsuspended")
        for repo in _with_full_names(payload.get("repositories") or [], owner):
            upsert_repo_tx(tx, context.clock, installation["id"], repo)

    await context.store.run(apply)
    if action in {"deleted", "suspend"}:
        context.github.forget_installation(installation["id"])


@router.register("installation_repositories")
async def on_installation_repositories(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record repositories added to or removed from an installation."""
    installation = payload["installation"]
    owner = (installation.get("account") or {}).get("login", "")

    def apply(tx: Tx) -> None:
        upsert_installation_tx(tx, context.clock, installation)
        for repo in _with_full_names(payload.get("repositories_added") or [], owner):
            upsert_repo_tx(tx, context.clock, installation["id"], repo)
        removed = [repo["id"] for repo in payload.get("repositories_removed") or []]
        deactivate_repos_tx(tx, context.clock, removed)

    await context.store.run(apply)
