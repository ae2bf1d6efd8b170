"""Webhook handlers, one module per concern; `build_router` assembles them."""

from __future__ import annotations

from app.handlers import comments, installations, issues, meta, pulls
from app.webhooks.router import Router


def build_router() -> Router:
    """Merge every concern's router into the one the inbox processor uses."""
    return Router(installations.router, issues.router, comments.router, pulls.router, meta.router)
