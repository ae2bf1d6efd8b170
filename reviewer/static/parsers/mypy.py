"""Parse `mypy -O json` (one JSON object per line)."""

from __future__ import annotations

from reviewer.static.findings import Finding, as_severity, one_based, relative_path
from reviewer.static.parsers._json import expect_dict, load_json, text_field

TOOL = "mypy"


def parse_mypy(stdout: str, root: str) -> list[Finding]:
    """Turn mypy's JSON lines into findings, converting its 0-based columns to 1-based."""
    findings = []
    for text in stdout.splitlines():
        if not text.strip():
            continue
        item = expect_dict(load_json(text, TOOL), TOOL, "a line")
        rule = text_field(item, "code") or "misc"
        # mypy reports columns 0-based, except syntax errors, whose column is Python's
        # SyntaxError.offset and already 1-based (checked against mypy 2.4 in the tests).
        offset = 0 if rule == "syntax" else 1
        message = text_field(item, "message")
        hint = text_field(item, "hint")
        findings.append(
            Finding(
                tool=TOOL,
                rule=rule,
                severity=as_severity(text_field(item, "severity")),
                path=relative_path(text_field(item, "file"), root),
                line=one_based(item.get("line")),
                column=one_based(item.get("column"), offset=offset),
                message=f"{message}\n{hint}" if hint else message,
            )
        )
    return findings
