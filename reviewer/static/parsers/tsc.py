"""Parse `tsc --pretty false` text output."""

from __future__ import annotations

import re
from dataclasses import replace

from reviewer.static.findings import Finding, Severity, relative_path

TOOL = "tsc"

# `src/a.ts(3,7): error TS2322: message`; positions are 1-based.
_LOCATED = re.compile(
    r"^(?P<path>.+?)\((?P<line>\d+),(?P<column>\d+)\): "
    r"(?P<severity>error|warning|message) (?P<code>TS\d+): (?P<message>.*)$"
)
# `error TS5023: message`: options and project errors have no location.
_GLOBAL = re.compile(r"^(?P<severity>error|warning|message) (?P<code>TS\d+): (?P<message>.*)$")
_SEVERITIES: dict[str, Severity] = {"error": "error", "warning": "warning", "message": "note"}


def parse_tsc(stdout: str, root: str) -> list[Finding]:
    """Turn tsc diagnostics into findings; indented lines continue the previous message."""
    findings: list[Finding] = []
    for text in stdout.splitlines():
        located = _LOCATED.match(text)
        unlocated = None if located else _GLOBAL.match(text)
        if located:
            findings.append(
                Finding(
                    tool=TOOL,
                    rule=located["code"],
                    severity=_SEVERITIES[located["severity"]],
                    path=relative_path(located["path"], root),
                    line=int(located["line"]),
                    column=int(located["column"]),
                    message=located["message"],
                )
            )
        elif unlocated:
            findings.append(
                Finding(
                    tool=TOOL,
                    rule=unlocated["code"],
                    severity=_SEVERITIES[unlocated["severity"]],
                    path=None,
                    line=None,
                    column=None,
                    message=unlocated["message"],
                )
            )
        elif text.startswith(" ") and findings:
            # Elaborations ("  The types of 'a.b' are incompatible...") belong to the last one.
            last = findings[-1]
            findings[-1] = replace(last, message=f"{last.message}\n{text.strip()}")
    return findings
