"""What an attempt verifies, and the base commit's results a failure is compared with.

Verification runs the plan's build and test commands and the role's checks, each with the
plan's command timeout; setup is not among them (it ran once, when the environment was
prepared). The base commit's own build and test start as soon as the environment is ready,
in a sandbox of their own, once per (repository, base commit, environment): failing tests that
all failed there too are reported as such and do not fail the change; a check that fails as it
did there without naming any failing test means the base (or its environment) is broken, which
goes to a person like a failed setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.clock import Clock
from app.sandbox import Sandbox, SandboxFactory
from app.sandbox.baseline import base_checks
from app.sandbox.environment import Environment
from app.sandbox.verify import Verification, against_base, planned_checks, verify
from app.store import Store
from app.store.attempt_results import AttemptInput
from app.store.baselines import Baseline
from app.store.timings import timed_step
from app.untrusted import code_span
from workers.environment import code_block

log = logging.getLogger("townhall.worker")


BASE_BROKEN_TEXT = """\
The base commit fails its own checks, so no change can be verified on it; no attempt was used.
{checks} at the base commit {base}, naming no failing test (a build or collection error,
or the environment), and the same with this change:

{log}
A maintainer can fix the base branch or describe the environment in the `[sandbox]` section of
`.townhall.toml`, and comment `/townhall retry`."""


class BaseBroken(Exception):
    """A check fails at the base commit as with the change, naming no failing test."""

    def __init__(self, verification: Verification) -> None:
        broken = [c for c in verification.known_failures if not c.failures]
        self.text = BASE_BROKEN_TEXT.format(
            checks=", ".join(f"{code_span(c.command)} ({c.name}) fails" for c in broken),
            base=verification.base_sha[:12],
            log=code_block("\n".join(broken[0].output_tail.strip().splitlines()[-40:])),
        )
        super().__init__(self.text)


@dataclass
class Checks:
    """The commands verification runs, and the base commit's results once they are known."""

    commands: list[tuple[str, str]]
    timeout: float
    baseline: asyncio.Task[Baseline | None] | None = None

    async def run(self, sandbox: Sandbox) -> Verification:
        """Run the checks; a failure is compared with the base commit before it counts."""
        result = await verify(sandbox, self.commands, self.timeout)
        if result.passed or self.baseline is None:
            return result
        base = await self.baseline
        if base is None:
            return result
        compared = against_base(result, base)
        if any(not check.failures for check in compared.known_failures):
            # Failing as at base without naming a test: the tests cannot be shown to pass here,
            # and nothing the agent does changes that. A person fixes the base or environment.
            raise BaseBroken(compared)
        if compared.passed and len(compared.checks) < len(self.commands):
            # It stopped at a failure the base shares: the later checks still have to run.
            return await verify(sandbox, self.commands, self.timeout, base)
        return compared

    async def stop(self) -> None:
        """Stop the base commit's checks if they still run (the attempt no longer needs them)."""
        if self.baseline is not None and not self.baseline.done():
            self.baseline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.baseline


def start_checks(
    store: Store,
    clock: Clock,
    sandboxes: SandboxFactory,
    environment: Environment,
    base_tree: Path,
    work: AttemptInput,
    role_checks: Sequence[str],
) -> Checks:
    """The attempt's checks, with the base commit's build and test started in the background."""
    plan = environment.plan
    checks = Checks(planned_checks(plan.build, plan.test, role_checks), plan.command_timeout)
    at_base = planned_checks(plan.build, plan.test, ())
    if at_base:
        job = _baseline(store, clock, sandboxes, environment, base_tree, work, at_base)
        checks.baseline = asyncio.create_task(job)
    return checks


async def _baseline(
    store: Store,
    clock: Clock,
    sandboxes: SandboxFactory,
    environment: Environment,
    base_tree: Path,
    work: AttemptInput,
    commands: list[tuple[str, str]],
) -> Baseline | None:
    """The base commit's checks (recorded, or run now); None when they could not be run."""
    try:
        async with timed_step(store, clock, work.task_id, work.attempt, "baseline") as note:
            baseline = await base_checks(
                store, clock, sandboxes, environment, base_tree,
                repo=f"{work.owner}/{work.repo}", base_sha=work.base_sha, checks=commands,
            )  # fmt: skip
            note.detail = "passed" if baseline.passed else "already failing at the base commit"
    except Exception:  # without a baseline every failure counts against the change
        log.exception("the base commit's checks of task %s could not run", work.task_id)
        return None
    return baseline
