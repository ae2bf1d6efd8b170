"""What the CEO asks of the parts it starts but does not own: workers and the reviewer.

The tick only records and decides; an attempt or a review runs wherever the wiring chose (this
process, or a Modal function). These two interfaces are all the CEO knows of either.
"""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """Starts one recorded attempt of a task somewhere else; returns without waiting for it."""

    async def dispatch(self, task_id: int, attempt: int) -> None:
        """Start the attempt."""
        ...

    async def wait(self) -> None:
        """Wait for attempts this process started (a no-op where they run elsewhere)."""
        ...


class Reviewer(Protocol):
    """Reviews a task's PR and checks the base branch after a merge."""

    async def review(self, task_id: int) -> bool:
        """Review (or merge) the task's PR if its head is due; return whether it acted."""
        ...

    async def post_merge_check(self, task_id: int) -> bool:
        """Build and test the base after the task's merge if due; return whether it checked."""
        ...
