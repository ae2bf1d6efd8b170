"""Contention-aware scheduling on real commit histories, against naive parallel FIFO and serial.

Each workload is a JSONL history (`{"sha", "time", "files", "added", "deleted"}` a line). The
first half trains co-change, hot files and learned misses; every commit of the second half
becomes a task queued at time 0 whose actual files are the commit's files, in commit order
(the oldest first, as equal votes would rank them). Durations are drawn, seeded per commit,
from a lognormal scaled by lines changed. Conflicts are pairs of tasks in flight at once that
change a common file. Prints a table per workload and exits 0 (not a test).
Run: .venv/bin/python bench/scheduler_bench.py [FILES...] [--workers 4] [--noise 0.3]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.scheduling import (
    AdmissionRules,
    BarrierRules,
    CoChange,
    Commit,
    MissHistory,
    Widening,
    WriteSet,
    barrier_rules,
    build_cochange,
    claim_write_set,
)
from app.scheduling.simulate import (
    SimResult,
    SimTask,
    lower_bound,
    simulate_admission,
    simulate_fifo,
    simulate_serial,
)
from app.scheduling.sources import load_commit_file

DEFAULT_GLOB = "/work/shared/workloads/*.jsonl"
MINUTES_PER_LOG_LINE = 15.0
DURATION_SIGMA = 0.5


def duration(commit: Commit, seed: int) -> float:
    """Return minutes for a commit: 15 * (1 + ln(1 + lines)) times a lognormal factor."""
    rng = random.Random(f"{seed}:duration:{commit.sha}")
    scale = MINUTES_PER_LOG_LINE * (1.0 + math.log1p(commit.lines_changed))
    return scale * rng.lognormvariate(0.0, DURATION_SIGMA)


def noisy_prediction(commit: Commit, noise: float, seed: int) -> frozenset[str]:
    """Return the commit's files with each one missing at rate `noise`, keeping at least one."""
    rng = random.Random(f"{seed}:noise:{commit.sha}")
    files = sorted(commit.files)
    kept = [path for path in files if rng.random() >= noise]
    # A planner always names something; an empty prediction would make the task run alone.
    return frozenset(kept or [rng.choice(files)])


@dataclass
class Learner:
    """What the scheduler knows: history before the window, plus misses learned as PRs open."""

    cochange: CoChange
    barriers: BarrierRules
    widening: Widening | None
    misses: MissHistory
    cache: dict[tuple[int, frozenset[str]], WriteSet]

    def claim(self, task: SimTask) -> WriteSet:
        """Return the task's write-set, rebuilt only when learned misses change its widening."""
        learned = self.misses.suggest(task.predicted)
        key = (task.task_id, learned)
        if key not in self.cache:
            self.cache[key] = claim_write_set(
                task.predicted,
                cochange=self.cochange if self.widening else None,
                widening=self.widening,
                misses=self.misses,
                barriers=self.barriers,
            )
        return self.cache[key]

    def learn(self, task: SimTask) -> None:
        """Record a finished task's PR: predicted versus actual files."""
        self.misses.record(task.task_id, task.predicted, task.actual)


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    strategy: str
    result: SimResult
    seconds: float


def load(path: Path) -> tuple[list[Commit], list[Commit]]:
    """Return the training half and the scheduled half of a history file."""
    commits = [commit for commit in load_commit_file(path) if commit.files]
    middle = len(commits) // 2
    return commits[:middle], commits[middle:]


def tasks_for(commits: Sequence[Commit], seed: int, noise: float) -> list[SimTask]:
    """Return one task per commit; predictions are exact when `noise` is 0."""
    return [
        SimTask(
            task_id=index + 1,
            duration=duration(commit, seed),
            actual=commit.files,
            predicted=noisy_prediction(commit, noise, seed) if noise else commit.files,
        )
        for index, commit in enumerate(commits)
    ]


def timed(strategy: str, run: Callable[[], SimResult]) -> Row:
    """Run one simulation and time it."""
    started = time.perf_counter()
    result = run()
    return Row(strategy, result, time.perf_counter() - started)


def townhall(
    tasks: Sequence[SimTask],
    train: Sequence[Commit],
    rules: AdmissionRules,
    *,
    widening: Widening | None,
    warm: Sequence[SimTask] = (),
) -> SimResult:
    """Simulate Townhall's admission with knowledge from `train` (and misses from `warm`)."""
    history = [commit.files for commit in train]
    learner = Learner(
        cochange=build_cochange(history),
        barriers=barrier_rules(history=history),
        widening=widening,
        misses=MissHistory(),
        cache={},
    )
    for task in warm:
        learner.learn(task)
    return simulate_admission(tasks, rules, learner.claim, learner.learn)


def run_workload(path: Path, args: argparse.Namespace) -> list[Row]:
    """Run every strategy on one history file."""
    train, window = load(path)
    exact = tasks_for(window, args.seed, 0.0)
    noisy = tasks_for(window, args.seed, args.noise)
    # Warm the miss history on the training half with the same kind of noisy predictions.
    warm = tasks_for(train, args.seed, args.noise)
    rules = AdmissionRules(max_parallel=args.workers, starvation_after=args.starvation)
    widening = Widening()
    return [
        timed("serial", lambda: simulate_serial(exact)),
        timed("naive FIFO", lambda: simulate_fifo(exact, args.workers)),
        timed("townhall exact", lambda: townhall(exact, train, rules, widening=widening)),
        timed(
            "townhall noisy",
            lambda: townhall(noisy, train, rules, widening=widening, warm=warm),
        ),
    ]


def report(path: Path, rows: Sequence[Row], bound: float, tasks: int, workers: int) -> None:
    """Print one workload's table."""
    print(f"\n{path.name}: {tasks} tasks, {workers} workers, lower bound {bound / 60:.1f} h")
    header = f"{'strategy':<26}{'makespan h':>11}{'/ bound':>9}{'conflicts':>10}"
    print(header + f"{'mean wait h':>12}{'reorder':>9}{'sim s':>7}")
    for row in rows:
        result = row.result
        print(
            f"{row.strategy:<26}{result.makespan / 60:>11.1f}{result.makespan / bound:>9.2f}"
            f"{result.conflicts:>10}{result.mean_wait / 60:>12.1f}"
            f"{result.out_of_order:>9.1%}{row.seconds:>7.1f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the given history files (default: the shared workloads)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--starvation", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    files = args.files or sorted(Path("/").glob(DEFAULT_GLOB.lstrip("/")))
    if not files:
        print(f"no workloads given and none found at {DEFAULT_GLOB}")
        return 0
    for path in files:
        rows = run_workload(path, args)
        _, window = load(path)
        exact = tasks_for(window, args.seed, 0.0)
        report(path, rows, lower_bound(exact, args.workers), len(exact), args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
