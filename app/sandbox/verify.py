"""Verification: the repository's own setup, build and test commands, run in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.policy import CommandPolicy
from app.sandbox import Sandbox

COMMAND_TIMEOUT = 900.0
LOG_TAIL = 12_000


@dataclass(frozen=True)
class CheckResult:
    """One command's result."""

    name: str
    command: str
    passed: bool
    exit_code: int
    timed_out: bool
    output_tail: str


@dataclass(frozen=True)
class Verification:
    """Every check of one round; `passed` only when each passed."""

    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed (no checks configured counts as passed)."""
        return all(check.passed for check in self.checks)

    def report(self) -> str:
        """A short, human-readable account for the PR body and the attempt log."""
        if not self.checks:
            return "no build or test commands are configured"
        return "\n".join(
            f"- `{check.command}` ({check.name}): "
            + (
                "passed"
                if check.passed
                else "timed out"
                if check.timed_out
                else f"failed with exit code {check.exit_code}"
            )
            for check in self.checks
        )

    def failure_log(self) -> str:
        """The output of the failed checks, for the agent's next fix round."""
        return "\n\n".join(
            f"$ {check.command}\n(exit {check.exit_code})\n{check.output_tail}"
            for check in self.checks
            if not check.passed
        )


def planned_checks(commands: CommandPolicy, role_checks: Sequence[str]) -> list[tuple[str, str]]:
    """The (name, command) pairs to run, in order, skipping the ones not configured."""
    named = [("setup", commands.setup), ("build", commands.build), ("test", commands.test)]
    named += [(f"role check {n}", command) for n, command in enumerate(role_checks, start=1)]
    return [(name, command) for name, command in named if command.strip()]


async def verify(
    sandbox: Sandbox, commands: CommandPolicy, role_checks: Sequence[str]
) -> Verification:
    """Run the checks in order; stop at the first failure (later ones would mislead)."""
    results: list[CheckResult] = []
    for name, command in planned_checks(commands, role_checks):
        outcome = await sandbox.exec(command, COMMAND_TIMEOUT)
        output = (outcome.stdout + ("\n" if outcome.stdout else "") + outcome.stderr).strip()
        passed = outcome.exit_code == 0 and not outcome.timed_out
        results.append(
            CheckResult(
                name, command, passed, outcome.exit_code, outcome.timed_out, output[-LOG_TAIL:]
            )
        )
        if not passed:
            break
    return Verification(tuple(results))
