"""Judging tool runs: missing tools are skipped, crashes and failed commands fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reviewer.static.adapters import Adapter, command_adapter, ruff_adapter
from reviewer.static.local import run_locally
from reviewer.static.parsers.ruff import parse_ruff
from reviewer.static.runner import (
    RunCommand,
    first_program,
    judge,
    output_tail,
    run_adapter,
    run_adapters,
)


def _ticks(*values: float) -> Iterator[float]:
    yield from values


def test_missing_executable_is_skipped_not_passed(tmp_path: Path, run: RunCommand) -> None:
    adapter = Adapter("ghost", ["townhall-no-such-tool", "--version"], parse_ruff)

    result = run_adapter(adapter, run, str(tmp_path))

    assert (result.status, result.exit_code, result.findings) == ("skipped", 127, ())
    assert result.reason.startswith("ghost is not installed (exit 127)")
    assert "townhall-no-such-tool" in result.reason


def test_missing_command_in_a_shell_line_is_skipped(tmp_path: Path, run: RunCommand) -> None:
    result = run_adapter(
        command_adapter("build", "townhall-no-such-tool build"), run, str(tmp_path)
    )

    assert (result.status, result.exit_code) == ("skipped", 127)
    assert "not found" in result.reason


def test_configured_command_calling_a_missing_script_fails_not_skips(
    tmp_path: Path, run: RunCommand
) -> None:
    # The change deleted the script the build calls: that is a failure of the change.
    result = run_adapter(command_adapter("build", "true && ./scripts/gone.sh"), run, str(tmp_path))

    assert (result.status, result.exit_code) == ("failed", 127)
    assert result.findings[0].rule == "command-failed"


def test_first_program_skips_environment_assignments() -> None:
    assert first_program("CI=1 LANG=C make -j4 test") == "make"
    assert first_program(["ruff", "check"]) == "ruff"
    assert first_program("echo 'unterminated") is None
    assert first_program("") is None


def test_failing_configured_command_is_one_error_with_the_output_tail(
    tmp_path: Path, run: RunCommand
) -> None:
    command = "for i in $(seq 1 100); do echo line $i; done; echo 'cannot link' >&2; exit 3"

    result = run_adapter(command_adapter("build", command), run, str(tmp_path))

    assert (result.status, result.exit_code) == ("failed", 3)
    [finding] = result.findings
    assert (finding.tool, finding.rule, finding.severity) == ("build", "command-failed", "error")
    assert (finding.path, finding.line, finding.column) == (None, None, None)
    lines = finding.message.splitlines()
    assert lines[0] == "build exited with code 3"
    assert lines[-1] == "cannot link"
    assert lines[1] == "line 62"  # only the last 40 lines of output are kept
    assert "line 1\n" not in finding.message


def test_succeeding_configured_command_passes(tmp_path: Path, run: RunCommand) -> None:
    result = run_adapter(command_adapter("test", "echo all good"), run, str(tmp_path))

    assert (result.status, result.findings, result.exit_code) == ("passed", (), 0)


def test_unreadable_tool_output_fails_even_with_exit_zero(tmp_path: Path, run: RunCommand) -> None:
    adapter = Adapter("ruff", "echo 'ruff: panicked'", parse_ruff)

    result = run_adapter(adapter, run, str(tmp_path))

    assert result.status == "failed"
    [finding] = result.findings
    assert finding.rule == "tool-failed"
    assert finding.message.startswith("ruff output could not be read (ruff output is not JSON")
    assert "ruff: panicked" in finding.message


def test_tool_crash_without_findings_fails(tmp_path: Path, run: RunCommand) -> None:
    adapter = Adapter("ruff", ["ruff", "check", "--output-format", "json", "--bogus"], parse_ruff)

    result = run_adapter(adapter, run, str(tmp_path))

    assert (result.status, result.exit_code) == ("failed", 2)
    [finding] = result.findings
    assert "unexpected argument '--bogus'" in finding.message


def test_timed_out_command_fails(tmp_path: Path) -> None:
    code, _, stderr = run_locally("sleep 5", str(tmp_path), timeout=0.2)

    result = judge(command_adapter("test", "sleep 5"), code, "", stderr, root="/", duration=0.2)

    assert (code, result.status) == (124, "failed")
    assert "timed out after 0.2 seconds" in result.findings[0].message


def test_durations_come_from_the_injected_clock(tmp_path: Path, run: RunCommand) -> None:
    clock = _ticks(10.0, 10.5, 20.0, 23.25)

    results = run_adapters(
        [ruff_adapter(), command_adapter("test", "true")], run, str(tmp_path), lambda: next(clock)
    )

    assert [(result.tool, result.duration) for result in results] == [
        ("ruff", 0.5),
        ("test", 3.25),
    ]


def test_output_tail_keeps_the_end_of_stdout_then_stderr() -> None:
    assert output_tail("a\nb\nc\n", "d\n", lines=2) == "c\nd"
    assert output_tail("", "", lines=5) == ""
