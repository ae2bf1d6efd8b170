"""Admission: parallel when disjoint, serial when overlapping, barriers alone, and why."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from app.clock import ManualClock
from app.policy import LimitPolicy
from app.scheduling import (
    AdmissionPlan,
    AdmissionRules,
    OpenPull,
    QueuedTask,
    RunningClaim,
    plan_admission,
)
from tests.scheduling.builders import T0, pull, queued, running

RULES = AdmissionRules(max_parallel=3)


def plan(
    queue: Sequence[QueuedTask],
    claims: Sequence[RunningClaim] = (),
    pulls: Sequence[OpenPull] = (),
    rules: AdmissionRules = RULES,
    clock: ManualClock | None = None,
) -> AdmissionPlan:
    return plan_admission(queue, claims, pulls, rules, clock or ManualClock(T0))


def started(result: AdmissionPlan) -> list[int]:
    return [task.task_id for task in result.admitted]


def test_disjoint_tasks_run_in_parallel() -> None:
    result = plan([queued(1, ["app/a.py"]), queued(2, ["app/b.py"]), queued(3, ["docs/c.md"])])
    assert started(result) == [1, 2, 3]
    assert result.waiting == ()


def test_overlapping_tasks_serialize_and_say_why() -> None:
    result = plan([queued(1, ["app/routes.py", "app/a.py"]), queued(2, ["app/routes.py"])])
    assert started(result) == [1]
    reason = result.reason(2)
    assert reason is not None
    assert (reason.kind, reason.blocker, reason.files) == ("admitted", "#1", ("app/routes.py",))
    assert reason.message == "waiting for #1, which starts now: both change app/routes.py"


def test_a_running_claim_blocks_its_files() -> None:
    result = plan(
        [queued(2, ["app/routes.py"]), queued(3, ["app/b.py"])], [running(12, "app/routes.py")]
    )
    assert started(result) == [3]
    reason = result.reason(2)
    assert reason is not None
    assert reason.message == "waiting for #12: both change app/routes.py"
    assert reason.blocker == "#12"


def test_open_pull_requests_block_their_files() -> None:
    pulls = [pull(40, "app/models.py", "app/views.py", author="alice")]
    result = plan([queued(1, ["app/views.py"]), queued(2, ["app/other.py"])], pulls=pulls)
    assert started(result) == [2]
    reason = result.reason(1)
    assert reason is not None
    assert (reason.kind, reason.blocker) == ("pull", "PR #40")
    assert reason.message == "waiting for PR #40 by @alice: both change app/views.py"


def test_a_barrier_task_waits_for_the_workers_to_drain() -> None:
    result = plan([queued(1, ["poetry.lock", "pyproject.toml"])], [running(9, "app/x.py")])
    assert started(result) == []
    reason = result.reason(1)
    assert reason is not None
    assert reason.kind == "alone"
    assert reason.message == (
        "waiting to run alone because it changes poetry.lock and pyproject.toml: #9 is running"
    )


def test_a_barrier_task_admitted_on_idle_workers_runs_alone() -> None:
    queue = [queued(1, ["poetry.lock"], priority=5), queued(2, ["app/a.py"]), queued(3, ["b.py"])]
    result = plan(queue)
    assert started(result) == [1]
    reason = result.reason(2)
    assert reason is not None
    assert reason.message == "waiting for #1, which runs alone because it changes poetry.lock"


def test_nothing_joins_a_running_barrier_task() -> None:
    result = plan([queued(2, ["app/a.py"])], [running(1, ".github/workflows/ci.yml")])
    assert started(result) == []
    reason = result.reason(2)
    assert reason is not None
    assert (reason.kind, reason.blocker) == ("barrier", "#1")


def test_a_barrier_task_behind_others_in_the_same_round_waits() -> None:
    result = plan([queued(1, ["app/a.py"], priority=2), queued(2, ["Cargo.lock"], priority=1)])
    assert started(result) == [1]
    reason = result.reason(2)
    assert reason is not None
    assert reason.message.endswith("#1 is starting")


def test_at_most_max_parallel_run() -> None:
    queue = [queued(n, [f"app/m{n}.py"]) for n in range(1, 6)]
    result = plan(queue)
    assert started(result) == [1, 2, 3]
    reason = result.reason(4)
    assert reason is not None
    assert reason.message == "waiting for a free worker: 3 of 3 busy"
    assert started(plan(queue, [running(9, "x.py"), running(8, "y.py")])) == [1]


def test_max_parallel_comes_from_the_repository_policy() -> None:
    rules = AdmissionRules.from_policy(LimitPolicy(max_parallel=1))
    assert started(plan([queued(1, ["a.py"]), queued(2, ["b.py"])], rules=rules)) == [1]


def test_priority_is_vote_score_then_age_then_id() -> None:
    queue = [
        queued(1, ["app/shared.py"], priority=1, age_minutes=100),
        queued(2, ["app/shared.py"], priority=3),
        queued(3, ["app/shared.py"], priority=1, age_minutes=200),
    ]
    assert started(plan(queue)) == [2]
    assert started(plan(queue[::2])) == [3]
    tied = [queued(5, ["app/shared.py"]), queued(4, ["app/shared.py"])]
    assert started(plan(tied)) == [4]


def test_same_input_in_any_order_gives_the_same_plan() -> None:
    queue = [
        queued(n, [f"app/m{n % 4}.py", f"tests/t{n % 3}.py"], priority=n % 3, passed_over=n % 2)
        for n in range(1, 13)
    ]
    claims = [running(20, "app/m1.py"), running(21, "tests/t2.py")]
    pulls = [pull(30, "app/m3.py", author="bob"), pull(31, "docs/x.md")]
    expected = plan(queue, claims, pulls)
    rng = random.Random(5)
    for _ in range(5):
        shuffled = (rng.sample(queue, len(queue)), rng.sample(claims, 2), rng.sample(pulls, 2))
        assert plan(*shuffled) == expected
    assert started(expected) and expected.waiting


def test_passed_over_counts_only_lower_tasks_taking_needed_files() -> None:
    queue = [
        queued(1, ["app/a.py", "app/b.py"], priority=3),
        queued(2, ["app/b.py"], priority=2),
        queued(3, ["docs/x.md"], priority=1),
        queued(4, ["Cargo.lock"], priority=9),
    ]
    result = plan(queue, [running(9, "app/a.py")], rules=AdmissionRules(max_parallel=4))
    assert started(result) == [2, 3]
    # #1 wanted app/b.py, which #2 took; #3 took nothing #1 needs. #4 needs everything.
    assert result.passed_over() == {1: 1, 4: 2}


def run_rounds(
    arrivals: dict[int, list[QueuedTask]], rules: AdmissionRules, rounds: int
) -> dict[int, int]:
    """Drive admission: each task runs one round; return the round each task started."""
    queue: dict[int, QueuedTask] = {}
    started_at: dict[int, int] = {}
    claims: list[RunningClaim] = []
    for round_number in range(rounds):
        for task in arrivals.get(round_number, []):
            queue[task.task_id] = task
        result = plan(list(queue.values()), claims, rules=rules)
        for task in result.admitted:
            started_at[task.task_id] = round_number
            del queue[task.task_id]
        for task_id, count in result.passed_over().items():
            queue[task_id] = QueuedTask(**{**queue[task_id].__dict__, "passed_over": count})
        claims = [running(task.task_id, *task.write_set.files) for task in result.admitted]
    return started_at


def small_stream() -> dict[int, list[QueuedTask]]:
    """Big task #1 needs a.py and b.py; each round a lower-ranked task takes one of them."""
    arrivals: dict[int, list[QueuedTask]] = {1: [queued(1, ["a.py", "b.py"], priority=5)]}
    for round_number in range(30):
        name = "a.py" if round_number % 2 == 0 else "b.py"
        arrivals.setdefault(round_number, []).append(queued(100 + round_number, [name]))
    return arrivals


def test_a_big_task_passed_over_k_times_reserves_its_files_and_runs() -> None:
    rules = AdmissionRules(max_parallel=3, starvation_after=3)
    # Round 1: #1 waits for a.py (#100) while #101 takes b.py; round 2: #102 takes a.py...
    # After 3 pass-overs #1 reserves both files, the holder finishes, and #1 starts.
    starts = run_rounds(small_stream(), rules, rounds=30)
    assert starts[1] == 5
    assert starts[104] > starts[1]


def test_without_the_guard_the_big_task_starves() -> None:
    rules = AdmissionRules(max_parallel=3, starvation_after=10**6)
    assert 1 not in run_rounds(small_stream(), rules, rounds=30)


def test_a_reservation_is_explained_to_the_tasks_it_holds_back() -> None:
    queue = [
        queued(1, ["a.py", "b.py"], priority=5, passed_over=3),
        queued(2, ["b.py"]),
        queued(3, ["c.py"]),
    ]
    result = plan(queue, [running(9, "a.py")], rules=AdmissionRules(3, starvation_after=3))
    assert started(result) == [3]
    starving, held = result.reason(1), result.reason(2)
    assert starving is not None and starving.reserving
    assert held is not None
    assert held.message == "waiting for #1, passed over 3 times, which has reserved b.py"


def test_a_starving_barrier_task_stops_all_admission_until_it_runs() -> None:
    queue = [queued(1, ["go.sum"], passed_over=5), queued(2, ["app/x.py"], priority=9)]
    result = plan(queue, [running(9, "app/y.py")])
    assert started(result) == []
    reason = result.reason(2)
    assert reason is not None
    assert reason.message == "waiting for #1, passed over 5 times, which must run alone"
    assert started(plan(queue)) == [1]


def test_a_starving_task_waiting_for_an_open_pull_request_holds_nobody_back() -> None:
    queue = [queued(1, ["go.sum"], passed_over=5), queued(2, ["app/x.py"])]
    result = plan(queue, [running(9, "app/y.py")], [pull(40, "go.sum", author="carol")])
    assert started(result) == [2]
    reason = result.reason(1)
    assert reason is not None
    assert (reason.kind, reason.reserving) == ("pull", False)


def test_a_task_waiting_past_max_wait_reserves_its_files() -> None:
    rules = AdmissionRules(max_parallel=3, max_wait=timedelta(hours=2))
    queue = [queued(1, ["a.py", "b.py"], priority=5), queued(2, ["b.py"])]
    claims = [running(9, "a.py")]
    assert started(plan(queue, claims, rules=rules)) == [2]
    later = ManualClock(T0 + timedelta(hours=3))
    result = plan(queue, claims, rules=rules, clock=later)
    assert started(result) == []
    assert result.decided_at == T0 + timedelta(hours=3)


def test_lookahead_limits_how_far_admission_backfills() -> None:
    queue = [queued(1, ["a.py"]), queued(2, ["a.py"]), queued(3, ["b.py"])]
    assert started(plan(queue)) == [1, 3]
    result = plan(queue, rules=AdmissionRules(max_parallel=3, lookahead=2))
    assert started(result) == [1]
    reason = result.reason(3)
    assert reason is not None
    assert reason.message == "waiting in the queue at position 3"


def test_a_task_with_no_predicted_files_runs_alone() -> None:
    result = plan([queued(1, [])], [running(9, "app/x.py")])
    reason = result.reason(1)
    assert reason is not None
    assert reason.message == (
        "waiting to run alone because it changes files it did not predict: #9 is running"
    )
