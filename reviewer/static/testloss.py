"""Find tests a diff deletes: removed test files and test functions not added back elsewhere."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from reviewer.static.diff import FileDiff, removal_anchor
from reviewer.static.findings import DIFF_TOOL, Finding
from reviewer.static.paths import is_test_file

# How a test is declared: Python `def test_x(`, Go `func TestX(`, JS/TS `it("...")`/`test("...")`.
_TEST_DECLARATIONS = (
    re.compile(r"^\s*(?:async\s+)?def\s+(?P<name>test\w*)\s*\("),
    re.compile(r"^func\s+(?P<name>Test\w*)\s*\("),
    re.compile(
        r"""^\s*(?:it|test)(?:\.(?:only|skip|concurrent))?\s*\(\s*(?P<q>['"`])(?P<name>.+?)(?P=q)"""
    ),
)


def declared_test_name(text: str) -> str | None:
    """Return the name of the test a source line declares, if it declares one."""
    for declaration in _TEST_DECLARATIONS:
        match = declaration.match(text)
        if match:
            return match["name"]
    return None


def check_deleted_tests(files: Sequence[FileDiff]) -> list[Finding]:
    """Flag deleted test files and removed tests whose name is not added anywhere in the diff."""
    # Tests moved between files or re-declared with a new signature show up as an added line
    # with the same name; only removals beyond the re-additions count as lost.
    added = Counter(
        name
        for file in files
        for line in file.added()
        if (name := declared_test_name(line.text)) is not None
    )
    findings: list[Finding] = []
    for file in files:
        if file.old_path is None or not is_test_file(file.old_path):
            continue
        removed = [
            (hunk, index, name)
            for hunk in file.hunks
            for index, line in enumerate(hunk.lines)
            if line.kind == "removed" and (name := declared_test_name(line.text)) is not None
        ]
        lost = []
        for hunk, index, name in removed:
            if added[name] > 0:
                added[name] -= 1
            else:
                lost.append((hunk, index, name))
        if file.status == "deleted":
            if lost or not removed:
                findings.append(_deleted_file(file.old_path, [name for _, _, name in lost]))
            continue
        findings.extend(
            Finding(
                tool=DIFF_TOOL,
                rule="test-removed",
                # Deleting a test can be what the issue asked for; the rubric review decides.
                severity="warning",
                path=file.path,
                line=removal_anchor(hunk, index),
                column=None,
                message=f"Test {name!r} removed from {file.old_path} and not added back",
            )
            for hunk, index, name in lost
        )
    return findings


def _deleted_file(path: str, lost: list[str]) -> Finding:
    named = f" ({len(lost)} tests: {', '.join(lost[:5])}{', …' if len(lost) > 5 else ''})"
    return Finding(
        tool=DIFF_TOOL,
        rule="test-file-deleted",
        severity="warning",
        path=path,
        line=None,
        column=None,
        message=f"Test file {path} deleted{named if lost else ''}",
    )
