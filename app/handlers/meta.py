"""GitHub's `ping` when a webhook is created: acknowledge and note it."""

from __future__ import annotations

from typing import Any

from app.webhooks.handler_context import HandlerContext
from app.webhooks.router import Router

router = Router()


@router.register("ping")
async def on_ping(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Log the hook's zen line so operators see the webhook works."""
    context.log.info("ping from hook %s: %s", payload.get("hook_id"), payload.get("zen", ""))
