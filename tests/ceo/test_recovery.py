"""Recovery after a crash (issue 20): short leases, dead holders seen at once, lost work free.

Against localhub and the scripted model through the real tick; the "killed" processes are real
processes that exited, so their pids are provably gone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from githubkit import GitHub

from app.ceo.deps import TICK_LEASE_TTL
from app.ceo.tick import TICK_LEASE, run_tick
from app.clock import ManualClock
from app.store import Store
from app.store.attempts import (
    WORKER_LEASE_TTL,
    attempt_lease,
    fail_attempt_tx,
    recover_lost_attempts,
    start_attempt_tx,
    undo_dispatch_tx,
)
from app.store.leases import acquire, expire_abandoned, hand_over, holder_of
from app.store.reviews import REVIEW_LEASE_TTL, review_lease
from app.taskstate import LOST, MAX_INFRASTRUCTURE_RETRIES, TaskState
from tests.ceo.test_attempts import queued_task
from tests.ceo.test_tick import (
    OWNER,
    REPO,
    World,
    comments,
    file_and_vote,
    task_with_pull,
    world,
)

__all__ = ["world"]  # the fixture, used by name

CHILD = (
    "import sys; from app.store.leases import process_holder;"
    " print(process_holder(sys.argv[1]), flush=True); sys.stdin.read()"
)


class Holder:
    """A real process that names itself as a lease holder, then runs until stopped."""

    def __init__(self, label: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, label],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.name = self.process.stdout.readline().strip()

    def stop(self) -> None:
        """End the process (and reap it, as a supervisor would)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.stop()


def dead(holders: list[Holder], label: str) -> str:
    holder = Holder(label)
    holders.append(holder)
    holder.stop()
    return holder.name


def alive(holders: list[Holder], label: str) -> str:
    holder = Holder(label)
    holders.append(holder)
    return holder.name


async def test_a_lease_held_by_a_dead_process_on_this_host_is_taken_at_once(
    store: Store, clock: ManualClock, holders: list[Holder]
) -> None:
    gone, running = dead(holders, "tick"), alive(holders, "tick")
    assert await acquire(store, clock, "a", gone, timedelta(minutes=15))
    assert await acquire(store, clock, "b", running, timedelta(minutes=15))
    assert await acquire(store, clock, "c", "worker:7", timedelta(minutes=15))  # no process

    ended = await expire_abandoned(store, clock)

    assert [lease.name for lease in ended] == ["a"]
    assert await acquire(store, clock, "a", "me", timedelta(seconds=60))
    assert not await acquire(store, clock, "b", "me", timedelta(seconds=60))
    assert not await acquire(store, clock, "c", "me", timedelta(seconds=60))


async def test_the_next_tick_runs_at_once_after_a_tick_is_killed(
    world: World, holders: list[Holder]
) -> None:
    killed = dead(holders, "tick")
    clock = world.deps.clock
    assert await acquire(world.store, clock, TICK_LEASE, killed, timedelta(minutes=15))
    report = await run_tick(world.deps)
    assert report.ran, report.reason


async def test_a_tick_held_by_a_live_process_is_not_taken(
    world: World, holders: list[Holder]
) -> None:
    running = alive(holders, "tick")
    assert await acquire(world.store, world.deps.clock, TICK_LEASE, running, TICK_LEASE_TTL)
    report = await run_tick(world.deps)
    assert not report.ran and running in report.reason
    assert await holder_of(world.store, world.deps.clock, TICK_LEASE) == running


async def test_a_killed_workers_attempt_is_picked_up_at_once_and_does_not_count(
    world: World, holders: list[Holder]
) -> None:
    file_and_vote(world, "Cart totals")
    assert (await run_tick(world.deps)).dispatched == [(1, 1)]
    # The worker took the lease over as its process, then that process was killed.
    worker = await world.store.fetchone("SELECT worker FROM attempts")
    assert worker is not None
    killed = dead(holders, "worker:1:1")
    lease = attempt_lease(1, 1)
    clock = world.deps.clock
    assert await hand_over(world.store, clock, lease, worker["worker"], killed, WORKER_LEASE_TTL)

    report = await run_tick(world.deps)

    assert report.recovered == [(1, 1)]
    assert report.dispatched == [(1, 2)]  # picked up in the same tick
    task = await world.store.fetchone("SELECT state, attempt, max_attempts FROM tasks")
    assert task == {"state": "running", "attempt": 2, "max_attempts": 4}  # 3 on their merits
    outcomes = await world.store.fetchall("SELECT outcome FROM attempts ORDER BY number")
    assert [row["outcome"] for row in outcomes] == [LOST, None]


async def test_lost_attempts_are_free_only_up_to_their_budget(
    store: Store, clock: ManualClock
) -> None:
    task_id = await queued_task(store, clock, max_attempts=1)
    for number in range(1, MAX_INFRASTRUCTURE_RETRIES + 2):
        await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w"))
        clock.advance(WORKER_LEASE_TTL * 2)
        assert await recover_lost_attempts(store, clock) == [(task_id, number)]
    # The last one counted: the task's one attempt is used, so a person gets it.
    task = await store.fetchone("SELECT state, max_attempts FROM tasks")
    assert task == {"state": "needs_human", "max_attempts": 1 + MAX_INFRASTRUCTURE_RETRIES}
    reasons = await store.fetchall(
        "SELECT reason FROM events WHERE to_state IN ('queued', 'needs_human') ORDER BY id"
    )
    assert "infrastructure retry 1 of" in reasons[1]["reason"]
    assert "failed: lost" in reasons[-1]["reason"]


async def test_a_failure_on_the_merits_resets_the_infrastructure_streak(
    store: Store, clock: ManualClock
) -> None:
    task_id = await queued_task(store, clock, max_attempts=3)
    outcomes = [LOST] * MAX_INFRASTRUCTURE_RETRIES + ["build_failed", LOST]
    for number, outcome in enumerate(outcomes, start=1):
        await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w"))
        state = await store.run(
            lambda tx, n=number, o=outcome: fail_attempt_tx(
                tx, clock, task_id, n, outcome=o, log="x"
            )
        )
        assert state == TaskState.QUEUED
    task = await store.fetchone("SELECT max_attempts FROM tasks")
    assert task == {"max_attempts": 3 + MAX_INFRASTRUCTURE_RETRIES + 1}


def test_the_shipped_leases_recover_within_one_tick_interval() -> None:
    # `townhall dev` ticks every 60 s: a crash on another host (no pid to check) must free
    # the tick, the attempt and the review within that; they are renewed every third of it.
    every = timedelta(seconds=60)
    assert max(TICK_LEASE_TTL, WORKER_LEASE_TTL, REVIEW_LEASE_TTL) <= every


async def test_the_tick_cleans_up_expired_leases(world: World) -> None:
    clock = world.deps.clock
    # A review lease left by a reviewer whose task moved on (reconciled, say), long expired.
    await world.store.execute(
        "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, 'r', ?, ?)",
        (review_lease(9), "2020-01-01T00:00:00", "2020-01-01T00:01:00"),
    )
    report = await run_tick(world.deps)
    assert report.ran
    left = await world.store.fetchall("SELECT name, expires_at FROM leases")
    now = clock.now().isoformat(timespec="microseconds")
    assert all(row["expires_at"] > now for row in left), left
    assert review_lease(9) not in {row["name"] for row in left}


def pull_state(world: World, number: int) -> str:
    with GitHub("dave-token", base_url=world.hub_url + "/") as github:
        return str(github.rest.pulls.get(OWNER, REPO, number).parsed_data.state)


async def test_a_needs_human_tasks_pull_request_is_closed_and_blocks_nothing(
    world: World,
) -> None:
    task_id, pr_number = await task_with_pull(world, "running", {"app/cart.py": b"# v2\n"})
    await world.store.execute("UPDATE tasks SET max_attempts = 1")
    await world.store.run(
        lambda tx: fail_attempt_tx(
            tx, world.deps.clock, task_id, 1, outcome="build_failed", log="red"
        )
    )
    row = await world.store.fetchone("SELECT issue_number FROM tasks")
    assert row is not None
    issue = int(row["issue_number"])
    coupons = file_and_vote(world, "Cart coupons")  # also changes app/cart.py

    first = await run_tick(world.deps)

    assert first.told == [task_id]
    assert pull_state(world, pr_number) == "closed"
    told = [body for body in comments(world, issue) if "needs a person" in body]
    assert len(told) == 1 and f"pull request #{pr_number} is closed" in told[0]
    on_pull = [body for body in comments(world, pr_number) if "closing this pull request" in body]
    assert len(on_pull) == 1

    second = await run_tick(world.deps)  # the closed PR no longer holds app/cart.py
    coupons_task = await world.store.fetchone(
        "SELECT id, state FROM tasks WHERE issue_number = ?", (coupons,)
    )
    assert coupons_task is not None and coupons_task["state"] == "running", second.waiting

    # A maintainer who reopens the PR takes it over: Townhall does not close it again.
    world.ctl.set_collaborator(OWNER, REPO, "dave", "maintain")
    with GitHub("dave-token", base_url=world.hub_url + "/") as github:
        github.rest.pulls.update(OWNER, REPO, pr_number, data={"state": "open"})
    await run_tick(world.deps)
    assert pull_state(world, pr_number) == "open"
    assert len([b for b in comments(world, pr_number) if "closing this" in b]) == 1


async def test_a_dispatch_that_fails_on_the_last_attempt_is_queued_again(
    store: Store, clock: ManualClock
) -> None:
    # Found on the way: the allowance grew only after the move back to the queue was checked,
    # so a failed dispatch of a task's last attempt was refused (IllegalTransition).
    task_id = await queued_task(store, clock, max_attempts=1)
    started = await store.run(lambda tx: start_attempt_tx(tx, clock, task_id, "abc", "ceo", "w"))
    await store.run(lambda tx: undo_dispatch_tx(tx, clock, started, "modal is unreachable"))
    task = await store.fetchone("SELECT state, attempt, max_attempts FROM tasks")
    assert task == {"state": "queued", "attempt": 1, "max_attempts": 2}
