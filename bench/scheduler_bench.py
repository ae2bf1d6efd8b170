"""Contention-aware scheduling on real commit histories, against naive parallel FIFO and serial.

Each workload is a JSONL history (`{"sha", "time", "files", "added", "deleted"}` a line). The
first half trains co-change, hot files and (for noisy runs) learned misses; every commit of the
second half becomes a task queued at time 0 whose actual files are the commit's files, ranked
in commit order (oldest first, as equal votes rank them). Durations are drawn, seeded per
commit, from a lognormal scaled by lines changed. A conflict is a pair of tasks in flight at
once that change a common file. Two bounds are printed: the plain one, max(work / workers,
heaviest file), and the one any schedule obeying "a barrier task runs alone" must also meet,
barrier work + other work / workers. Prints a table per workload and exits 0 (not a test).
Run: .venv/bin/python bench/scheduler_bench.py [FILES...] [--workers 4] [--noise 0.3]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
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
from app.scheduling.history import HistoryFormatError
from app.scheduling.simulate import (
    SimResult,
    SimTask,
    lower_bound,
    simulate_admission,
    simulate_fifo,
    simulate_serial,
)
from app.scheduling.sources import load_commit_file

DEFAULT_WORKLOADS = Path("/work/shared/workloads")
MINUTES_PER_LOG_LINE = 15.0
DURATION_SIGMA = 0.5
NO_BARRIERS = BarrierRules(globs=())


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


@dataclass
class Learner:
    """What the scheduler knows: history before the window, plus misses learned as PRs open."""

    cochange: CoChange | None
    barriers: BarrierRules
    widening: Widening
    misses: MissHistory | None
    cache: dict[tuple[int, frozenset[str]], WriteSet] = field(default_factory=dict)

    def claim(self, task: SimTask) -> WriteSet:
        """Return the task's write-set, rebuilt only when learned misses change its widening."""
        learned = self.misses.suggest(task.predicted) if self.misses else frozenset()
        key = (task.task_id, learned)
        if key not in self.cache:
            self.cache[key] = claim_write_set(
                task.predicted,
                cochange=self.cochange,
                widening=self.widening,
                misses=self.misses,
                barriers=self.barriers,
            )
        return self.cache[key]

    def learn(self, task: SimTask) -> None:
        """Record a finished task's PR: predicted versus actual files."""
        if self.misses is not None:
            self.misses.record(task.task_id, task.predicted, task.actual)


@dataclass(frozen=True)
class Variant:
    """One configuration of Townhall's scheduler."""

    name: str
    noisy: bool = False
    starvation_after: int = 5
    widen: bool = True
    learn: bool = True
    barriers: bool = True
    widening: Widening = field(default_factory=Widening)


VARIANTS = (
    Variant("townhall exact K=5"),
    Variant("townhall exact K=20", starvation_after=20),
    Variant("townhall exact K=100", starvation_after=100),
    Variant("  what-if: no barriers", barriers=False),
    Variant("townhall noisy, no widening", noisy=True, widen=False, learn=False),
    Variant("townhall noisy", noisy=True),
    Variant("townhall noisy, cautious", noisy=True, widening=Widening(missed_share=0.3)),
)


@dataclass(frozen=True)
class Workload:
    """A history split into training commits and the tasks to schedule."""

    train: list[Commit]
    exact: list[SimTask]
    noisy: list[SimTask]
    warm: list[SimTask]

    def learner(self, variant: Variant) -> Learner:
        """Return what `variant` knows before the window starts."""
        history = [commit.files for commit in self.train]
        misses = MissHistory() if variant.learn else None
        learner = Learner(
            cochange=build_cochange(history) if variant.widen else None,
            barriers=barrier_rules(history=history) if variant.barriers else NO_BARRIERS,
            widening=variant.widening,
            misses=misses,
        )
        # Misses of the training half are PRs that opened before the window: fair to learn.
        for task in self.warm if variant.noisy else ():
            learner.learn(task)
        return learner


def load(path: Path, seed: int, noise: float) -> Workload:
    """Return a history file split in half: training commits and tasks to schedule."""
    commits = [commit for commit in load_commit_file(path) if commit.files]
    train, window = commits[: len(commits) // 2], commits[len(commits) // 2 :]
    return Workload(
        train=train,
        exact=tasks_for(window, seed, 0.0),
        noisy=tasks_for(window, seed, noise),
        warm=tasks_for(train, seed, noise),
    )


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    strategy: str
    result: SimResult
    seconds: float


def timed(strategy: str, run: Callable[[], SimResult]) -> Row:
    """Run one simulation and time it."""
    started = time.perf_counter()
    result = run()
    return Row(strategy, result, time.perf_counter() - started)


def run_variant(workload: Workload, variant: Variant, workers: int) -> SimResult:
    """Simulate Townhall's admission under one configuration."""
    learner = workload.learner(variant)
    rules = AdmissionRules(max_parallel=workers, starvation_after=variant.starvation_after)
    tasks = workload.noisy if variant.noisy else workload.exact
    return simulate_admission(tasks, rules, learner.claim, learner.learn)


def barrier_bound(workload: Workload, workers: int) -> tuple[float, int, float]:
    """Return the bound under "barrier tasks run alone", their count, and their work share."""
    rules = barrier_rules(history=[commit.files for commit in workload.train])
    alone = [task for task in workload.exact if rules.hits(task.actual)]
    alone_work = sum(task.duration for task in alone)
    total = sum(task.duration for task in workload.exact)
    bound = max(lower_bound(workload.exact, workers), alone_work + (total - alone_work) / workers)
    return bound, len(alone), alone_work / total if total else 0.0


def report(path: Path, workload: Workload, rows: Sequence[Row], workers: int) -> None:
    """Print one workload's table."""
    bound = lower_bound(workload.exact, workers)
    alone_bound, alone, share = barrier_bound(workload, workers)
    predicted = sum(len(task.predicted) for task in workload.noisy)
    recall = predicted / sum(len(task.actual) for task in workload.noisy)
    print(f"\n{path.name}: {len(workload.exact)} tasks after {len(workload.train)} training")
    print(
        f"commits, {workers} workers. Lower bound {bound / 60:.1f} h; {alone} barrier tasks"
        f" ({share:.0%} of work) raise it to {alone_bound / 60:.1f} h"
        f" ({alone_bound / bound:.2f}x) if they run alone. Noisy predictions name"
        f" {recall:.0%} of files."
    )
    print(
        f"{'strategy':<30}{'makespan h':>11}{'/ bound':>8}{'/ alone':>8}{'conflicts':>10}"
        f"{'mean wait h':>12}{'reorder':>8}{'overtaken':>10}{'sim s':>7}"
    )
    for row in rows:
        result = row.result
        print(
            f"{row.strategy:<30}{result.makespan / 60:>11.1f}{result.makespan / bound:>8.2f}"
            f"{result.makespan / alone_bound:>8.2f}{result.conflicts:>10}"
            f"{result.mean_wait / 60:>12.1f}{result.out_of_order:>8.1%}"
            f"{result.most_overtaken:>10}{row.seconds:>7.1f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the given history files (default: the shared workloads)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    files = args.files or sorted(DEFAULT_WORKLOADS.glob("*.jsonl"))
    if not files:
        print(f"no workloads given and none in {DEFAULT_WORKLOADS}")
        return 0
    for path in files:
        try:
            workload = load(path, args.seed, args.noise)
        except (OSError, HistoryFormatError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        if not workload.exact:
            print(f"\n{path.name}: too few commits with files to schedule")
            continue
        rows = [
            timed("serial", partial(simulate_serial, workload.exact)),
            timed("naive parallel FIFO", partial(simulate_fifo, workload.exact, args.workers)),
        ]
        for variant in VARIANTS:
            rows.append(timed(variant.name, partial(run_variant, workload, variant, args.workers)))
        report(path, workload, rows, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
