"""Parse `eslint -f json`."""

from __future__ import annotations

from reviewer.static.findings import Finding, Severity, one_based, relative_path
from reviewer.static.parsers._json import expect_dict, expect_list, load_json, text_field

TOOL = "eslint"

# ESLint's numeric severities: 2 is an error, 1 a warning (0, "off", never reaches the output).
_SEVERITIES: dict[int, Severity] = {2: "error", 1: "warning"}


def parse_eslint(stdout: str, root: str) -> list[Finding]:
    """Turn eslint's per-file JSON results into findings (eslint positions are 1-based)."""
    findings = []
    for raw_file in expect_list(load_json(stdout, TOOL), TOOL, "the document"):
        result = expect_dict(raw_file, TOOL, "a file result")
        path = relative_path(text_field(result, "filePath"), root)
        for raw in expect_list(result.get("messages", []), TOOL, "messages"):
            message = expect_dict(raw, TOOL, "a message")
            severity = message.get("severity")
            findings.append(
                Finding(
                    tool=TOOL,
                    # Parse errors carry no rule id; they are reported as fatal.
                    rule=text_field(message, "ruleId") or "fatal",
                    severity=_SEVERITIES.get(severity, "error")
                    if isinstance(severity, int)
                    else "error",
                    path=path,
                    line=one_based(message.get("line")),
                    column=one_based(message.get("column")),
                    message=text_field(message, "message"),
                )
            )
    return findings
