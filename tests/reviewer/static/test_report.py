"""The phase 1 document and the filter for findings in changed code."""

from __future__ import annotations

import json

from reviewer.static.findings import Finding
from reviewer.static.report import findings_in_changed_code, summarize
from reviewer.static.runner import ToolResult
from tests.reviewer.static import fakes

RUFF_ERROR = Finding("ruff", "F401", "error", "app/a.py", 3, 8, "`os` imported but unused")
MYPY_NOTE = Finding("mypy", "misc", "note", "app/a.py", 9, 1, 'Revealed type is "int"')
ENTROPY = Finding("diff", "high-entropy-string", "warning", "app/b.py", 2, 5, "Possible ...")


def test_summary_document_counts_sorts_and_lists_skips() -> None:
    results = [
        ToolResult("ruff", "failed", 0.41234, (MYPY_NOTE, RUFF_ERROR)),
        ToolResult("pyright", "skipped", 0.002, (), "pyright is not installed (exit 127)", 127),
        ToolResult("test", "passed", 3.5, (), "", 0),
        ToolResult("diff", "passed", 0.01, (ENTROPY,)),
    ]

    report = summarize(results)

    assert json.loads(json.dumps(report)) == report
    assert report["errors"] == 1
    assert report["warnings"] == 1
    assert report["passed"] is False
    assert [f["rule"] for f in report["findings"]] == ["F401", "high-entropy-string", "misc"]
    assert report["findings"][0] == {
        "tool": "ruff",
        "rule": "F401",
        "severity": "error",
        "path": "app/a.py",
        "line": 3,
        "column": 8,
        "message": "`os` imported but unused",
    }
    assert report["durations"] == {"ruff": 0.412, "pyright": 0.002, "test": 3.5, "diff": 0.01}
    assert report["skipped"] == {"pyright": "pyright is not installed (exit 127)"}
    assert report["tools"] == {
        "ruff": "failed",
        "pyright": "skipped",
        "test": "passed",
        "diff": "passed",
    }


def test_warnings_and_skips_still_pass() -> None:
    results = [
        ToolResult("diff", "passed", 0.0, (ENTROPY,)),
        ToolResult("eslint", "skipped", 0.0, (), "eslint is not installed (exit 127)", 127),
    ]

    assert summarize(results)["passed"] is True


def test_a_failed_tool_fails_the_report_even_without_error_findings() -> None:
    assert summarize([ToolResult("build", "failed", 1.0)])["passed"] is False


def test_nothing_run_passes_vacuously_but_says_so() -> None:
    report = summarize([])

    assert (report["passed"], report["tools"], report["findings"]) == (True, {}, [])


DIFF = fakes.edit_diff(
    "app/a.py",
    1,
    [" import sys", "+import os", " ", " ", "-def old():", "-    pass", " def kept():"],
) + fakes.deleted_file_diff("tests/test_gone.py", ["def test_x():", "    pass"])


def test_changed_lines_filter_keeps_findings_on_added_lines_and_removal_points() -> None:
    on_added = Finding("ruff", "F401", "error", "app/a.py", 2, 8, "unused")
    at_removal = Finding("mypy", "name-defined", "error", "app/a.py", 5, 1, "old is gone")
    on_context = Finding("mypy", "misc", "error", "app/a.py", 1, 1, "context line")
    elsewhere = Finding("ruff", "E501", "error", "app/untouched.py", 2, 101, "too long")
    whole_file = Finding(
        "diff", "test-file-deleted", "warning", "tests/test_gone.py", None, None, ""
    )
    no_path = Finding("build", "command-failed", "error", None, None, None, "make failed")
    findings = [on_added, at_removal, on_context, elsewhere, whole_file, no_path]

    assert findings_in_changed_code(findings, DIFF) == [on_added, at_removal, whole_file]
    assert findings_in_changed_code(findings, DIFF, whole_files=True) == [
        on_added,
        at_removal,
        on_context,
        whole_file,
    ]
