"""ruff, mypy and pytest adapters run for real on small projects with known problems."""

from __future__ import annotations

from pathlib import Path

from reviewer.static.adapters import mypy_adapter, pytest_adapter, ruff_adapter
from reviewer.static.runner import RunCommand, run_adapter

APP = """\
import os


def double(x: int) -> str:
    return x * 2


count: int = "three"
"""

TESTS = """\
import pytest

from helpers import always_one


def test_passes():
    assert True


def test_fails():
    value = 1 + 1
    assert value == 3


def test_fails_in_helper():
    assert always_one() == 2


@pytest.fixture
def broken():
    raise RuntimeError("fixture blew up")


def test_errors_in_setup(broken):
    pass


class TestGroup:
    def test_method_fails(self):
        raise ValueError("bad value")
"""

HELPERS = """\
def always_one():
    return 1
"""


def _write(root: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def _column_text(root: Path, path: str, line: int, column: int) -> str:
    return (root / path).read_text().splitlines()[line - 1][column - 1 :]


def test_ruff_reports_one_based_positions_relative_to_the_root(
    tmp_path: Path, run: RunCommand
) -> None:
    cwd = _write(tmp_path, {"pkg/app.py": APP})

    result = run_adapter(ruff_adapter(), run, cwd)

    assert result.status == "failed"
    assert result.exit_code == 1
    [finding] = result.findings
    assert (finding.tool, finding.rule, finding.severity) == ("ruff", "F401", "error")
    assert (finding.path, finding.line, finding.column) == ("pkg/app.py", 1, 8)
    assert _column_text(tmp_path, "pkg/app.py", 1, 8) == "os"
    assert result.duration > 0


def test_ruff_passes_a_clean_project(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"ok.py": "VALUE = 1\n"})

    result = run_adapter(ruff_adapter(), run, cwd)

    assert (result.status, result.findings, result.exit_code) == ("passed", (), 0)


def test_mypy_columns_are_converted_to_one_based(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"pkg/app.py": APP})

    result = run_adapter(mypy_adapter(files_configured=False), run, cwd)

    assert result.status == "failed"
    located = [(f.rule, f.path, f.line, f.column) for f in result.findings]
    assert located == [
        ("return-value", "pkg/app.py", 5, 12),
        ("assignment", "pkg/app.py", 8, 14),
    ]
    assert _column_text(tmp_path, "pkg/app.py", 5, 12).startswith("x * 2")
    assert _column_text(tmp_path, "pkg/app.py", 8, 14).startswith('"three"')
    assert all(f.severity == "error" for f in result.findings)


def test_mypy_syntax_error_column_matches_python_and_ruff(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"broken.py": "def broken(:\n    pass\n"})
    try:
        compile((tmp_path / "broken.py").read_text(), "broken.py", "exec")
    except SyntaxError as error:
        python_column = error.offset

    mypy_result = run_adapter(mypy_adapter(files_configured=False), run, cwd)
    ruff_result = run_adapter(ruff_adapter(), run, cwd)

    mypy_first = mypy_result.findings[0]
    ruff_first = ruff_result.findings[0]
    assert (mypy_first.rule, mypy_first.line) == ("syntax", 1)
    assert mypy_first.column == python_column == ruff_first.column == 12
    assert _column_text(tmp_path, "broken.py", 1, 12) == ":"


def test_mypy_notes_are_notes(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"reveal.py": "x = 1\nreveal_type(x)\n"})

    result = run_adapter(mypy_adapter(files_configured=False), run, cwd)

    note, exit_status = result.findings
    assert (note.severity, note.line, note.column) == ("note", 2, 13)
    assert note.message == 'Revealed type is "int"'
    # mypy exits 1 for a leftover reveal_type; its exit status is kept as the evidence.
    assert (result.status, result.exit_code) == ("failed", 1)
    assert (exit_status.rule, exit_status.severity, exit_status.path) == (
        "tool-failed",
        "error",
        None,
    )


def test_pytest_failures_and_errors_land_on_the_test_file_lines(
    tmp_path: Path, run: RunCommand
) -> None:
    cwd = _write(
        tmp_path,
        {
            "tests/test_sample.py": TESTS,
            "tests/helpers.py": HELPERS,
            "tests/test_broken_import.py": "import no_such_module\n",
        },
    )

    result = run_adapter(pytest_adapter(), run, cwd)

    assert result.status == "failed"
    assert result.exit_code == 1
    by_message = {f.message.split(" ", 1)[0]: f for f in result.findings}
    assert set(by_message) == {
        "tests/test_broken_import.py",
        "tests/test_sample.py::test_fails",
        "tests/test_sample.py::test_fails_in_helper",
        "tests/test_sample.py::test_errors_in_setup",
        "tests/test_sample.py::TestGroup::test_method_fails",
    }
    lines = {key: (f.rule, f.path, f.line) for key, f in by_message.items()}
    assert lines == {
        "tests/test_broken_import.py": ("test-error", "tests/test_broken_import.py", 1),
        "tests/test_sample.py::test_fails": ("test-failure", "tests/test_sample.py", 12),
        # The helper raised; the finding stays in the test's own file, at the call.
        "tests/test_sample.py::test_fails_in_helper": ("test-failure", "tests/test_sample.py", 16),
        "tests/test_sample.py::test_errors_in_setup": ("test-error", "tests/test_sample.py", 21),
        "tests/test_sample.py::TestGroup::test_method_fails": (
            "test-failure",
            "tests/test_sample.py",
            30,
        ),
    }
    assert "assert 2 == 3" in by_message["tests/test_sample.py::test_fails"].message


def test_pytest_without_failures_passes(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"tests/test_ok.py": "def test_ok():\n    assert True\n"})

    result = run_adapter(pytest_adapter(), run, cwd)

    assert (result.status, result.findings, result.exit_code) == ("passed", (), 0)


def test_pytest_collecting_nothing_is_skipped(tmp_path: Path, run: RunCommand) -> None:
    cwd = _write(tmp_path, {"tests/test_empty.py": "VALUE = 1\n"})

    result = run_adapter(pytest_adapter(), run, cwd)

    assert (result.status, result.reason) == ("skipped", "no tests were collected")
