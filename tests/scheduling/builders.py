"""Small builders for scheduler inputs, so each test states only what it is about."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from app.scheduling import OpenPull, QueuedTask, RunningClaim, WriteSet, exact_write_set

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def claim(*files: str) -> WriteSet:
    """Return an exact claim of `files` under the default barrier rules."""
    return exact_write_set(files)


def queued(
    task_id: int,
    files: Iterable[str] | WriteSet,
    *,
    priority: float = 0.0,
    age_minutes: int = 0,
    passed_over: int = 0,
) -> QueuedTask:
    """Return a queued task for issue `task_id` approved `age_minutes` before T0."""
    write_set = files if isinstance(files, WriteSet) else claim(*files)
    approved = T0 - timedelta(minutes=age_minutes)
    return QueuedTask(task_id, task_id, priority, approved, write_set, passed_over)


def running(task_id: int, *files: str) -> RunningClaim:
    """Return a running task for issue `task_id` claiming `files`."""
    return RunningClaim(task_id, task_id, claim(*files))


def pull(number: int, *files: str, author: str = "alice") -> OpenPull:
    """Return an open pull request changing `files`."""
    return OpenPull(number, frozenset(files), author)
