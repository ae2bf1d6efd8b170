"""The discrete-event simulation behind the benchmark: bounds, baselines, and admission."""

from __future__ import annotations

import pytest

from app.scheduling import AdmissionRules, WriteSet, exact_write_set
from app.scheduling.simulate import (
    SimTask,
    count_conflicts,
    lower_bound,
    simulate_admission,
    simulate_fifo,
    simulate_serial,
)


def task(task_id: int, duration: float, *files: str) -> SimTask:
    return SimTask(task_id, duration, frozenset(files), frozenset(files))


TASKS = [
    task(1, 10.0, "app/a.py"),
    task(2, 10.0, "app/a.py", "app/b.py"),
    task(3, 5.0, "docs/x.md"),
    task(4, 5.0, "app/b.py"),
]


def exact(sim_task: SimTask) -> WriteSet:
    return exact_write_set(sim_task.predicted)


def test_lower_bound_is_total_work_or_heaviest_file() -> None:
    assert lower_bound(TASKS, workers=4) == 20.0  # app/a.py: 10 + 10
    assert lower_bound(TASKS, workers=1) == 30.0


def test_serial_and_fifo_baselines() -> None:
    serial = simulate_serial(TASKS)
    assert (serial.makespan, serial.conflicts) == (30.0, 0)
    assert serial.starts == {1: 0.0, 2: 10.0, 3: 20.0, 4: 25.0}
    fifo = simulate_fifo(TASKS, workers=4)
    assert fifo.makespan == 10.0
    assert fifo.conflicts == 2  # 1 and 2 share a.py, 2 and 4 share b.py
    assert fifo.mean_wait == 0.0


def test_conflicts_count_only_pairs_in_flight_together() -> None:
    assert count_conflicts(TASKS, {1: 0.0, 2: 10.0, 3: 0.0, 4: 20.0}) == 0
    assert count_conflicts(TASKS, {1: 0.0, 2: 9.0, 3: 0.0, 4: 20.0}) == 1


def test_admission_with_exact_claims_has_no_conflicts() -> None:
    finished: list[int] = []
    rules = AdmissionRules(max_parallel=4)
    result = simulate_admission(TASKS, rules, exact, lambda done: finished.append(done.task_id))
    assert result.conflicts == 0
    assert result.starts == {1: 0.0, 3: 0.0, 4: 0.0, 2: 10.0}
    assert result.makespan == 20.0
    assert finished == [3, 4, 1, 2]
    assert result.out_of_order == pytest.approx(2 / 6)  # 3 and 4 started before 2
    assert result.most_overtaken == 2


def test_a_barrier_task_runs_alone_in_the_simulation() -> None:
    tasks = [task(1, 10.0, "app/a.py"), task(2, 1.0, "poetry.lock"), task(3, 1.0, "app/c.py")]
    result = simulate_admission(tasks, AdmissionRules(max_parallel=4), exact)
    start = result.starts[2]
    for other in (1, 3):
        other_end = result.starts[other] + tasks[other - 1].duration
        assert other_end <= start or result.starts[other] >= start + 1.0
