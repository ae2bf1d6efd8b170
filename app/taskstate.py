"""The task state machine of DESIGN.md's flow, as pure data and one checking function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is between approval and merge."""

    APPROVED = "approved"
    PLANNED = "planned"
    QUEUED = "queued"
    RUNNING = "running"
    PR_OPEN = "pr_open"
    REVIEWING = "reviewing"
    CHANGES_REQUESTED = "changes_requested"
    MERGED = "merged"
    REVERTED = "reverted"
    FAILED = "failed"
    NEEDS_HUMAN = "needs_human"
    CANCELLED = "cancelled"


S = TaskState

# Every legal move. A task is cancelled from any live state when its issue is closed or
# vetoed, and a cancelled or stuck task comes back when a maintainer approves or retries it.
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    S.APPROVED: frozenset({S.PLANNED, S.NEEDS_HUMAN, S.CANCELLED}),
    S.PLANNED: frozenset({S.QUEUED, S.CANCELLED}),
    # A queued task whose own budget is spent goes to a person instead of running again.
    S.QUEUED: frozenset({S.RUNNING, S.NEEDS_HUMAN, S.CANCELLED}),
    # A running task whose environment cannot be set up goes straight to a person: nothing
    # the agent does can fix a setup command, so no attempt is spent on it (see below).
    S.RUNNING: frozenset({S.PR_OPEN, S.FAILED, S.NEEDS_HUMAN, S.CANCELLED}),
    S.PR_OPEN: frozenset({S.REVIEWING, S.MERGED, S.FAILED, S.CANCELLED}),
    S.REVIEWING: frozenset({S.MERGED, S.CHANGES_REQUESTED, S.PR_OPEN, S.FAILED, S.CANCELLED}),
    S.CHANGES_REQUESTED: frozenset({S.QUEUED, S.NEEDS_HUMAN, S.CANCELLED}),
    S.FAILED: frozenset({S.QUEUED, S.NEEDS_HUMAN, S.CANCELLED}),
    S.MERGED: frozenset({S.REVERTED}),
    S.REVERTED: frozenset({S.QUEUED, S.NEEDS_HUMAN, S.CANCELLED}),
    S.NEEDS_HUMAN: frozenset({S.APPROVED, S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset({S.APPROVED}),
}

TERMINAL: frozenset[TaskState] = frozenset({S.MERGED, S.CANCELLED})
ACTIVE: frozenset[TaskState] = frozenset({S.RUNNING, S.PR_OPEN, S.REVIEWING})

# Retrying needs an attempt left; giving up needs none left (or a person asking for help).
_NEEDS_ATTEMPT_LEFT = {
    (S.FAILED, S.QUEUED),
    (S.CHANGES_REQUESTED, S.QUEUED),
    (S.REVERTED, S.QUEUED),
}
_NEEDS_ATTEMPTS_USED = {(S.FAILED, S.NEEDS_HUMAN), (S.CHANGES_REQUESTED, S.NEEDS_HUMAN)}


class IllegalTransition(Exception):
    """A transition the state machine does not allow; nothing was changed."""


@dataclass(frozen=True)
class TaskPosition:
    """What the state machine needs to know about a task."""

    state: TaskState
    attempt: int
    max_attempts: int


def check_transition(task: TaskPosition, target: TaskState) -> None:
    """Raise IllegalTransition unless `task` may move to `target` now."""
    if target not in TRANSITIONS[task.state]:
        allowed = ", ".join(sorted(TRANSITIONS[task.state])) or "nothing"
        raise IllegalTransition(f"{task.state} -> {target} is not allowed (allowed: {allowed})")
    move = (task.state, target)
    if move in _NEEDS_ATTEMPT_LEFT and task.attempt >= task.max_attempts:
        raise IllegalTransition(
            f"{task.state} -> {target}: all {task.max_attempts} attempts are used"
        )
    if move in _NEEDS_ATTEMPTS_USED and task.attempt < task.max_attempts:
        raise IllegalTransition(
            f"{task.state} -> {target}: attempt {task.attempt} of {task.max_attempts}; "
            "retry instead"
        )


def after_failure(task: TaskPosition) -> TaskState:
    """Return where a failed or rejected attempt goes: back to the queue, or to a person."""
    return S.QUEUED if task.attempt < task.max_attempts else S.NEEDS_HUMAN


# How an attempt ends when the change never had its chance: its worker died (it stopped
# renewing its lease) or GitHub or the model failed it (5xx, rate limits, timeouts, outages).
LOST = "lost"
UPSTREAM_ERROR = "upstream_error"
INFRASTRUCTURE_OUTCOMES = frozenset({LOST, UPSTREAM_ERROR})
# How an attempt ends when the repository's environment could not be set up (a setup command
# failed before the agent started): running -> needs_human, the attempt does not count, and
# its log (the failing command and its output's tail) is what maintainers are told.
ENVIRONMENT_FAILED = "environment_failed"
# Such attempts do not use up `max_attempts`; this many in a row are retried before the next
# one counts like any failure, so a task that always crashes its worker still ends.
MAX_INFRASTRUCTURE_RETRIES = 5
# An upstream failure is retried after a doubling wait (an outage takes a while to pass); a
# lost worker's attempt at once.
UPSTREAM_BACKOFF = timedelta(seconds=30)
UPSTREAM_BACKOFF_CAP = timedelta(minutes=10)


@dataclass(frozen=True)
class FailureRoute:
    """Where a failed attempt sends its task, whether the attempt counted, and when to retry."""

    target: TaskState
    counts: bool
    wait: timedelta = timedelta(0)


def route_failure(task: TaskPosition, outcome: str, infrastructure_in_a_row: int) -> FailureRoute:
    """Route a failed attempt; `infrastructure_in_a_row` counts the ones just before it."""
    if outcome in INFRASTRUCTURE_OUTCOMES and infrastructure_in_a_row < MAX_INFRASTRUCTURE_RETRIES:
        wait = timedelta(0)
        if outcome == UPSTREAM_ERROR:
            wait = min(UPSTREAM_BACKOFF * (1 << infrastructure_in_a_row), UPSTREAM_BACKOFF_CAP)
        return FailureRoute(S.QUEUED, counts=False, wait=wait)
    return FailureRoute(after_failure(task), counts=True)
