"""Discrete-event simulation of a task backlog: admission, naive FIFO, serial, lower bound."""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.clock import ManualClock
from app.scheduling.admission import plan_admission
from app.scheduling.queue import AdmissionRules, QueuedTask, RunningClaim
from app.scheduling.writeset import WriteSet

# Simulated time is in minutes from this instant; queue age follows the task's rank.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimTask:
    """A task of the backlog, listed in priority order: its duration and files."""

    task_id: int
    duration: float
    actual: frozenset[str]
    predicted: frozenset[str]


@dataclass(frozen=True)
class SimResult:
    """When each task ran, and the figures a benchmark reports.

    `out_of_order` is the share of task pairs started against priority order;
    `most_overtaken` the most lower-ranked tasks any one task saw start before it.
    """

    starts: dict[int, float]
    makespan: float
    conflicts: int
    mean_wait: float
    out_of_order: float
    most_overtaken: int


def lower_bound(tasks: Sequence[SimTask], workers: int) -> float:
    """Return max(total work / workers, heaviest file: summed durations of its tasks)."""
    per_file: defaultdict[str, float] = defaultdict(float)
    for task in tasks:
        for path in task.actual:
            per_file[path] += task.duration
    total = sum(task.duration for task in tasks)
    return max(total / workers, max(per_file.values(), default=0.0))


def count_conflicts(tasks: Sequence[SimTask], starts: dict[int, float]) -> int:
    """Return how many pairs of tasks ran at the same time while changing a common file."""
    spans = sorted(
        ((starts[task.task_id], starts[task.task_id] + task.duration, task) for task in tasks),
        key=lambda span: (span[0], span[2].task_id),
    )
    conflicts = 0
    active: list[tuple[float, SimTask]] = []
    for start, end, task in spans:
        active = [(other_end, other) for other_end, other in active if other_end > start]
        conflicts += sum(1 for _, other in active if other.actual & task.actual)
        active.append((end, task))
    return conflicts


def _overtaken(tasks: Sequence[SimTask], starts: dict[int, float]) -> list[int]:
    """Return, per task, how many tasks ranked below it started strictly before it."""
    later: list[float] = []
    counts: list[int] = []
    for task in reversed(tasks):
        start = starts[task.task_id]
        counts.append(bisect_left(later, start))
        insort(later, start)
    counts.reverse()
    return counts


def _result(tasks: Sequence[SimTask], starts: dict[int, float]) -> SimResult:
    ends = (starts[task.task_id] + task.duration for task in tasks)
    overtaken = _overtaken(tasks, starts)
    pairs = len(tasks) * (len(tasks) - 1) // 2
    return SimResult(
        starts=starts,
        makespan=max(ends, default=0.0),
        conflicts=count_conflicts(tasks, starts),
        mean_wait=sum(starts.values()) / len(starts) if starts else 0.0,
        out_of_order=sum(overtaken) / pairs if pairs else 0.0,
        most_overtaken=max(overtaken, default=0),
    )


def simulate_serial(tasks: Sequence[SimTask]) -> SimResult:
    """Run tasks one at a time in priority order."""
    starts: dict[int, float] = {}
    now = 0.0
    for task in tasks:
        starts[task.task_id] = now
        now += task.duration
    return _result(tasks, starts)


def simulate_fifo(tasks: Sequence[SimTask], workers: int) -> SimResult:
    """Run tasks in priority order on the first free worker, ignoring their files."""
    free = [0.0] * workers
    starts: dict[int, float] = {}
    for task in tasks:
        start = heapq.heappop(free)
        starts[task.task_id] = start
        heapq.heappush(free, start + task.duration)
    return _result(tasks, starts)


def simulate_admission(
    tasks: Sequence[SimTask],
    rules: AdmissionRules,
    claim: Callable[[SimTask], WriteSet],
    on_finish: Callable[[SimTask], None] = lambda task: None,
) -> SimResult:
    """Run tasks under `plan_admission`, re-planning whenever a task finishes.

    `claim` is asked for every queued task's write-set each round, so it can widen with what
    `on_finish` learned from the tasks that finished before.
    """
    clock = ManualClock(EPOCH)
    by_id = {task.task_id: task for task in tasks}
    queue = {
        task.task_id: QueuedTask(
            task.task_id, task.task_id, 0.0, EPOCH + timedelta(seconds=rank), claim(task)
        )
        for rank, task in enumerate(tasks)
    }
    running: dict[int, tuple[float, RunningClaim]] = {}
    starts: dict[int, float] = {}
    now = 0.0
    while queue or running:
        for task_id, queued in queue.items():
            fresh = claim(by_id[task_id])
            if fresh is not queued.write_set:
                queue[task_id] = replace(queued, write_set=fresh)
        claims = [entry for _, entry in running.values()]
        plan = plan_admission(list(queue.values()), claims, (), rules, clock)
        for queued in plan.admitted:
            del queue[queued.task_id]
            starts[queued.task_id] = now
            finish = now + by_id[queued.task_id].duration
            running[queued.task_id] = (
                finish,
                RunningClaim(queued.task_id, queued.task_id, queued.write_set),
            )
        for waiting in plan.waiting:
            if waiting.passed_over != queue[waiting.task_id].passed_over:
                queue[waiting.task_id] = replace(
                    queue[waiting.task_id], passed_over=waiting.passed_over
                )
        if not running:
            raise RuntimeError(f"{len(queue)} tasks can never start: nothing is running")
        next_finish = min(finish for finish, _ in running.values())
        clock.advance(timedelta(minutes=next_finish - now))
        now = next_finish
        for task_id in sorted(task_id for task_id, (finish, _) in running.items() if finish <= now):
            del running[task_id]
            on_finish(by_id[task_id])
    return _result(tasks, starts)
