"""An attempt ended by GitHub or the model failing is recorded as such and does not count.

Issue 20: a 502 burst or a model outage used to burn one of `max_attempts` like a failed
change. Driven end to end: localhub and the scripted model inject the faults.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import ManualClock, SystemClock
from app.sandbox import LocalSandboxes
from app.standins.localhub import LocalHubControl
from app.standins.scripted_model import Fault, Script, ScriptedModel, ToolUse, Turn
from app.store import Store
from app.store.attempts import requeue_after_backoff
from app.taskstate import UPSTREAM_BACKOFF
from tests.stands import calc_repository, running_stands, seed_running_task
from workers.attempt import WorkerDeps, run_attempt

OWNER, REPO = "octo", "calc"
POLICY = '[commands]\ntest = "python3 -m unittest -q"\n[limits]\nmax_attempts = 2\n'


@dataclass
class World:
    ctl: LocalHubControl
    model: ScriptedModel
    deps: WorkerDeps
    store: Store


@pytest.fixture
def world(tmp_path: Path, store: Store, offline_sandboxes: LocalSandboxes) -> Iterator[World]:
    with running_stands(tmp_path, store, calc_repository(POLICY), client_timeout=10) as stands:
        seed_running_task(store, stands, title="add() subtracts", body="2 + 3 should be 5")
        deps = WorkerDeps(
            store, SystemClock(), stands.access, stands.llm, sandboxes=offline_sandboxes
        )
        yield World(stands.ctl, stands.model, deps, store)


FIX = Turn(
    [ToolUse("edit_file", {"path": "calc/core.py", "old_text": "a - b", "new_text": "a + b"})]
)
FINISH = Turn([ToolUse("finish", {"summary": "add() now adds."})])


async def task_row(store: Store) -> dict[str, object]:
    row = await store.fetchone("SELECT state, attempt, max_attempts, waiting_reason FROM tasks")
    assert row is not None
    return row


async def test_a_model_outage_does_not_use_up_an_attempt(world: World) -> None:
    world.model.load([Script("worker", [FIX, FINISH])])
    world.model.inject(Fault("overloaded", count=50))

    report = await run_attempt(world.deps, 1, 1)

    assert report is not None and report.outcome == "upstream_error", report
    attempt = await world.store.fetchone("SELECT outcome FROM attempts")
    assert attempt == {"outcome": "upstream_error"}
    task = await task_row(world.store)
    # Resting in `failed` while the outage passes; one more attempt allowed in its place.
    assert (task["state"], task["attempt"], task["max_attempts"]) == ("failed", 1, 3)
    assert "does not count" in str(task["waiting_reason"])
    events = await world.store.fetchall("SELECT reason FROM events WHERE to_state = 'failed'")
    assert "upstream failure" in events[-1]["reason"]

    # The tick queues it again once its backoff has passed, not before.
    later = ManualClock(world.deps.clock.now() + UPSTREAM_BACKOFF / 2)
    assert await requeue_after_backoff(world.store, later) == []
    later.advance(UPSTREAM_BACKOFF)
    assert await requeue_after_backoff(world.store, later) == [1]
    task = await task_row(world.store)
    assert (task["state"], task["max_attempts"], task["waiting_reason"]) == ("queued", 3, None)


async def test_a_github_rate_limit_while_publishing_does_not_use_up_an_attempt(
    world: World,
) -> None:
    world.model.load([Script("worker", [FIX, FINISH])])
    world.ctl.inject_fault(
        f"/repos/{OWNER}/{REPO}/git/*", kind="secondary_rate_limit", retry_after=1, times=50,
        method="POST",
    )  # fmt: skip

    report = await run_attempt(world.deps, 1, 1)

    assert report is not None
    assert report.outcome == "upstream_error", report.log
    assert "RateLimit" in report.log
    task = await task_row(world.store)
    assert (task["state"], task["max_attempts"]) == ("failed", 3)


async def test_a_failure_of_the_attempts_own_still_counts(world: World) -> None:
    await world.store.execute("UPDATE tasks SET role = 'nobody'")  # not in the policy
    report = await run_attempt(world.deps, 1, 1)
    assert report is not None and report.outcome == "error"
    task = await task_row(world.store)
    assert (task["state"], task["attempt"], task["max_attempts"]) == ("queued", 1, 2)


def test_the_backoff_after_upstream_failures_doubles() -> None:
    from app.taskstate import (
        MAX_INFRASTRUCTURE_RETRIES,
        TaskPosition,
        TaskState,
        route_failure,
    )

    position = TaskPosition(TaskState.FAILED, 1, 2)
    waits = [route_failure(position, "upstream_error", n).wait for n in range(3)]
    assert waits == [UPSTREAM_BACKOFF, UPSTREAM_BACKOFF * 2, UPSTREAM_BACKOFF * 4]
    assert route_failure(position, "lost", 0).wait == timedelta(0)
    spent = route_failure(position, "lost", MAX_INFRASTRUCTURE_RETRIES)
    assert spent.counts and spent.target == TaskState.QUEUED
