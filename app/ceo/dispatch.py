"""Where attempts and reviews run: in this process (offline, demo) or in Modal functions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.ceo.ports import Reviewer

log = logging.getLogger("townhall.dispatch")

AttemptRunner = Callable[[int, int], Awaitable[None]]
# Starts a deployed Modal function with these arguments and returns without waiting for it.
Spawn = Callable[..., Awaitable[None]]
APP_NAME = "townhall"


class InlineDispatcher:
    """Run attempts as tasks of this event loop (the local backend used offline)."""

    def __init__(self, run_attempt: AttemptRunner) -> None:
        self._run_attempt = run_attempt
        self._running: set[asyncio.Task[None]] = set()

    async def dispatch(self, task_id: int, attempt: int) -> None:
        """Start the attempt as a background task."""
        job = asyncio.create_task(
            self._guarded(task_id, attempt), name=f"attempt:{task_id}:{attempt}"
        )
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _guarded(self, task_id: int, attempt: int) -> None:
        try:
            await self._run_attempt(task_id, attempt)
        except Exception:
            # The runner records its own failures; anything escaping it is a bug to log. The
            # attempt's lease then expires and the next tick sends the task back to the queue.
            log.exception("attempt %s of task %s crashed", attempt, task_id)

    async def wait(self) -> None:
        """Wait until every attempt started here has finished."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)


def modal_spawner(function_name: str, app_name: str = APP_NAME) -> Spawn:
    """Return a function that spawns the deployed Modal function `function_name`."""

    async def spawn(*args: int) -> None:
        import modal  # imported here: offline runs never need Modal's client

        await modal.Function.from_name(app_name, function_name).spawn.aio(*args)

    return spawn


class SpawnedDispatcher:
    """Start each attempt in its own function (`run_worker` on Modal)."""

    def __init__(self, spawn: Spawn) -> None:
        self._spawn = spawn

    async def dispatch(self, task_id: int, attempt: int) -> None:
        """Spawn the worker function; Modal runs it with its own timeout and retries."""
        await self._spawn(task_id, attempt)

    async def wait(self) -> None:
        """Nothing to wait for: the attempts run elsewhere."""


class SpawnedReviews:
    """Review each PR in its own function (`run_review` on Modal), so a tick never waits.

    Post-merge checks still run through `inner`, in the tick.
    """

    def __init__(self, spawn: Spawn, inner: Reviewer) -> None:
        self._spawn = spawn
        self._inner = inner

    async def review(self, task_id: int) -> bool:
        """Spawn the review; it counts as acted on (the function decides what is due)."""
        await self._spawn(task_id)
        return True

    async def post_merge_check(self, task_id: int) -> bool:
        """Check the base after the merge, here."""
        return await self._inner.post_merge_check(task_id)
