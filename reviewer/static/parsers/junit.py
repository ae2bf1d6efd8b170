"""Parse JUnit XML as pytest writes it (`--junitxml`, junit_family=xunit1)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from xml.etree.ElementTree import Element

from reviewer.static.findings import Finding, ToolOutputError, relative_path

TOOL = "pytest"
MESSAGE_LIMIT = 500

# Traceback lines that name a location: `tests/test_x.py:9: AssertionError`, `...:1: in <module>`.
_LOCATION = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+): ", re.MULTILINE)


def parse_junit(stdout: str, root: str) -> list[Finding]:
    """Turn failed and erroring test cases into findings at the test's file and line."""
    try:
        # Expat (>= 2.4.1, bundled with Python 3.11) limits entity expansion and ElementTree
        # never fetches external entities, so parsing the sandbox's XML is safe here.
        document = ElementTree.fromstring(stdout)  # noqa: S314
    except ElementTree.ParseError as error:
        raise ToolOutputError(f"{TOOL} JUnit XML is not well formed: {error}") from error
    findings = []
    for case in document.iter("testcase"):
        for outcome in ("failure", "error"):
            problem = case.find(outcome)
            if problem is not None:
                findings.append(_finding(case, problem, outcome, root))
    return findings


def _finding(case: Element, problem: Element, outcome: str, root: str) -> Finding:
    file = case.get("file")
    path = relative_path(file, root) if file else None
    detail = problem.get("message") or ""
    if len(detail) > MESSAGE_LIMIT:
        detail = detail[:MESSAGE_LIMIT] + "…"
    verb = "failed" if outcome == "failure" else "errored"
    return Finding(
        tool=TOOL,
        rule=f"test-{outcome}",
        severity="error",
        path=path,
        line=_line(case, problem.text or "", path, root),
        column=None,
        message=f"{_test_id(case, path)} {verb}: {detail}".rstrip(": "),
    )


def _line(case: Element, traceback: str, path: str | None, root: str) -> int | None:
    """Return the last traceback line inside the test's own file, else the test's def line."""
    if path is not None:
        inside = [
            int(match["line"])
            for match in _LOCATION.finditer(traceback)
            if relative_path(match["path"], root) == path
        ]
        if inside:
            return inside[-1]
    line = case.get("line")
    # pytest writes the test function's 0-based line number.
    return int(line) + 1 if line is not None and line.isdigit() else None


def _test_id(case: Element, path: str | None) -> str:
    """Return a pytest-style node id such as `tests/test_x.py::TestGroup::test_method`."""
    name = case.get("name") or "?"
    classname = case.get("classname") or ""
    if path is None:
        return f"{classname}::{name}" if classname else name
    if not classname:
        # A collection error: the "test" is the module itself.
        return path
    module = path.removesuffix(".py").replace("/", ".")
    classes = classname.removeprefix(module).strip(".") if classname.startswith(module) else ""
    return "::".join(part for part in (path, classes, name) if part)
