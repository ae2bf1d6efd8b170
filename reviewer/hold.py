"""Whether a reviewed head may land: approval still stands for the text it was reviewed against.

The review reads the task's snapshot of the approved issue text. Before anything is merged (or
marked ready for a maintainer), the issue must not be held, the approval must not have moved
to other text, and the issue on GitHub must still read as approved, so an edit that no sweep or
webhook has recorded yet holds the merge too.
"""

from __future__ import annotations

from app.github.client import Client
from app.github.issue_text import live_issue_hash
from app.store import Store
from app.store.issue_tasks import TEXT_CHANGED, task_hold
from app.store.reviews import ReviewTarget


async def recorded_hold(store: Store, target: ReviewTarget) -> str | None:
    """Return why the store holds the task under review, or None (no GitHub call)."""
    return await task_hold(store, target.task_id, target.approved_hash)


async def landing_hold(store: Store, client: Client, target: ReviewTarget) -> str | None:
    """Return why the task's PR must not land now, or None when its approved text stands."""
    if reason := await recorded_hold(store, target):
        return reason
    live = await live_issue_hash(client, target.owner, target.repo, target.issue_number)
    return TEXT_CHANGED if live != target.approved_hash else None
