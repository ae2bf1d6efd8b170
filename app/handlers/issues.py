"""Issues: keep each issue's row current through every action GitHub announces."""

from __future__ import annotations

from typing import Any

from app.store import Tx
from app.store.issues import IssueRecord, upsert_issue_tx
from app.store.tasks import record_event
from app.webhooks.handler_context import HandlerContext, ensure_repository_tx
from app.webhooks.router import Router

router = Router()

# Deleted and transferred issues are gone from this repository; keep the row, mark why.
_GONE_STATES = {"deleted": "deleted", "transferred": "transferred"}


@router.register("issues")
async def on_issue(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Upsert the issue row; record edits, closes and reopens as events."""
    action = payload.get("action", "")
    issue = IssueRecord.from_github(payload["issue"], _GONE_STATES.get(action))
    sender = (payload.get("sender") or {}).get("login", "ghost")

    def apply(tx: Tx) -> None:
        repo_id = ensure_repository_tx(tx, context.clock, payload)
        if repo_id is None:
            return
        upsert_issue_tx(tx, context.clock, repo_id, issue)
        if action in {"edited", "closed", "reopened", "deleted", "transferred"}:
            record_event(
                tx,
                context.clock,
                actor=sender,
                kind=f"issue_{action}",
                repo_id=repo_id,
                issue_number=issue.number,
                reason=f"delivery {context.delivery_id}",
            )

    await context.store.run(apply)
