"""Phase 1 inside the tree's environment: the analysers and the build and test commands.

The environment is planned from the merged tree and prepared first (a cache hit when the
manifests are unchanged); phase 1 then runs in a sandbox created on it, with its bin
directories on PATH, never alongside setup. What the environment provides must run: an
analyser the plan lists, or the build or test command, that cannot run (not installed, timed
out, the environment could not be set up) is a blocking finding "could not run X: ...", never
a silent skip. A build or test failure the base commit already had (app/sandbox/baseline.py)
is reported as a warning, not blamed on the change.

reviewer/static runs commands through a synchronous RunCommand; here that runner hands each
command to the sandbox on the event loop and waits for it from a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from app.clock import Clock as AppClock
from app.policy import CommandPolicy, Policy
from app.sandbox import Sandbox, SandboxFactory, export_tree
from app.sandbox.baseline import base_checks
from app.sandbox.environment import Environment, EnvironmentFailed
from app.sandbox.verify import planned_checks
from app.stacks import EnvironmentPlan, plan_environment
from app.store import Store
from app.store.baselines import Baseline, read_baseline
from app.threads import in_thread
from reviewer.static.adapters import Adapter, Command
from reviewer.static.analyze import check_diff_result
from reviewer.static.detect import detect_adapters
from reviewer.static.findings import Finding
from reviewer.static.local import TIMED_OUT
from reviewer.static.repo import list_files, read_file
from reviewer.static.report import StaticReport, summarize
from reviewer.static.required import (
    analyser_adapters,
    compared_result,
    could_not_run,
    needs_baseline,
    required_result,
)
from reviewer.static.runner import Clock, RunCommand, ToolResult, run_adapter
from workers.environment import failure_text, plan_for_tree

log = logging.getLogger("townhall.reviewer")

TOOL_TIMEOUT = 900.0
# Asked for when a build or test failed: the base commit's results in this environment.
BaselineLookup = Callable[[Environment], Awaitable[Baseline | None]]


class SandboxRunner:
    """A RunCommand that runs each command in the sandbox (call it from a worker thread)."""

    def __init__(
        self,
        sandbox: Sandbox,
        loop: asyncio.AbstractEventLoop,
        timeout: float = TOOL_TIMEOUT,
    ) -> None:
        self._sandbox = sandbox
        self._loop = loop
        self._timeout = timeout

    def __call__(self, command: Command, cwd: str) -> tuple[int, str, str]:
        """Run `command` in `cwd` (the checkout or a path inside it); return code and output."""
        shell = command if isinstance(command, str) else shlex.join(command)
        relative = os.path.relpath(cwd, self._sandbox.checkout) if os.path.isabs(cwd) else cwd
        job = self._sandbox.exec(shell, self._timeout, cwd=relative)
        result = asyncio.run_coroutine_threadsafe(job, self._loop).result()
        if result.timed_out:
            note = f"\ntimed out after {self._timeout:g} seconds"
            return TIMED_OUT, result.stdout, result.stderr + note
        return result.exit_code, result.stdout, result.stderr


@dataclass(frozen=True)
class Prepared:
    """The environment phase 1 runs in, or the setup failure that left it without one."""

    plan: EnvironmentPlan
    environment: Environment | None = None
    failure: EnvironmentFailed | None = None


@dataclass(frozen=True)
class Phase1:
    """Phase 1's report (the JSON document) and its findings as records."""

    report: StaticReport
    findings: tuple[Finding, ...]
    seconds: float
    prepared: Prepared | None = None
    results: tuple[ToolResult, ...] = ()
    baseline: Baseline | None = None


def base_lookup(
    store: Store,
    clock: AppClock,
    sandboxes: SandboxFactory,
    repository: Path,
    *,
    repo: str,
    base_sha: str,
) -> BaselineLookup:
    """Look up (or run once) the base commit's build and test, from the git `repository`."""

    async def lookup(environment: Environment) -> Baseline | None:
        recorded = await read_baseline(store, repo, base_sha, environment.key)
        if recorded is not None:
            return recorded
        plan = environment.plan
        checks = planned_checks(plan.build, plan.test, ())
        if not checks:
            return None
        try:
            with tempfile.TemporaryDirectory(prefix="townhall-review-base-") as directory:
                tree = Path(directory) / "tree"
                await in_thread(export_tree, repository, base_sha, tree)
                return await base_checks(
                    store, clock, sandboxes, environment, tree,
                    repo=repo, base_sha=base_sha, checks=checks,
                )  # fmt: skip
        except Exception:  # without a baseline every failure counts against the change
            log.exception("the checks of %s at %s could not run", repo, base_sha[:12])
            return None

    return lookup


async def prepare_for_review(sandboxes: SandboxFactory, tree: Path, policy: Policy) -> Prepared:
    """Plan the environment of `tree` and prepare it; a failed setup is kept, not raised."""
    plan = await in_thread(plan_for_tree, tree, policy)
    try:
        return Prepared(plan, await sandboxes.prepare(plan, tree))
    except EnvironmentFailed as failed:
        return Prepared(plan, failure=failed)


@contextlib.asynccontextmanager
async def review_sandbox(
    sandboxes: SandboxFactory, tree: Path, policy: Policy
) -> AsyncIterator[tuple[Sandbox, Prepared]]:
    """A sandbox on `tree` created with its prepared environment (without one if setup failed)."""
    prepared = await prepare_for_review(sandboxes, tree, policy)
    async with sandboxes.open(tree, prepared.environment) as sandbox:
        yield sandbox, prepared


async def run_phase1(
    sandbox: Sandbox,
    diff_text: str,
    policy: Policy,
    prepared: Prepared | None = None,
    baseline: BaselineLookup | None = None,
) -> Phase1:
    """Run phase 1 over the sandbox's checkout (the PR merged with its base) and report.

    Without `prepared`, the plan is made from the checkout and nothing was set up: whatever
    it would have provided then cannot run, and says so.
    """
    loop = asyncio.get_running_loop()
    timeout = prepared.plan.command_timeout if prepared else TOOL_TIMEOUT
    runner = SandboxRunner(sandbox, loop, timeout)
    checkout = sandbox.checkout
    if prepared is None:
        plan = await in_thread(_plan_in_sandbox, runner, checkout, policy)
        prepared = Prepared(plan)
    phase1 = await in_thread(analyze_in_environment, runner, checkout, diff_text, policy, prepared)
    environment = prepared.environment
    if baseline is None or environment is None or not needs_baseline(phase1.findings):
        return phase1
    base = await baseline(environment)
    if base is None:
        return phase1
    return _compared(phase1, base)


def _plan_in_sandbox(run: RunCommand, cwd: str, policy: Policy) -> EnvironmentPlan:
    files = list_files(run, cwd)
    return plan_environment(files, lambda path: read_file(run, cwd, path), policy)


def analyze_in_environment(
    run: RunCommand,
    cwd: str,
    diff_text: str,
    policy: Policy,
    prepared: Prepared,
    clock: Clock = time.monotonic,
) -> Phase1:
    """Run the analysers in parallel, the build and test commands in order, and summarise."""
    started = clock()
    plan = prepared.plan
    files = list_files(run, cwd)
    commands = CommandPolicy(build=plan.build, test=plan.test)
    detected = detect_adapters(files, lambda path: read_file(run, cwd, path), commands)
    adapters = analyser_adapters(detected, plan)
    required = {*plan.analysers, "build", "test"}
    with ThreadPoolExecutor(max_workers=len(adapters) + 2) as pool:
        diff_job = pool.submit(check_diff_result, run, cwd, diff_text, policy, clock)
        if prepared.failure is not None:
            results = _without_environment(prepared.failure, adapters, required)
        else:
            tools = [adapter for adapter in adapters if adapter.parse is not None]
            in_order = [adapter for adapter in adapters if adapter.parse is None]
            tool_jobs = [pool.submit(run_adapter, adapter, run, cwd, clock) for adapter in tools]
            results = _in_order(in_order, run, cwd, clock)
            results = [job.result() for job in tool_jobs] + results
            results = [required_result(r) if r.tool in required else r for r in results]
        results.append(diff_job.result())
    findings = tuple(finding for result in results for finding in result.findings)
    return Phase1(summarize(results), findings, clock() - started, prepared, tuple(results))


def _without_environment(
    failure: EnvironmentFailed, adapters: list[Adapter], required: set[str]
) -> list[ToolResult]:
    """Nothing runs without its environment: setup's failure and each required tool block."""
    setup = could_not_run("setup", failure_text(failure))
    blocked = [
        could_not_run(adapter.tool, "the environment could not be set up (see setup)")
        for adapter in adapters
        if adapter.tool in required
    ]
    skipped = [
        ToolResult(adapter.tool, "skipped", 0.0, (), "the environment could not be set up")
        for adapter in adapters
        if adapter.tool not in required
    ]
    return [setup, *blocked, *skipped]


def _in_order(commands: list[Adapter], run: RunCommand, cwd: str, clock: Clock) -> list[ToolResult]:
    """Run the build and test commands one after another; stop after the first that fails."""
    results: list[ToolResult] = []
    for adapter in commands:
        result = run_adapter(adapter, run, cwd, clock)
        results.append(result)
        if result.status != "passed":
            break
    return results


def _compared(phase1: Phase1, base: Baseline) -> Phase1:
    """Phase 1 with the failures the base commit already had turned into warnings."""
    results = [compared_result(result, base) for result in phase1.results]
    findings = tuple(finding for result in results for finding in result.findings)
    return replace(phase1, report=summarize(results), findings=findings, results=tuple(results),
                   baseline=base)  # fmt: skip
