"""The admission round's inputs and outputs: queued tasks, claims, open PRs, the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from app.policy import LimitPolicy
from app.scheduling.writeset import WriteSet

WaitKind = Literal[
    "running", "pull", "admitted", "reserved", "barrier", "alone", "capacity", "queued"
]


@dataclass(frozen=True)
class QueuedTask:
    """A task waiting to start; `priority` is its vote score."""

    task_id: int
    issue_number: int
    priority: float
    approved_at: datetime
    write_set: WriteSet
    passed_over: int = 0
    own_pull: int | None = None  # the task's open PR from an earlier attempt, if any


@dataclass(frozen=True)
class RunningClaim:
    """A task a worker is running, with the files it claimed when admitted."""

    task_id: int
    issue_number: int
    write_set: WriteSet


@dataclass(frozen=True)
class OpenPull:
    """An open pull request (Townhall's or a person's) with its actual changed files."""

    number: int
    files: frozenset[str]
    author: str = ""


@dataclass(frozen=True)
class AdmissionRules:
    """Parallelism, the starvation guard, and how deep into the queue to look."""

    max_parallel: int = 3
    starvation_after: int = 5
    max_wait: timedelta | None = None
    lookahead: int | None = None

    @classmethod
    def from_policy(
        cls,
        limits: LimitPolicy,
        *,
        starvation_after: int = 5,
        max_wait: timedelta | None = None,
        lookahead: int | None = None,
    ) -> AdmissionRules:
        """Return rules taking `max_parallel` from the repository policy's `[limits]`."""
        return cls(limits.max_parallel, starvation_after, max_wait, lookahead)


@dataclass(frozen=True)
class Waiting:
    """Why a task did not start: the blocking task or PR and the files they share."""

    task_id: int
    issue_number: int
    kind: WaitKind
    blocker: str
    files: tuple[str, ...]
    message: str
    passed_over: int
    reserving: bool


@dataclass(frozen=True)
class AdmissionPlan:
    """The tasks to start now, in the order considered, and why every other one waits."""

    decided_at: datetime
    admitted: tuple[QueuedTask, ...]
    waiting: tuple[Waiting, ...]

    def passed_over(self) -> dict[int, int]:
        """Return each waiting task's updated passed-over count, by task id."""
        return {entry.task_id: entry.passed_over for entry in self.waiting}

    def reason(self, task_id: int) -> Waiting | None:
        """Return why `task_id` waits, or None if it was admitted or never queued."""
        return next((entry for entry in self.waiting if entry.task_id == task_id), None)


def rank_key(task: QueuedTask) -> tuple[float, datetime, int]:
    """Return the sort key of the queue: vote score descending, then oldest, then task id."""
    return (-task.priority, task.approved_at, task.task_id)
