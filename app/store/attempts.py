"""Attempts: recorded before dispatch, held by a lease the worker renews, always ended.

An attempt row is written in the same transaction that moves its task to `running`, so a
worker never runs unrecorded. A worker that dies stops renewing its lease; the next tick finds
the expired lease and ends the attempt as `lost`, which sends the task back to the queue
without using up one of its attempts (app/taskstate.route_failure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from app.clock import Clock
from app.store import Store, Tx
from app.store.leases import acquire_tx
from app.store.tasks import get_task_tx, transition_tx
from app.store.times import from_db, to_db
from app.taskstate import (
    INFRASTRUCTURE_OUTCOMES,
    LOST,
    MAX_INFRASTRUCTURE_RETRIES,
    UPSTREAM_ERROR,
    TaskPosition,
    TaskState,
    route_failure,
)

log = logging.getLogger("townhall.ceo")

# A worker renews its attempt's lease every third of this; a worker that dies is found out
# within a minute (at once on its own host: app/store/leases.expire_abandoned).
WORKER_LEASE_TTL = timedelta(seconds=60)
# The lease an attempt is dispatched with, until its worker takes it over: room for a spawned
# function to start (a cold container) before the attempt counts as lost.
WORKER_START_TTL = timedelta(minutes=3)
# An attempt row's own state (not its task's): running until it is ended, whatever the outcome.
RUNNING = "running"
ENDED = "ended"


def attempt_lease(task_id: int, attempt: int) -> str:
    """The lease a worker holds while it runs one attempt."""
    return f"attempt:{task_id}:{attempt}"


@dataclass(frozen=True)
class StartedAttempt:
    """An attempt that was recorded and may now be dispatched."""

    task_id: int
    attempt: int
    base_sha: str


def start_attempt_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    base_sha: str,
    actor: str,
    worker: str,
    lease_ttl: timedelta = WORKER_LEASE_TTL,
) -> StartedAttempt:
    """Move a queued task to running as its next attempt, with the attempt row and lease."""
    task = get_task_tx(tx, task_id)
    number = task.attempt + 1
    transition_tx(
        tx,
        clock,
        task_id,
        TaskState.RUNNING,
        actor=actor,
        reason=f"attempt {number} dispatched",
        expect=[TaskState.QUEUED],
        attempt=number,
        base_sha=base_sha,
        waiting_reason=None,
    )
    tx.execute(
        "INSERT INTO attempts (task_id, number, state, worker, started_at) VALUES (?, ?, ?, ?, ?)",
        (task_id, number, RUNNING, worker, to_db(clock.now())),
    )
    acquire_tx(tx, clock, attempt_lease(task_id, number), worker, lease_ttl)
    return StartedAttempt(task_id, number, base_sha)


def end_attempt_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    attempt: int,
    *,
    outcome: str,
    log: str,
    diff: str | None = None,
    cost_usd: float = 0.0,
) -> None:
    """Record how an attempt ended (its task's transition is the caller's, same transaction)."""
    tx.execute(
        "UPDATE attempts SET state = ?, ended_at = ?, outcome = ?, log = ?, diff = ?,"
        " cost_usd = ? WHERE task_id = ? AND number = ?",
        (ENDED, to_db(clock.now()), outcome, log[-200_000:], diff, cost_usd, task_id, attempt),
    )
    tx.execute(
        "UPDATE tasks SET cost_usd = (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_calls"
        " WHERE task_id = ?) WHERE id = ?",
        (task_id, task_id),
    )
    tx.execute("DELETE FROM leases WHERE name = ?", (attempt_lease(task_id, attempt),))


# Attempt outcomes that neither count nor come from infrastructure: a streak of lost or
# upstream-failed attempts runs through them.
_NEITHER = frozenset({"held", "dispatch_failed", "abandoned"})
_NOT_COUNTED = {
    LOST: "was lost (its worker stopped renewing its lease: crashed or killed)",
    UPSTREAM_ERROR: "ended on an upstream failure (GitHub or the model)",
}


def infrastructure_in_a_row_tx(tx: Tx, task_id: int, before: int) -> int:
    """Count the task's attempts lost to infrastructure just before attempt `before`."""
    rows = tx.fetchall(
        "SELECT outcome FROM attempts WHERE task_id = ? AND number < ? ORDER BY number DESC",
        (task_id, before),
    )
    count = 0
    for row in rows:
        if row["outcome"] in INFRASTRUCTURE_OUTCOMES:
            count += 1
        elif row["outcome"] not in _NEITHER:
            break
    return count


def fail_attempt_tx(
    tx: Tx,
    clock: Clock,
    task_id: int,
    attempt: int,
    *,
    outcome: str,
    log: str,
    diff: str | None = None,
    actor: str = "worker",
    feedback: str | None = None,
    cost_usd: float = 0.0,
) -> TaskState:
    """End an attempt as failed and send its task back to the queue or to a person.

    An attempt lost to a crash or an upstream failure does not use up one of `max_attempts`
    (up to MAX_INFRASTRUCTURE_RETRIES in a row); after an upstream failure the task rests in
    `failed` until its backoff passes (`requeue_after_backoff`). `feedback` (default: the
    log's tail) is what the next attempt is told about one that counted.
    """
    end_attempt_tx(
        tx, clock, task_id, attempt, outcome=outcome, log=log, diff=diff, cost_usd=cost_usd
    )
    task = get_task_tx(tx, task_id)
    in_a_row = infrastructure_in_a_row_tx(tx, task_id, attempt)
    position = TaskPosition(TaskState.FAILED, task.attempt, task.max_attempts)
    route = route_failure(position, outcome, in_a_row)
    updates: dict[str, Any] = {}
    if route.counts:
        updates["feedback"] = (feedback if feedback is not None else log)[-8000:]
        why = f"attempt {attempt} of {task.max_attempts} failed: {outcome}"
    else:
        # Not the change's fault: one more attempt is allowed in its place, and the next one
        # hears what the last counted attempt was told.
        updates["max_attempts"] = task.max_attempts + 1
        why = (
            f"attempt {attempt} {_NOT_COUNTED[outcome]}; it does not count"
            f" (infrastructure retry {in_a_row + 1} of {MAX_INFRASTRUCTURE_RETRIES})"
        )
    if route.wait > timedelta(0):
        retry_at = clock.now() + route.wait
        updates["waiting_reason"] = f"{why}; retried after {retry_at:%H:%M:%S} UTC"
    transition_tx(
        tx, clock, task_id, TaskState.FAILED, actor=actor,
        reason=outcome if route.counts else why, expect=[TaskState.RUNNING], **updates,
    )  # fmt: skip
    if route.wait > timedelta(0):
        return TaskState.FAILED
    transition_tx(tx, clock, task_id, route.target, actor=actor, reason=why)
    return route.target


async def requeue_after_backoff(store: Store, clock: Clock) -> list[int]:
    """Queue again the tasks resting after an upstream failure whose backoff has passed."""
    rows = await store.fetchall(
        "SELECT t.id, a.number, a.outcome, a.ended_at FROM tasks t"
        " JOIN attempts a ON a.task_id = t.id AND a.number = t.attempt WHERE t.state = ?",
        (TaskState.FAILED,),
    )
    requeued: list[int] = []
    for row in rows:
        if row["outcome"] != UPSTREAM_ERROR or row["ended_at"] is None:
            continue
        due = partial(
            _requeue_if_due_tx, clock=clock, task_id=int(row["id"]), attempt=int(row["number"]),
            ended=from_db(str(row["ended_at"])),
        )  # fmt: skip
        try:
            if await store.run(due):
                requeued.append(int(row["id"]))
        except Exception:
            log.exception("could not queue task %s again", row["id"])
    return requeued


def _requeue_if_due_tx(tx: Tx, clock: Clock, task_id: int, attempt: int, ended: datetime) -> bool:
    """Queue a task resting after attempt `attempt`'s upstream failure once its wait is over."""
    task = get_task_tx(tx, task_id)
    position = TaskPosition(TaskState.FAILED, task.attempt, task.max_attempts)
    in_a_row = infrastructure_in_a_row_tx(tx, task_id, attempt)
    if ended + route_failure(position, UPSTREAM_ERROR, in_a_row).wait > clock.now():
        return False
    transition_tx(
        tx, clock, task_id, TaskState.QUEUED, actor="ceo", expect=[TaskState.FAILED],
        reason=f"retrying after the upstream failure of attempt {attempt}", waiting_reason=None,
    )  # fmt: skip
    return True


def requeue_uncounted_tx(
    tx: Tx, clock: Clock, task_id: int, *, actor: str, failed: str, queued: str
) -> None:
    """Send a running task back to the queue without using up an attempt (one more allowed).

    The allowance grows on the way to `failed`, so the move back to `queued` is legal even
    when the attempt that did not count was the last one.
    """
    task = get_task_tx(tx, task_id)
    transition_tx(
        tx, clock, task_id, TaskState.FAILED, actor=actor, reason=failed,
        expect=[TaskState.RUNNING], max_attempts=task.max_attempts + 1,
    )  # fmt: skip
    transition_tx(tx, clock, task_id, TaskState.QUEUED, actor=actor, reason=queued)


def undo_dispatch_tx(tx: Tx, clock: Clock, started: StartedAttempt, error: str) -> None:
    """A dispatch that never started: end the attempt and queue the task without using one up."""
    end_attempt_tx(
        tx, clock, started.task_id, started.attempt, outcome="dispatch_failed", log=error
    )
    # Attempt numbers stay unique (each has its row); one more is allowed instead.
    requeue_uncounted_tx(
        tx, clock, started.task_id, actor="ceo", failed="dispatch failed",
        queued="dispatch failed; the attempt does not count",
    )  # fmt: skip


@dataclass(frozen=True)
class AttemptSummary:
    """One attempt of a task: its number, how it ended (None: still running) and when."""

    number: int
    outcome: str | None
    ended_at: str | None


async def attempt_summaries(store: Store, task_id: int) -> list[AttemptSummary]:
    """Return a task's attempts in order."""
    rows = await store.fetchall(
        "SELECT number, outcome, ended_at FROM attempts WHERE task_id = ? ORDER BY number",
        (task_id,),
    )
    return [AttemptSummary(r["number"], r["outcome"], r["ended_at"]) for r in rows]


def live_attempt_tx(tx: Tx, task_id: int, attempt: int) -> TaskState | None:
    """Return None when `attempt` is still its task's running attempt, else the task's state.

    A worker records its result only while this holds: a task cancelled, vetoed or recovered
    as lost meanwhile has moved on, and the late result must not move it again.
    """
    row = tx.fetchone("SELECT state, attempt FROM tasks WHERE id = ?", (task_id,))
    if row is None:
        return TaskState.CANCELLED
    if row["state"] == TaskState.RUNNING and row["attempt"] == attempt:
        return None
    return TaskState(row["state"])


async def recover_lost_attempts(store: Store, clock: Clock) -> list[tuple[int, int]]:
    """End running attempts whose worker lease expired; return (task, attempt) pairs ended.

    Each lost attempt is recovered in its own transaction, so one odd row cannot stop the
    others (or the tick). A stale attempt row whose task has moved on is closed without
    touching the task.
    """
    rows = await store.fetchall(
        "SELECT a.task_id, a.number, t.state, t.attempt FROM attempts a"
        " JOIN tasks t ON t.id = a.task_id"
        " LEFT JOIN leases l ON l.name = 'attempt:' || a.task_id || ':' || a.number"
        " WHERE a.state = ? AND (l.name IS NULL OR l.expires_at <= ?)",
        (RUNNING, to_db(clock.now())),
    )
    recovered: list[tuple[int, int]] = []
    for row in rows:
        current = row["state"] == TaskState.RUNNING and row["attempt"] == row["number"]
        try:
            if current:
                await store.run(
                    partial(
                        fail_attempt_tx, clock=clock, task_id=row["task_id"],
                        attempt=row["number"], outcome=LOST, actor="ceo",
                        log="the worker stopped renewing its lease (crashed or killed)",
                    )
                )  # fmt: skip
                recovered.append((row["task_id"], row["number"]))
            else:
                await store.run(
                    partial(
                        end_attempt_tx, clock=clock, task_id=row["task_id"],
                        attempt=row["number"], outcome="abandoned",
                        log=f"the task moved on ({row['state']}) while this attempt ran",
                    )
                )  # fmt: skip
        except Exception:
            log.exception("could not recover attempt %s of task %s", row["number"], row["task_id"])
    return recovered
