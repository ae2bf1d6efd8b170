"""Admission: which queued tasks start now, and why each of the others waits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from app.clock import Clock
from app.policy import LimitPolicy
from app.scheduling import messages
from app.scheduling.globs import normalize_path
from app.scheduling.writeset import WriteSet

WaitKind = Literal[
    "running", "pull", "admitted", "reserved", "barrier", "alone", "capacity", "queued"
]
HolderKind = Literal["running", "pull", "admitted", "reserved"]


@dataclass(frozen=True)
class QueuedTask:
    """A task waiting to start; `priority` is its vote score."""

    task_id: int
    issue_number: int
    priority: float
    approved_at: datetime
    write_set: WriteSet
    passed_over: int = 0


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
    """The tasks to start now, in priority order, and a reason for every other queued task."""

    decided_at: datetime
    admitted: tuple[QueuedTask, ...]
    waiting: tuple[Waiting, ...]

    def passed_over(self) -> dict[int, int]:
        """Return each waiting task's updated passed-over count, by task id."""
        return {entry.task_id: entry.passed_over for entry in self.waiting}

    def reason(self, task_id: int) -> Waiting | None:
        """Return why `task_id` waits, or None if it was admitted or never queued."""
        return next((entry for entry in self.waiting if entry.task_id == task_id), None)


@dataclass(frozen=True)
class _Holder:
    kind: HolderKind
    label: str
    write_set: WriteSet
    author: str = ""
    times: int = 0


@dataclass
class _Claims:
    """Claims held this round, indexed by file so each check costs the size of one write-set."""

    holders: list[_Holder] = field(default_factory=list)
    by_file: dict[str, list[int]] = field(default_factory=dict)
    with_globs: list[int] = field(default_factory=list)

    def add(self, holder: _Holder) -> None:
        index = len(self.holders)
        self.holders.append(holder)
        for path in holder.write_set.files:
            self.by_file.setdefault(path, []).append(index)
        if holder.write_set.globs:
            self.with_globs.append(index)

    def first_overlap(self, claim: WriteSet) -> tuple[_Holder, tuple[str, ...]] | None:
        """Return the earliest holder sharing anything with `claim`, and what they share."""
        if claim.globs:
            candidates: Iterable[int] = range(len(self.holders))
        else:
            found = {index for path in claim.files for index in self.by_file.get(path, ())}
            candidates = sorted(found.union(self.with_globs))
        for index in candidates:
            shared = self.holders[index].write_set.shared_with(claim)
            if shared:
                return self.holders[index], shared
        return None


def rank_key(task: QueuedTask) -> tuple[float, datetime, int]:
    """Return the sort key of the queue: vote score descending, then oldest, then task id."""
    return (-task.priority, task.approved_at, task.task_id)


def _label(issue_number: int) -> str:
    return f"#{issue_number}"


def _conflict(task: QueuedTask, holder: _Holder, shared: tuple[str, ...]) -> Waiting:
    files = messages.list_files(shared)
    issue = holder.label.lstrip("#")
    if holder.kind == "running":
        text = messages.RUNNING_CONFLICT.format(issue=issue, files=files)
    elif holder.kind == "pull":
        text = messages.PULL_CONFLICT.format(number=issue, author=holder.author, files=files)
    elif holder.kind == "admitted":
        text = messages.ADMITTED_CONFLICT.format(issue=issue, files=files)
    else:
        text = messages.RESERVED.format(issue=issue, times=holder.times, files=files)
    blocker = f"PR {holder.label}" if holder.kind == "pull" else holder.label
    return _waiting(task, holder.kind, blocker, shared, text)


def _waiting(
    task: QueuedTask, kind: WaitKind, blocker: str, files: tuple[str, ...], text: str
) -> Waiting:
    return Waiting(task.task_id, task.issue_number, kind, blocker, files, text, 0, False)


@dataclass
class _Round:
    """The running state of one admission round."""

    rules: AdmissionRules
    claims: _Claims
    busy: list[tuple[int, str]]
    alone: tuple[int, WriteSet] | None = None
    reserve_all: tuple[QueuedTask, int] | None = None
    admitted: list[QueuedTask] = field(default_factory=list)

    def blocker(self, task: QueuedTask) -> Waiting | None:
        """Return why `task` cannot start now, or None if it can."""
        claim = task.write_set
        if self.alone is not None:
            issue, other = self.alone
            barrier_files = tuple(sorted(other.barriers))
            text = messages.BARRIER_RUNNING.format(
                issue=issue, files=messages.list_files(barrier_files)
            )
            return _waiting(task, "barrier", _label(issue), barrier_files, text)
        if self.reserve_all is not None:
            starving, times = self.reserve_all
            text = messages.RESERVED_ALL.format(issue=starving.issue_number, times=times)
            return _waiting(task, "reserved", _label(starving.issue_number), (), text)
        if claim.runs_alone and self.busy:
            issue, state = self.busy[0]
            barrier_files = tuple(sorted(claim.barriers))
            text = messages.NEEDS_ALONE.format(
                files=messages.list_files(barrier_files), issue=issue, state=state
            )
            return _waiting(task, "alone", _label(issue), barrier_files, text)
        overlap = self.claims.first_overlap(claim)
        if overlap is not None:
            return _conflict(task, *overlap)
        if len(self.busy) >= self.rules.max_parallel:
            text = messages.CAPACITY.format(busy=len(self.busy), limit=self.rules.max_parallel)
            return _waiting(task, "capacity", "", (), text)
        return None

    def admit(self, task: QueuedTask) -> None:
        """Start `task`: it holds its claim and a worker from now on."""
        self.admitted.append(task)
        self.busy.append((task.issue_number, "starting"))
        self.claims.add(_Holder("admitted", _label(task.issue_number), task.write_set))
        if task.write_set.runs_alone:
            self.alone = (task.issue_number, task.write_set)

    def reserve(self, task: QueuedTask) -> None:
        """Keep later tasks off a starving task's files (all files, if it must run alone)."""
        if task.write_set.runs_alone:
            self.reserve_all = (task, task.passed_over)
        else:
            holder = _Holder(
                "reserved", _label(task.issue_number), task.write_set, times=task.passed_over
            )
            self.claims.add(holder)


def _overtaken(task: QueuedTask, admitted: Sequence[QueuedTask]) -> int:
    """Return how many tasks ranked below `task` started and took something it needs.

    A task ranked lower that starts on unrelated files delays nothing, so it does not count;
    for a task that must run alone, every start counts.
    """
    key = rank_key(task)
    return sum(
        1
        for other in admitted
        if rank_key(other) > key
        and (task.write_set.runs_alone or task.write_set.shared_with(other.write_set))
    )


def _starving(task: QueuedTask, rules: AdmissionRules, now: datetime) -> bool:
    if task.passed_over >= rules.starvation_after:
        return True
    return rules.max_wait is not None and now - task.approved_at >= rules.max_wait


def _goes_first(task: QueuedTask, rules: AdmissionRules, now: datetime, idle: bool) -> bool:
    """Return whether `task` is considered before the rest of the queue.

    Starving tasks go first so their reservations hold against everyone. When no worker is
    busy, barrier tasks already passed over go first too: the drain they need has happened,
    so they run back to back instead of each draining the workers again later.
    """
    if _starving(task, rules, now):
        return True
    return idle and task.write_set.runs_alone and task.passed_over > 0


def plan_admission(
    queue: Sequence[QueuedTask],
    running: Sequence[RunningClaim],
    pulls: Sequence[OpenPull],
    rules: AdmissionRules,
    clock: Clock,
) -> AdmissionPlan:
    """Decide which queued tasks start now; the same input in any order gives the same plan.

    Tasks are considered in `rank_key` order, starving ones (and, on idle workers, passed-over
    barrier tasks) first. One starts when a worker is free, it need not run alone beside
    others, and its claim is disjoint from every running claim, every open PR's files, every
    claim admitted earlier this round and every starving task's reservation. A waiting task
    is passed over once for each task ranked below it that starts and claims some of its
    files (any task, if it runs alone); after `starvation_after` pass-overs (or `max_wait`)
    it is starving and reserves its files.
    """
    now = clock.now()
    claims = _Claims()
    ordered_running = sorted(running, key=lambda claim: (claim.issue_number, claim.task_id))
    state = _Round(rules, claims, [(claim.issue_number, "running") for claim in ordered_running])
    for claim in ordered_running:
        claims.add(_Holder("running", _label(claim.issue_number), claim.write_set))
        if claim.write_set.runs_alone and state.alone is None:
            state.alone = (claim.issue_number, claim.write_set)
    for pull in sorted(pulls, key=lambda pull: pull.number):
        files = frozenset(normalize_path(path) for path in pull.files)
        claims.add(_Holder("pull", _label(pull.number), WriteSet(files, files), pull.author))

    idle = not running
    order = sorted(
        queue, key=lambda task: (not _goes_first(task, rules, now, idle), rank_key(task))
    )
    decided: list[tuple[QueuedTask, Waiting]] = []
    for position, task in enumerate(order):
        if rules.lookahead is not None and position >= rules.lookahead:
            text = messages.LOOKAHEAD.format(position=position + 1)
            decided.append((task, _waiting(task, "queued", "", (), text)))
            continue
        waiting = state.blocker(task)
        if waiting is None:
            state.admit(task)
            continue
        reserving = _starving(task, rules, now)
        if reserving:
            state.reserve(task)
        decided.append((task, replace(waiting, reserving=reserving)))

    updated = tuple(
        replace(entry, passed_over=task.passed_over + _overtaken(task, state.admitted))
        for task, entry in decided
    )
    return AdmissionPlan(decided_at=now, admitted=tuple(state.admitted), waiting=updated)
