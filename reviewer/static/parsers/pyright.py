"""Parse `pyright --outputjson`."""

from __future__ import annotations

from typing import Any

from reviewer.static.findings import Finding, Severity, one_based, relative_path
from reviewer.static.parsers._json import expect_dict, expect_list, load_json, text_field

TOOL = "pyright"

_SEVERITIES: dict[str, Severity] = {"error": "error", "warning": "warning", "information": "note"}


def parse_pyright(stdout: str, root: str) -> list[Finding]:
    """Turn pyright's generalDiagnostics into findings, converting 0-based ranges to 1-based."""
    document = expect_dict(load_json(stdout, TOOL), TOOL, "the document")
    findings = []
    for raw in expect_list(document.get("generalDiagnostics", []), TOOL, "generalDiagnostics"):
        item = expect_dict(raw, TOOL, "a diagnostic")
        start = _start(item)
        file = text_field(item, "file")
        findings.append(
            Finding(
                tool=TOOL,
                rule=text_field(item, "rule") or "pyright",
                severity=_SEVERITIES.get(text_field(item, "severity"), "error"),
                path=relative_path(file, root) if file else None,
                line=one_based(start.get("line"), offset=1),
                column=one_based(start.get("character"), offset=1),
                message=text_field(item, "message"),
            )
        )
    return findings


def _start(item: dict[str, Any]) -> dict[str, Any]:
    range_ = item.get("range")
    start = range_.get("start") if isinstance(range_, dict) else None
    return start if isinstance(start, dict) else {}
