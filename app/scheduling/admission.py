"""Admission: which queued tasks start now, and why each of the others waits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

from app.clock import Clock
from app.scheduling import messages
from app.scheduling.globs import normalize_path
from app.scheduling.queue import (
    AdmissionPlan,
    AdmissionRules,
    OpenPull,
    QueuedTask,
    RunningClaim,
    Waiting,
    WaitKind,
    rank_key,
)
from app.scheduling.writeset import WriteSet

HolderKind = Literal["running", "pull", "admitted", "reserved"]


class _Block(NamedTuple):
    kind: WaitKind
    blocker: str
    files: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class _Holder:
    """Who holds files this round: a running task, an open PR, an admitted or starving task."""

    kind: HolderKind
    number: int
    write_set: WriteSet
    author: str = ""
    times: int = 0

    def block(self, shared: tuple[str, ...]) -> _Block:
        """Return why a task sharing `shared` with this holder waits."""
        files = messages.list_files(shared)
        if self.kind == "running":
            text = messages.RUNNING_CONFLICT.format(issue=self.number, files=files)
        elif self.kind == "pull":
            text = messages.PULL_CONFLICT.format(
                number=self.number, author=self.author, files=files
            )
        elif self.kind == "admitted":
            text = messages.ADMITTED_CONFLICT.format(issue=self.number, files=files)
        else:
            text = messages.RESERVED.format(issue=self.number, times=self.times, files=files)
        label = f"PR #{self.number}" if self.kind == "pull" else f"#{self.number}"
        return _Block(self.kind, label, shared, text)


@dataclass
class _Claims:
    """Claims held this round, indexed by file so each check costs the size of one write-set."""

    holders: list[_Holder] = field(default_factory=list)
    by_file: dict[str, list[int]] = field(default_factory=dict)
    with_globs: list[int] = field(default_factory=list)

    def add(self, holder: _Holder) -> None:
        """Hold `holder`'s files from now on in this round."""
        index = len(self.holders)
        self.holders.append(holder)
        for path in holder.write_set.files:
            self.by_file.setdefault(path, []).append(index)
        if holder.write_set.globs:
            self.with_globs.append(index)

    def first_block(self, claim: WriteSet, own_pull: int | None = None) -> _Block | None:
        """Return the block by the earliest holder sharing anything with `claim`.

        `own_pull` is the task's own open PR: a retry replaces it, so it never blocks its task.
        """
        if claim.globs:
            candidates: Iterable[int] = range(len(self.holders))
        else:
            found = {index for path in claim.files for index in self.by_file.get(path, ())}
            candidates = sorted(found.union(self.with_globs))
        for index in candidates:
            holder = self.holders[index]
            if holder.kind == "pull" and holder.number == own_pull:
                continue
            shared = holder.write_set.shared_with(claim)
            if shared:
                return self.holders[index].block(shared)
        return None


@dataclass
class _Round:
    """The state of one admission round as tasks are considered."""

    rules: AdmissionRules
    claims: _Claims
    pulls: _Claims
    busy: list[tuple[int, str]]
    alone: tuple[int, WriteSet] | None = None
    reserve_all: tuple[int, int] | None = None
    admitted: list[QueuedTask] = field(default_factory=list)

    def block(self, task: QueuedTask) -> _Block | None:
        """Return why `task` cannot start now, or None if it can."""
        claim = task.write_set
        if self.alone is not None:
            issue, other = self.alone
            barrier_files = tuple(sorted(other.barriers))
            files = messages.list_files(barrier_files)
            text = messages.BARRIER_RUNNING.format(issue=issue, files=files)
            return _Block("barrier", f"#{issue}", barrier_files, text)
        if self.reserve_all is not None:
            issue, times = self.reserve_all
            text = messages.RESERVED_ALL.format(issue=issue, times=times)
            return _Block("reserved", f"#{issue}", (), text)
        pull = self.pulls.first_block(claim, task.own_pull)
        if pull is not None:
            return pull
        if claim.runs_alone and self.busy:
            issue, state = self.busy[0]
            barrier_files = tuple(sorted(claim.barriers))
            files = messages.list_files(barrier_files)
            text = messages.NEEDS_ALONE.format(files=files, issue=issue, state=state)
            return _Block("alone", f"#{issue}", barrier_files, text)
        overlap = self.claims.first_block(claim)
        if overlap is not None:
            return overlap
        if len(self.busy) >= self.rules.max_parallel:
            text = messages.CAPACITY.format(busy=len(self.busy), limit=self.rules.max_parallel)
            return _Block("capacity", "", (), text)
        return None

    def admit(self, task: QueuedTask) -> None:
        """Start `task`: it holds its claim and a worker from now on."""
        self.admitted.append(task)
        self.busy.append((task.issue_number, "starting"))
        self.claims.add(_Holder("admitted", task.issue_number, task.write_set))
        if task.write_set.runs_alone:
            self.alone = (task.issue_number, task.write_set)

    def reserve(self, task: QueuedTask) -> None:
        """Keep later tasks off a starving task's files (all files, if it must run alone)."""
        if task.write_set.runs_alone:
            self.reserve_all = (task.issue_number, task.passed_over)
        else:
            self.claims.add(
                _Holder("reserved", task.issue_number, task.write_set, times=task.passed_over)
            )


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


def _start_round(
    running: Sequence[RunningClaim], pulls: Sequence[OpenPull], rules: AdmissionRules
) -> _Round:
    claims = _Claims()
    ordered = sorted(running, key=lambda claim: (claim.issue_number, claim.task_id))
    busy = [(claim.issue_number, "running") for claim in ordered]
    state = _Round(rules, claims, _Claims(), busy)
    for claim in ordered:
        claims.add(_Holder("running", claim.issue_number, claim.write_set))
        if claim.write_set.runs_alone and state.alone is None:
            state.alone = (claim.issue_number, claim.write_set)
    for pull in sorted(pulls, key=lambda pull: pull.number):
        files = frozenset(normalize_path(path) for path in pull.files)
        state.pulls.add(_Holder("pull", pull.number, WriteSet(files, files), pull.author))
    return state


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
    it is starving and reserves its files, unless what it waits for is an open PR.
    """
    now = clock.now()
    state = _start_round(running, pulls, rules)
    idle = not running
    order = sorted(
        queue, key=lambda task: (not _goes_first(task, rules, now, idle), rank_key(task))
    )
    blocked: list[tuple[QueuedTask, _Block, bool]] = []
    for position, task in enumerate(order):
        if rules.lookahead is not None and position >= rules.lookahead:
            text = messages.LOOKAHEAD.format(position=position + 1)
            blocked.append((task, _Block("queued", "", (), text), False))
            continue
        block = state.block(task)
        if block is None:
            state.admit(task)
            continue
        # No admission decision closes a PR, so reserving against one would only idle workers.
        reserving = _starving(task, rules, now) and block.kind != "pull"
        if reserving:
            state.reserve(task)
        blocked.append((task, block, reserving))

    waiting = tuple(
        Waiting(
            task_id=task.task_id,
            issue_number=task.issue_number,
            kind=block.kind,
            blocker=block.blocker,
            files=block.files,
            message=block.message,
            passed_over=task.passed_over + _overtaken(task, state.admitted),
            reserving=reserving,
        )
        for task, block, reserving in blocked
    )
    return AdmissionPlan(decided_at=now, admitted=tuple(state.admitted), waiting=waiting)
