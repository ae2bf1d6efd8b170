"""Parse `ruff check --output-format json`."""

from __future__ import annotations

from reviewer.static.findings import Finding, relative_path
from reviewer.static.parsers._json import expect_dict, expect_list, load_json, text_field

TOOL = "ruff"


def parse_ruff(stdout: str, root: str) -> list[Finding]:
    """Turn ruff's JSON array of violations into findings (ruff positions are 1-based)."""
    findings = []
    for raw in expect_list(load_json(stdout, TOOL), TOOL, "the document"):
        item = expect_dict(raw, TOOL, "a violation")
        location = item.get("location") or {}
        # Syntax errors have code "invalid-syntax" in current ruff and null in older releases.
        rule = text_field(item, "code") or text_field(item, "name") or "invalid-syntax"
        findings.append(
            Finding(
                tool=TOOL,
                rule=rule,
                # Every ruff violation fails `ruff check`, so all are errors.
                severity="error",
                path=relative_path(text_field(item, "filename"), root),
                line=_position(location, "row"),
                column=_position(location, "column"),
                message=text_field(item, "message"),
            )
        )
    return findings


def _position(location: object, key: str) -> int | None:
    value = location.get(key) if isinstance(location, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None
