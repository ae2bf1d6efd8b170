"""Dispatch backends: run an attempt in this process (offline, demo) or spawn it on Modal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger("townhall.dispatch")

AttemptRunner = Callable[[int, int], Awaitable[None]]


class Dispatcher(Protocol):
    """Starts one recorded attempt of a task somewhere else; returns without waiting for it."""

    async def dispatch(self, task_id: int, attempt: int) -> None:
        """Start the attempt."""
        ...

    async def wait(self) -> None:
        """Wait for attempts this process started (a no-op where they run elsewhere)."""
        ...


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


class ModalDispatcher:
    """Spawn the deployed `run_worker` Modal function for each attempt."""

    def __init__(self, app_name: str = "townhall", function_name: str = "run_worker") -> None:
        self._app_name = app_name
        self._function_name = function_name

    def _function(self) -> Any:
        import modal  # imported here: offline runs never need Modal's client

        return modal.Function.from_name(self._app_name, self._function_name)

    async def dispatch(self, task_id: int, attempt: int) -> None:
        """Spawn the worker function; Modal runs it with its own timeout and retries."""
        await self._function().spawn.aio(task_id, attempt)

    async def wait(self) -> None:
        """Nothing to wait for: Modal runs the attempts."""


async def spawn_review(task_id: int, app_name: str = "townhall") -> None:
    """Review a task's PR in its own Modal function, so a tick never waits on reviews."""
    import modal  # imported here: offline runs never need Modal's client

    await modal.Function.from_name(app_name, "run_review").spawn.aio(task_id)


async def spawn_tick(app_name: str = "townhall") -> None:
    """Start a CEO tick now on Modal (after an approval), instead of waiting for the cron."""
    import modal  # imported here: offline runs never need Modal's client

    await modal.Function.from_name(app_name, "ceo_tick").spawn.aio()
