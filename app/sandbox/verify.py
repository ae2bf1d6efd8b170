"""Verification: the repository's build and test commands and the role's checks, in the sandbox.

Setup is not part of it: it ran once, before the agent started, when the environment was
prepared (app/sandbox/environment.py). A check that fails the same way at the base commit
(app/sandbox/baseline.py) is reported as already failing there, and does not fail the change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.sandbox.base import Sandbox
from app.store.baselines import Baseline, BaselineCheck

COMMAND_TIMEOUT = 900.0
LOG_TAIL = 12_000
# Names of failing tests as the common runners print them: pytest's short summary
# ("FAILED tests/test_x.py::test_y - ..."), unittest ("FAIL: test_y (tests.test_x.T.test_y)")
# and vitest/jest ("FAIL  test/x.test.ts > suite > name").
_FAILED_TEST = re.compile(
    r"^(?:(?:FAILED|ERROR) (?P<pytest>[^\s(]\S*)"
    r"|(?:FAIL|ERROR): (?P<unittest>\S+ \([^)]*\))"
    r"|\s*FAIL\s+(?P<js>\S.*?))\s*(?: - .*)?$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class CheckResult:
    """One command's result; `known` when it failed the same way at the base commit."""

    name: str
    command: str
    passed: bool
    exit_code: int
    timed_out: bool
    output_tail: str
    known: bool = False

    @property
    def failures(self) -> tuple[str, ...]:
        """The failing tests the output names (empty when it names none)."""
        return failing_tests(self.output_tail)

    @property
    def ok(self) -> bool:
        """Passed, or failed only as it already did at the base commit."""
        return self.passed or self.known


@dataclass(frozen=True)
class Verification:
    """Every check of one round; `passed` when each passed or was already failing at base."""

    checks: tuple[CheckResult, ...]
    base_sha: str = ""

    @property
    def passed(self) -> bool:
        """True when no check failed because of the change (no checks counts as passed)."""
        return all(check.ok for check in self.checks)

    @property
    def known_failures(self) -> tuple[CheckResult, ...]:
        """The checks that failed, as they already did at the base commit."""
        return tuple(check for check in self.checks if check.known and not check.passed)

    def report(self) -> str:
        """A short, human-readable account for the PR body and the attempt log."""
        if not self.checks:
            return "no build or test commands are configured or detected"
        return "\n".join(
            f"- `{check.command}` ({check.name}): {_status(check, self.base_sha)}"
            for check in self.checks
        )

    def failure_log(self) -> str:
        """The output of the checks the change failed, for the agent's next fix round."""
        return "\n\n".join(
            f"$ {check.command}\n(exit {check.exit_code})\n{check.output_tail}"
            for check in self.checks
            if not check.ok
        )


def _status(check: CheckResult, base_sha: str) -> str:
    if check.passed:
        return "passed"
    how = "timed out" if check.timed_out else f"failed with exit code {check.exit_code}"
    if check.known:
        return f"{how}, already failing at the base commit {base_sha[:12]} (not this change)"
    return how


def planned_checks(build: str, test: str, role_checks: Sequence[str]) -> list[tuple[str, str]]:
    """The (name, command) pairs to run, in order, skipping the ones not configured."""
    named = [("build", build), ("test", test)]
    named += [(f"role check {n}", command) for n, command in enumerate(role_checks, start=1)]
    return [(name, command) for name, command in named if command.strip()]


def failing_tests(output: str) -> tuple[str, ...]:
    """Return the failing tests an output names, sorted, without repeats."""
    names = {
        next(group for group in match.groups() if group) for match in _FAILED_TEST.finditer(output)
    }
    return tuple(sorted(names))


def already_failing(check: CheckResult, base: BaselineCheck | None) -> bool:
    """Whether a failed check failed the same way at the base commit.

    The same command must have failed there, and every failing test the check names must have
    failed there too; a check that names no test counts as the same only when the base's run
    named none either (a build error, a crash before any test ran).
    """
    if check.passed or base is None or base.passed or base.command != check.command:
        return False
    failures = set(check.failures)
    if not failures:
        return not base.failures
    return failures <= set(base.failures)


def against_base(verification: Verification, baseline: Baseline | None) -> Verification:
    """Mark the checks that failed as they already did at the base commit."""
    if baseline is None:
        return verification
    at_base = {check.name: check for check in baseline.checks}
    checks = tuple(
        replace(check, known=already_failing(check, at_base.get(check.name)))
        for check in verification.checks
    )
    return Verification(checks, baseline.base_sha)


def as_baseline_checks(verification: Verification) -> tuple[BaselineCheck, ...]:
    """The verification's results as a baseline records them."""
    return tuple(
        BaselineCheck(c.name, c.command, c.passed, c.exit_code, c.timed_out, c.failures)
        for c in verification.checks
    )


async def verify(
    sandbox: Sandbox,
    checks: Sequence[tuple[str, str]],
    timeout: float = COMMAND_TIMEOUT,  # noqa: ASYNC109 - each command's own limit
    baseline: Baseline | None = None,
    *,
    keep_going: bool = False,
) -> Verification:
    """Run the checks in order; stop at the first the change fails (later ones would mislead).

    A check that fails as it did at the base commit does not stop the run; `keep_going` runs
    every check whatever happens (the baseline itself is measured so).
    """
    results: list[CheckResult] = []
    at_base = {check.name: check for check in baseline.checks} if baseline else {}
    for name, command in checks:
        outcome = await sandbox.exec(command, timeout)
        output = (outcome.stdout + ("\n" if outcome.stdout else "") + outcome.stderr).strip()
        passed = outcome.exit_code == 0 and not outcome.timed_out
        result = CheckResult(
            name, command, passed, outcome.exit_code, outcome.timed_out, output[-LOG_TAIL:]
        )
        result = replace(result, known=already_failing(result, at_base.get(name)))
        results.append(result)
        if not result.ok and not keep_going:
            break
    return Verification(tuple(results), baseline.base_sha if baseline else "")
