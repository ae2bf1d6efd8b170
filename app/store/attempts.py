"""Attempts: recorded before dispatch, held by a lease the worker renews, always ended.

An attempt row is written in the same transaction that moves its task to `running`, so a
worker never runs unrecorded. A worker that dies stops renewing its lease; the next tick finds
the expired lease and ends the attempt as `lost`, which sends the task back to the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from app.clock import Clock
from app.store import Store, Tx
from app.store.leases import acquire_tx
from app.store.tasks import get_task_tx, transition_tx
from app.store.times import to_db
from app.taskstate import TaskPosition, TaskState, after_failure

log = logging.getLogger("townhall.ceo")

WORKER_LEASE_TTL = timedelta(minutes=10)
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

    `feedback` (default: the log's tail) is what the next attempt is told about this one.
    """
    end_attempt_tx(
        tx, clock, task_id, attempt, outcome=outcome, log=log, diff=diff, cost_usd=cost_usd
    )
    task = get_task_tx(tx, task_id)
    transition_tx(
        tx,
        clock,
        task_id,
        TaskState.FAILED,
        actor=actor,
        reason=outcome,
        expect=[TaskState.RUNNING],
        feedback=(feedback if feedback is not None else log)[-8000:],
    )
    target = after_failure(TaskPosition(TaskState.FAILED, task.attempt, task.max_attempts))
    transition_tx(
        tx,
        clock,
        task_id,
        target,
        actor=actor,
        reason=f"attempt {attempt} of {task.max_attempts} failed: {outcome}",
    )
    return target


def undo_dispatch_tx(tx: Tx, clock: Clock, started: StartedAttempt, error: str) -> None:
    """A dispatch that never started: end the attempt and queue the task without using one up."""
    end_attempt_tx(
        tx, clock, started.task_id, started.attempt, outcome="dispatch_failed", log=error
    )
    task = transition_tx(
        tx, clock, started.task_id, TaskState.FAILED, actor="ceo", reason="dispatch failed",
        expect=[TaskState.RUNNING],
    )  # fmt: skip
    # Attempt numbers stay unique (each has its row); one more is allowed instead.
    transition_tx(
        tx, clock, started.task_id, TaskState.QUEUED, actor="ceo",
        reason="dispatch failed; the attempt does not count", max_attempts=task.max_attempts + 1,
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
                        attempt=row["number"], outcome="lost", actor="ceo",
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
