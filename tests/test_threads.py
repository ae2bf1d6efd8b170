"""in_thread: a cancelled caller leaves only after the thread it started has stopped."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import pytest

from app.threads import in_thread


def _fill(directory: Path, started: threading.Event, stopped: threading.Event) -> None:
    started.set()
    for index in range(20):  # like a git fetch still writing objects after the cancel
        time.sleep(0.01)
        (directory / "objects").mkdir(exist_ok=True)
        (directory / "objects" / f"pack-{index}").write_text("x")
    stopped.set()


async def test_cancelled_caller_waits_for_the_thread_before_cleanup() -> None:
    started, stopped = threading.Event(), threading.Event()
    finished: list[bool] = []

    async def caller() -> None:
        with tempfile.TemporaryDirectory() as scratch:
            await in_thread(_fill, Path(scratch), started, stopped)
        finished.append(True)

    task = asyncio.create_task(caller())
    while not started.is_set():
        await asyncio.sleep(0.001)
    task.cancel()
    # With asyncio.to_thread the cleanup raced the thread: OSError "Directory not empty".
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set(), "the caller's cleanup ran while the thread was still writing"
    assert finished == []


async def test_result_and_errors_pass_through() -> None:
    assert await in_thread(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        await in_thread(lambda: 1 / 0)
