"""Whether an attempt may publish: approval still stands for the text it worked from.

An attempt works from the task's snapshot of the approved issue text. Its work is published
only when the issue is not held, the approval has not moved to other text, and the issue on
GitHub still reads as approved (an edit no sweep or webhook has recorded yet counts too).
"""

from __future__ import annotations

from app.github.client import Client
from app.github.issue_text import live_issue_hash
from app.store import Store
from app.store.attempt_results import AttemptInput
from app.store.issue_tasks import TEXT_CHANGED, task_hold
from workers.texts import HELD_LOG


class ApprovalHeld(Exception):
    """The issue's approved text no longer stands: the attempt's work must not be published."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def log(self) -> str:
        """What the attempt's record says about it."""
        return HELD_LOG.format(reason=self.reason)


async def recorded_hold(store: Store, work: AttemptInput) -> str | None:
    """Return why the store holds the attempt's task, or None (no GitHub call)."""
    return await task_hold(store, work.task_id, work.approved_hash)


async def check_approval(store: Store, client: Client, work: AttemptInput) -> None:
    """Raise ApprovalHeld unless the approved text the attempt worked from still stands.

    `client` is the publishing client (it needs `issues: read`), so the check costs one call.
    """
    if reason := await recorded_hold(store, work):
        raise ApprovalHeld(reason)
    live = await live_issue_hash(client, work.owner, work.repo, work.issue_number)
    if live != work.approved_hash:
        raise ApprovalHeld(TEXT_CHANGED)
