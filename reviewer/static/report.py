"""Summarise phase 1 into one JSON document and pick out the findings in changed code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypedDict

from reviewer.static.diff import FileDiff, changed_lines, parse_diff, removal_anchor
from reviewer.static.findings import Finding
from reviewer.static.runner import ToolResult, ToolStatus


class StaticReport(TypedDict):
    """The phase 1 document handed to phase 2 and the verdict."""

    errors: int
    warnings: int
    findings: list[dict[str, str | int | None]]
    passed: bool
    durations: dict[str, float]
    skipped: dict[str, str]
    tools: dict[str, ToolStatus]


def summarize(results: Sequence[ToolResult]) -> StaticReport:
    """Return the report: counts, sorted findings, pass/fail, per-tool durations and skips.

    `passed` means no error finding and no failed tool; skipped tools are listed with their
    reason and never count as passed in `tools`.
    """
    findings = sorted(
        (finding for result in results for finding in result.findings), key=_reading_order
    )
    errors = sum(1 for finding in findings if finding.severity == "error")
    return {
        "errors": errors,
        "warnings": sum(1 for finding in findings if finding.severity == "warning"),
        "findings": [finding.to_json() for finding in findings],
        "passed": errors == 0 and all(result.status != "failed" for result in results),
        "durations": {result.tool: round(result.duration, 3) for result in results},
        "skipped": {result.tool: result.reason for result in results if result.status == "skipped"},
        "tools": {result.tool: result.status for result in results},
    }


def findings_in_changed_code(
    findings: Iterable[Finding],
    diff: str | Iterable[FileDiff],
    *,
    whole_files: bool = False,
) -> list[Finding]:
    """Return the findings on lines the diff changes (or anywhere in changed files, `whole_files`).

    Changed lines are added lines and, for removals, the RIGHT-side line where they were. A
    finding about a whole changed file (no line) is kept in both modes; a finding with no path
    (a failed build) is not located in any code, so it is left to the report's `passed`.
    """
    changed = _changed_lines_with_removals(
        parse_diff(diff) if isinstance(diff, str) else list(diff)
    )
    kept = []
    for finding in findings:
        if finding.path is None or finding.path not in changed:
            continue
        if whole_files or finding.line is None or finding.line in changed[finding.path]:
            kept.append(finding)
    return kept


def _changed_lines_with_removals(files: list[FileDiff]) -> dict[str, set[int]]:
    changed = changed_lines(files)
    for file in files:
        for hunk in file.hunks:
            for index, line in enumerate(hunk.lines):
                anchor = removal_anchor(hunk, index) if line.kind == "removed" else None
                if anchor is not None:
                    changed[file.path].add(anchor)
    return changed


def _reading_order(finding: Finding) -> tuple[int, str, int, int, str, str]:
    severity_rank = {"error": 0, "warning": 1, "note": 2}[finding.severity]
    return (
        severity_rank,
        finding.path or "",
        finding.line or 0,
        finding.column or 0,
        finding.tool,
        finding.rule,
    )
