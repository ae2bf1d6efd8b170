"""Phase 1 inside a sandbox: the static analysis adapters, run through `sandbox.exec`.

reviewer/static runs commands through a synchronous RunCommand; here that runner hands each
command to the sandbox on the event loop and waits for it from a worker thread. Built-in tools
run side by side; the repository's own setup, build and test commands run in order.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.policy import Policy
from app.sandbox import Sandbox
from reviewer.static.adapters import Adapter, Command, command_adapter
from reviewer.static.analyze import check_diff_result
from reviewer.static.detect import detect_adapters
from reviewer.static.findings import Finding
from reviewer.static.local import TIMED_OUT
from reviewer.static.repo import list_files, read_file
from reviewer.static.report import StaticReport, summarize
from reviewer.static.runner import Clock, RunCommand, ToolResult, run_adapter

TOOL_TIMEOUT = 900.0


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
class Phase1:
    """Phase 1's report (the JSON document) and its findings as records."""

    report: StaticReport
    findings: tuple[Finding, ...]
    seconds: float


async def run_phase1(sandbox: Sandbox, diff_text: str, policy: Policy) -> Phase1:
    """Run phase 1 over the sandbox's checkout (the PR merged with its base) and report."""
    runner = SandboxRunner(sandbox, asyncio.get_running_loop())
    checkout = sandbox.checkout
    return await asyncio.to_thread(analyze_side_by_side, runner, checkout, diff_text, policy)


def analyze_side_by_side(
    run: RunCommand, cwd: str, diff_text: str, policy: Policy, clock: Clock = time.monotonic
) -> Phase1:
    """Run the detected tools in parallel, the configured commands in order, and summarise."""
    started = clock()
    files = list_files(run, cwd)
    detected = detect_adapters(files, lambda path: read_file(run, cwd, path), policy.commands)
    tools = [adapter for adapter in detected if adapter.parse is not None]
    commands = [adapter for adapter in detected if adapter.parse is None]
    if policy.commands.setup.strip():
        commands.insert(0, command_adapter("setup", policy.commands.setup))
    with ThreadPoolExecutor(max_workers=len(tools) + 2) as pool:
        tool_jobs = [pool.submit(run_adapter, adapter, run, cwd, clock) for adapter in tools]
        command_job = pool.submit(_in_order, commands, run, cwd, clock)
        diff_job = pool.submit(check_diff_result, run, cwd, diff_text, policy, clock)
        results = [job.result() for job in tool_jobs]
        results += command_job.result()
        results.append(diff_job.result())
    findings = tuple(finding for result in results for finding in result.findings)
    return Phase1(summarize(results), findings, clock() - started)


def _in_order(commands: list[Adapter], run: RunCommand, cwd: str, clock: Clock) -> list[ToolResult]:
    """Run configured commands one after another; stop after the first that fails."""
    results: list[ToolResult] = []
    for adapter in commands:
        result = run_adapter(adapter, run, cwd, clock)
        results.append(result)
        if result.status == "failed":
            break
    return results
