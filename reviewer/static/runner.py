"""Run adapters through an injected command runner and judge each tool's outcome."""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from reviewer.static.adapters import Adapter, Command
from reviewer.static.findings import Finding, ToolOutputError

ToolStatus = Literal["passed", "failed", "skipped"]
Clock = Callable[[], float]

# The shell's exit status for "command not found".
NOT_INSTALLED = 127
TAIL_LINES = 40
TAIL_CHARS = 4000
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class RunCommand(Protocol):
    """Run a command (argv list, or a shell line) in `cwd`; return (exit code, stdout, stderr).

    Implementations report a missing executable as exit code 127, like a shell does.
    """

    def __call__(self, command: Command, cwd: str) -> tuple[int, str, str]: ...


@dataclass(frozen=True)
class ToolResult:
    """How one tool run ended: its status, findings, duration, and why when skipped."""

    tool: str
    status: ToolStatus
    duration: float
    findings: tuple[Finding, ...] = ()
    reason: str = ""
    exit_code: int | None = None


def run_adapters(
    adapters: Sequence[Adapter], run: RunCommand, cwd: str, clock: Clock = time.monotonic
) -> list[ToolResult]:
    """Run each adapter in turn in `cwd` and return their results in the same order."""
    return [run_adapter(adapter, run, cwd, clock) for adapter in adapters]


def run_adapter(
    adapter: Adapter, run: RunCommand, cwd: str, clock: Clock = time.monotonic
) -> ToolResult:
    """Run one adapter's command in `cwd` and judge its output."""
    started = clock()
    exit_code, stdout, stderr = run(adapter.command, cwd)
    return judge(adapter, exit_code, stdout, stderr, root=cwd, duration=clock() - started)


def judge(
    adapter: Adapter, exit_code: int, stdout: str, stderr: str, *, root: str, duration: float
) -> ToolResult:
    """Turn a finished command into a ToolResult; a missing tool is skipped, never passed."""
    if _tool_missing(adapter, exit_code, stderr):
        reason = f"{adapter.tool} is not installed (exit 127): {output_tail('', stderr, 3)}"
        return ToolResult(adapter.tool, "skipped", duration, (), reason.strip(), exit_code)
    if exit_code in adapter.skip_exit_codes:
        reason = adapter.skip_exit_codes[exit_code]
        return ToolResult(adapter.tool, "skipped", duration, (), reason, exit_code)
    findings: list[Finding] = []
    unreadable = ""
    if adapter.parse is not None:
        try:
            findings = adapter.parse(stdout, root)
        except ToolOutputError as error:
            unreadable = str(error)
    has_errors = any(finding.severity == "error" for finding in findings)
    # A non-zero exit with nothing located (a crash, a bad config, a failed build) and
    # unreadable output both still fail the tool, with the output tail as evidence.
    if unreadable or (exit_code != 0 and not has_errors):
        findings.append(_run_failure(adapter, exit_code, stdout, stderr, unreadable))
        has_errors = True
    status: ToolStatus = "failed" if has_errors else "passed"
    return ToolResult(adapter.tool, status, duration, tuple(findings), "", exit_code)


def output_tail(stdout: str, stderr: str, lines: int = TAIL_LINES) -> str:
    """Return the last `lines` lines of a command's output (stdout, then stderr)."""
    text = "\n".join(part.rstrip("\n") for part in (stdout, stderr) if part.strip())
    tail = "\n".join(text.splitlines()[-lines:])
    return tail[-TAIL_CHARS:]


def first_program(command: Command) -> str | None:
    """Return the program a command starts, skipping `NAME=value` environment assignments."""
    if isinstance(command, list):
        return command[0] if command else None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    return next((word for word in words if not _ASSIGNMENT.match(word)), None)


def _tool_missing(adapter: Adapter, exit_code: int, stderr: str) -> bool:
    if exit_code != NOT_INSTALLED:
        return False
    if adapter.parse is not None:
        # A built-in adapter's command exits 127 only when the tool itself is absent.
        return True
    # A configured shell line exits 127 when any command in it is missing, such as a script
    # the change deleted; only its own program being absent means "not installed".
    program = first_program(adapter.command)
    return program is not None and any(
        program in line and "not found" in line for line in stderr.splitlines()
    )


def _run_failure(
    adapter: Adapter, exit_code: int, stdout: str, stderr: str, unreadable: str
) -> Finding:
    kind = "command" if adapter.parse is None else "tool"
    if unreadable:
        headline = f"{adapter.tool} output could not be read ({unreadable}); exit code {exit_code}"
    else:
        headline = f"{adapter.tool} exited with code {exit_code}"
    tail = output_tail(stdout, stderr)
    return Finding(
        tool=adapter.tool,
        rule=f"{kind}-failed",
        severity="error",
        path=None,
        line=None,
        column=None,
        message=f"{headline}\n{tail}" if tail else headline,
    )
