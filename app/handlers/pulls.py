"""Pull requests and reviews on Townhall's branches: remember them against their tasks."""

from __future__ import annotations

from typing import Any

from app.store import Tx
from app.store.entities import ensure_installation_tx, upsert_pull_request_tx
from app.store.times import to_db
from app.webhooks.handler_context import HandlerContext
from app.webhooks.router import Router

router = Router()


@router.register("pull_request")
async def on_pull_request(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record a Townhall PR's head, state and merge; other PRs are not Townhall's business."""

    def apply(tx: Tx) -> None:
        repo_id = ensure_installation_tx(tx, context.clock, payload)
        if repo_id is not None:
            upsert_pull_request_tx(tx, context.clock, repo_id, payload["pull_request"])

    await context.store.run(apply)


@router.register("pull_request_review", "submitted")
async def on_review(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record the latest review state on a Townhall PR."""
    review = payload["review"]

    def apply(tx: Tx) -> None:
        repo_id = ensure_installation_tx(tx, context.clock, payload)
        if repo_id is None:
            return
        if upsert_pull_request_tx(tx, context.clock, repo_id, payload["pull_request"]) is None:
            return
        tx.execute(
            "UPDATE pull_requests SET last_review_state = ?, updated_at = ?"
            " WHERE repo_id = ? AND number = ?",
            (
                str(review.get("state", "")).lower(),
                to_db(context.clock.now()),
                repo_id,
                payload["pull_request"]["number"],
            ),
        )

    await context.store.run(apply)
