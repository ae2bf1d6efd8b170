"""Blocking work in a thread that a cancelled caller still waits for.

`asyncio.to_thread` returns as soon as its awaiter is cancelled, but the thread cannot be
stopped and goes on writing. When the caller then leaves a `TemporaryDirectory`, the cleanup
races the thread (a git fetch still filling `objects/`) and fails with "Directory not empty",
replacing the cancellation with an unrelated error. `in_thread` lets the thread finish first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def in_thread(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `func` in a worker thread; if cancelled, wait for the thread, then re-raise."""
    running = asyncio.ensure_future(asyncio.to_thread(func, *args, **kwargs))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        # The thread's own result or error no longer matters; only that it has stopped.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await running
        raise
