"""What the worker, the reviewer and the CEO tick write for the dashboard: steps and ticks.

A step is one timed phase of an attempt (fetch, sandbox, agent turn, verify, publish, review
phases); a tick is one CEO tick, successful or not. `/healthz` reads the last successful tick:
a `ticks` row with ok=1 or the `tick_completed` event the CEO's tick appends.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.logs import redact
from app.store.db import Store, Tx
from app.store.times import from_db, to_db

log = logging.getLogger("townhall.records")

DETAIL_LIMIT = 2000

# The CEO's tick appends this event when it has done its work (app/ceo/tick.py).
TICK_COMPLETED = "tick_completed"


@dataclass(frozen=True)
class StepTiming:
    """One timed step of an attempt (e.g. "fetch", "agent_turn", "verify", "publish")."""

    task_id: int
    attempt: int
    step: str
    started: datetime
    ended: datetime
    ok: bool
    detail: str = ""

    @property
    def duration_ms(self) -> float:
        """Return how long the step took, never negative (clocks may step back)."""
        return max((self.ended - self.started).total_seconds() * 1000, 0.0)


@dataclass(frozen=True)
class TickTiming:
    """One CEO tick: ok when it did its work to the end (health reads these)."""

    started: datetime
    ended: datetime
    ok: bool
    detail: str = ""


def tick_detail(dispatched: int, errors: Sequence[str]) -> str:
    """A tick's `detail`: what it dispatched and, when it failed, each error (one per line).

    The errors themselves are kept (not only their count): `townhall status` and the dashboard
    show the last tick's detail, and "2 errors" alone sends the operator to the logs.
    """
    head = f"{dispatched} dispatched, {len(errors)} error{'' if len(errors) == 1 else 's'}"
    detail = "\n".join([head, *(" ".join(error.split()) for error in errors)])
    return detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 1] + "…"


def record_step_tx(tx: Tx, clock: Clock, timing: StepTiming) -> int:
    """Append one timed step of an attempt inside `tx`; return its id."""
    return tx.insert(
        "INSERT INTO attempt_steps (task_id, attempt, step, started_at, ended_at, duration_ms,"
        " ok, detail, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            timing.task_id,
            timing.attempt,
            timing.step,
            to_db(timing.started),
            to_db(timing.ended),
            timing.duration_ms,
            1 if timing.ok else 0,
            redact(timing.detail)[:DETAIL_LIMIT],
            to_db(clock.now()),
        ),
    )


async def record_step(store: Store, clock: Clock, timing: StepTiming) -> int:
    """Append one timed step of an attempt; return its id."""
    return await store.run(lambda tx: record_step_tx(tx, clock, timing))


def record_tick_tx(tx: Tx, timing: TickTiming) -> int:
    """Append one CEO tick inside `tx`; return its id."""
    return tx.insert(
        "INSERT INTO ticks (started_at, ended_at, ok, detail) VALUES (?, ?, ?, ?)",
        (
            to_db(timing.started),
            to_db(timing.ended),
            1 if timing.ok else 0,
            redact(timing.detail)[:DETAIL_LIMIT],
        ),
    )


async def record_tick(store: Store, timing: TickTiming) -> int:
    """Append one CEO tick; return its id."""
    return await store.run(lambda tx: record_tick_tx(tx, timing))


def last_successful_tick_tx(tx: Tx) -> datetime | None:
    """Return when the last successful tick ended (a ticks row or a tick_completed event)."""
    values = [
        tx.scalar("SELECT MAX(ended_at) FROM ticks WHERE ok = 1"),
        tx.scalar("SELECT MAX(created_at) FROM events WHERE kind = ?", (TICK_COMPLETED,)),
    ]
    moments = [from_db(str(value)) for value in values if value]
    return max(moments, default=None)


@dataclass
class StepNote:
    """What a timed block may add to its step record before it ends (the block mutates it)."""

    detail: str = ""
    ok: bool = True


Recorder = Callable[[datetime, datetime, StepNote], Awaitable[object]]


@contextlib.asynccontextmanager
async def _timed(clock: Clock, record: Recorder, what: str) -> AsyncIterator[StepNote]:
    """Time the block and hand the note to `record`: failed (with the error) if it raises.

    A failure to write the record is logged, never raised, so bookkeeping cannot end the work
    or hide the block's own exception.
    """
    note = StepNote()
    started = clock.now()
    try:
        yield note
    except BaseException as error:
        note.ok = False
        note.detail = note.detail or f"{type(error).__name__}: {error}"
        raise
    finally:
        try:
            await record(started, clock.now(), note)
        except Exception:
            log.exception("could not record %s", what)


def timed_step(
    store: Store, clock: Clock, task_id: int, attempt: int, step: str
) -> contextlib.AbstractAsyncContextManager[StepNote]:
    """Time the block and record it as one step of an attempt."""

    async def record(started: datetime, ended: datetime, note: StepNote) -> object:
        timing = StepTiming(task_id, attempt, step, started, ended, note.ok, note.detail)
        return await record_step(store, clock, timing)

    return _timed(clock, record, f"step {step} of task {task_id} attempt {attempt}")


def timed_tick(store: Store, clock: Clock) -> contextlib.AbstractAsyncContextManager[StepNote]:
    """Record the block as one CEO tick: successful if it ends normally, failed if it raises."""

    async def record(started: datetime, ended: datetime, note: StepNote) -> object:
        return await record_tick(store, TickTiming(started, ended, note.ok, note.detail))

    return _timed(clock, record, "the CEO tick")
