"""Pull requests and reviews of Townhall's own PRs: remember them against their tasks."""

from __future__ import annotations

from typing import Any

from app.store import Tx
from app.store.pulls import PullRequestRecord, record_review_state_tx, upsert_pull_request_tx
from app.webhooks.handler_context import HandlerContext, ensure_repository_tx
from app.webhooks.router import Router

router = Router()


async def _app_login_for(context: HandlerContext, pull: PullRequestRecord) -> str:
    """The App's login when the PR could be Townhall's; '' (nobody) without asking otherwise."""
    if not pull.on_townhall_branch():
        return ""  # a fork or another branch: never Townhall's, whoever opened it
    return await context.github.app_login()


@router.register("pull_request")
async def on_pull_request(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record a Townhall PR's head, state and merge; other PRs are not Townhall's business."""
    pull = PullRequestRecord.from_github(payload["pull_request"])
    app_login = await _app_login_for(context, pull)

    def apply(tx: Tx) -> None:
        repo_id = ensure_repository_tx(tx, context.clock, payload)
        if repo_id is not None:
            upsert_pull_request_tx(tx, context.clock, repo_id, pull, app_login)

    await context.store.run(apply)


@router.register("pull_request_review", "submitted")
async def on_review(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Record the latest review state on a Townhall PR."""
    pull = PullRequestRecord.from_github(payload["pull_request"])
    review_state = str(payload["review"].get("state", "")).lower()
    app_login = await _app_login_for(context, pull)

    def apply(tx: Tx) -> None:
        repo_id = ensure_repository_tx(tx, context.clock, payload)
        if repo_id is None:
            return
        if upsert_pull_request_tx(tx, context.clock, repo_id, pull, app_login) is None:
            return
        record_review_state_tx(tx, context.clock, repo_id, pull.number, review_state)

    await context.store.run(apply)
