"""Phase 1 end to end: detect tools, run them and the diff checks, and summarise."""

from __future__ import annotations

import time

from app.policy import Policy
from reviewer.static.detect import detect_adapters
from reviewer.static.diff import parse_diff
from reviewer.static.diffchecks import check_diff
from reviewer.static.findings import DIFF_TOOL
from reviewer.static.repo import file_sizes, list_files, read_file
from reviewer.static.report import StaticReport, summarize
from reviewer.static.runner import Clock, RunCommand, ToolResult, run_adapters


def analyze(
    run: RunCommand, cwd: str, diff_text: str, policy: Policy, clock: Clock = time.monotonic
) -> StaticReport:
    """Run phase 1 in the checkout at `cwd` (the PR merged with its base) and report."""
    files = list_files(run, cwd)
    adapters = detect_adapters(files, lambda path: read_file(run, cwd, path), policy.commands)
    results = run_adapters(adapters, run, cwd, clock)
    results.append(check_diff_result(run, cwd, diff_text, policy, clock))
    return summarize(results)


def check_diff_result(
    run: RunCommand, cwd: str, diff_text: str, policy: Policy, clock: Clock = time.monotonic
) -> ToolResult:
    """Run the diff checks, with file sizes read from the checkout, as one tool result."""
    started = clock()
    diff = parse_diff(diff_text)
    sizes = file_sizes(run, cwd, [file.new_path for file in diff if file.new_path])
    findings = check_diff(
        diff,
        protected=policy.paths.protected,
        max_file_bytes=policy.paths.max_file_bytes,
        sizes=sizes,
    )
    failed = any(finding.severity == "error" for finding in findings)
    return ToolResult(
        DIFF_TOOL, "failed" if failed else "passed", clock() - started, tuple(findings)
    )
