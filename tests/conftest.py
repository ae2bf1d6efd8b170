"""Shared fixtures (a real libSQL file store, a manual clock) and how xdist spreads the suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from app.clock import ManualClock
from app.store import Store, open_store

# The slowest test files (tens of seconds between them) go to the workers first, so the run does
# not end with one worker busy on them while the others sit idle.
SLOW_FILES = (
    "tests/crash/test_kills.py",
    "tests/test_demo.py",
    "tests/test_demo_keep.py",
    "tests/webhooks/test_crash.py",
    "tests/reviewer/test_review_flow.py",
    "tests/ceo/test_tick.py",
    "tests/workers/test_attempt.py",
    "tests/ceo/test_approved_text.py",
    "tests/workers/test_attempt_integrity.py",
    "tests/reviewer/test_review_integrity.py",
    "tests/webhooks/test_end_to_end.py",
    "tests/reviewer/test_review_once.py",
)
# Files whose module-scoped fixture costs seconds (a recorded or scripted run, ten thousand tasks):
# one worker runs each of them, so the fixture is built once rather than once per worker.
WHOLE_FILES = frozenset(
    {
        "tests/dashboard/test_scripted_run.py",
        "tests/dashboard/test_scale_and_health.py",
        "tests/contract/test_recorded.py",
    }
)


class OneTestOrOneFile(LoadScopeScheduling):
    """Hand out tests one by one, except that each of WHOLE_FILES goes to a single worker."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return path if path in WHOLE_FILES else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Run two workers per core for `-n auto`: most tests wait on servers, git and processes."""
    return 2 * (os.cpu_count() or 1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    """Schedule `--dist load` (the default with `-n`) as OneTestOrOneFile; leave other modes."""
    # xdist's own `--dist loadgroup` cannot do this on pytest 9, whose node ids it cannot rewrite.
    if config.getvalue("dist") != "load":
        return None
    return OneTestOrOneFile(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the slowest files first, keeping every other test in its collected order."""
    rank = {path: index for index, path in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store on a real libSQL file."""
    opened = open_store(str(tmp_path / "townhall.db"))
    yield opened
    opened.close_sync()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a skipped test fails: a test that did not run proves nothing."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (install what it needs in .ci/run): {reason}"
