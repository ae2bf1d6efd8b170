"""Baselines: the build and test results at a base commit, kept once per environment.

A baseline is keyed by repository, base commit and environment key: the same commit built in
another environment (new lockfile, new setup commands) is checked again. The records are plain
data; running the checks and comparing them is app/sandbox/baseline.py's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import to_db


@dataclass(frozen=True)
class BaselineCheck:
    """One command's result at the base commit; `failures` are the test names it reported."""

    name: str
    command: str
    passed: bool
    exit_code: int
    timed_out: bool
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Baseline:
    """Build and test at one base commit, in one environment."""

    repo: str
    base_sha: str
    environment_key: str
    checks: tuple[BaselineCheck, ...]
    report: str
    seconds: float

    @property
    def passed(self) -> bool:
        """True when every check passed at the base commit."""
        return all(check.passed for check in self.checks)


def read_baseline_tx(tx: Tx, repo: str, base_sha: str, environment_key: str) -> Baseline | None:
    """Return the recorded baseline, or None when this commit was not checked so yet."""
    row = tx.fetchone(
        "SELECT checks, report, seconds FROM baselines"
        " WHERE repo = ? AND base_sha = ? AND environment_key = ?",
        (repo, base_sha, environment_key),
    )
    if row is None:
        return None
    checks = tuple(_check(item) for item in json.loads(str(row["checks"])))
    return Baseline(
        repo, base_sha, environment_key, checks, str(row["report"]), float(row["seconds"])
    )


def record_baseline_tx(tx: Tx, clock: Clock, baseline: Baseline) -> None:
    """Record a baseline; a second record for the same key (a concurrent check) is ignored."""
    checks = [
        {
            "name": c.name, "command": c.command, "passed": c.passed, "exit_code": c.exit_code,
            "timed_out": c.timed_out, "failures": list(c.failures),
        }
        for c in baseline.checks
    ]  # fmt: skip
    tx.execute(
        "INSERT OR IGNORE INTO baselines (repo, base_sha, environment_key, passed, checks,"
        " report, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            baseline.repo,
            baseline.base_sha,
            baseline.environment_key,
            1 if baseline.passed else 0,
            json.dumps(checks),
            baseline.report,
            baseline.seconds,
            to_db(clock.now()),
        ),
    )


async def read_baseline(
    store: Store, repo: str, base_sha: str, environment_key: str
) -> Baseline | None:
    """Return the recorded baseline for this commit and environment, if any."""
    return await store.run(lambda tx: read_baseline_tx(tx, repo, base_sha, environment_key))


async def record_baseline(store: Store, clock: Clock, baseline: Baseline) -> None:
    """Record a baseline in its own transaction."""
    await store.run(lambda tx: record_baseline_tx(tx, clock, baseline))


def _check(item: dict[str, Any]) -> BaselineCheck:
    return BaselineCheck(
        name=str(item["name"]),
        command=str(item["command"]),
        passed=bool(item["passed"]),
        exit_code=int(item["exit_code"]),
        timed_out=bool(item["timed_out"]),
        failures=tuple(str(name) for name in item.get("failures", [])),
    )
