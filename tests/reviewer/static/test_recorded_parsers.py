"""Parsers for tools not installed here, tested on their real recorded output."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.static.findings import Finding, ToolOutputError
from reviewer.static.parsers.eslint import parse_eslint
from reviewer.static.parsers.pyright import parse_pyright
from reviewer.static.parsers.tsc import parse_tsc
from tests.reviewer.static.conftest import FIXTURES


def _token_at(source: Path, finding: Finding) -> str:
    """Return the source text from the finding's 1-based line and column onwards."""
    assert finding.line is not None and finding.column is not None
    return source.read_text().splitlines()[finding.line - 1][finding.column - 1 :]


def test_pyright_converts_zero_based_ranges_and_relativises_paths() -> None:
    findings = parse_pyright((FIXTURES / "pyright.json").read_text(), "/tmp/rec/py")

    assert [(f.rule, f.severity, f.path, f.line, f.column) for f in findings] == [
        ("reportUnusedImport", "warning", "pkg/app.py", 1, 8),
        ("reportReturnType", "error", "pkg/app.py", 5, 12),
        ("reportArgumentType", "error", "pkg/app.py", 8, 20),
        ("reportUndefinedVariable", "error", "pkg/app.py", 9, 7),
        ("pyright", "note", "pkg/app.py", 10, 13),
    ]
    source = FIXTURES / "pyright_source.py.txt"
    assert _token_at(source, findings[0]).startswith("os")
    assert _token_at(source, findings[1]).startswith('"hello "')
    assert _token_at(source, findings[2]).startswith("3)")
    assert _token_at(source, findings[3]).startswith("undefined_name")
    assert findings[3].message == '"undefined_name" is not defined'


def test_pyright_information_is_a_note() -> None:
    findings = parse_pyright((FIXTURES / "pyright.json").read_text(), "/tmp/rec/py")

    reveal = findings[-1]
    assert reveal.severity == "note"
    assert reveal.line == 10
    assert _token_at(FIXTURES / "pyright_source.py.txt", reveal).startswith("value")


def test_pyright_rejects_output_that_is_not_its_json() -> None:
    with pytest.raises(ToolOutputError):
        parse_pyright('File or directory "x.py" does not exist', "/repo")


def test_tsc_positions_point_at_the_reported_tokens() -> None:
    findings = parse_tsc((FIXTURES / "tsc.txt").read_text(), "/tmp/rec/ts")

    assert [(f.rule, f.path, f.line, f.column) for f in findings] == [
        ("TS2322", "src/a.ts", 2, 7),
        ("TS2322", "src/a.ts", 7, 14),
        ("TS2305", "src/b.ts", 1, 10),
        ("TS2322", "src/b.ts", 4, 33),
        ("TS2322", "src/b.ts", 5, 45),
        ("TS2345", "src/d.ts", 4, 23),
    ]
    assert all(f.severity == "error" and f.tool == "tsc" for f in findings)
    sources = FIXTURES / "tsc_src"
    assert _token_at(sources / "a.ts", findings[0]).startswith("sum")
    assert _token_at(sources / "a.ts", findings[1]).startswith("label")
    assert _token_at(sources / "b.ts", findings[2]).startswith("missing")
    assert _token_at(sources / "b.ts", findings[3]).startswith('y: "2"')
    assert _token_at(sources / "d.ts", findings[5]).startswith("raw")


def test_tsc_joins_indented_continuation_lines_to_their_diagnostic() -> None:
    findings = parse_tsc((FIXTURES / "tsc.txt").read_text(), "/tmp/rec/ts")

    assert findings[5].message.splitlines() == [
        "Argument of type '{ a: { b: string; }; }' is not assignable to parameter of type 'Box'.",
        "The types of 'a.b' are incompatible between these types.",
        "Type 'string' is not assignable to type 'number'.",
    ]


def test_tsc_error_without_location_has_no_path() -> None:
    findings = parse_tsc((FIXTURES / "tsc_global.txt").read_text(), "/repo")

    assert findings == [
        Finding("tsc", "TS5023", "error", None, None, None, "Unknown compiler option '--bogus'.")
    ]


def test_eslint_maps_numeric_severities_and_keeps_one_based_positions() -> None:
    findings = parse_eslint((FIXTURES / "eslint.json").read_text(), "/tmp/rec/ts")

    assert [(f.rule, f.severity, f.path, f.line, f.column) for f in findings] == [
        ("fatal", "error", "src/broken.js", 2, 1),
        ("no-unused-vars", "warning", "src/c.js", 1, 5),
        ("prefer-const", "error", "src/c.js", 1, 5),
        ("prefer-const", "error", "src/c.js", 2, 5),
        ("eqeqeq", "warning", "src/c.js", 3, 12),
        ("no-undef", "error", "src/c.js", 3, 15),
        ("no-undef", "error", "src/c.js", 4, 3),
    ]
    source = FIXTURES / "eslint_source.js.txt"
    assert _token_at(source, findings[1]).startswith("unused")
    assert _token_at(source, findings[4]).startswith("==")
    assert _token_at(source, findings[5]).startswith("undefinedThing")
    assert _token_at(source, findings[6]).startswith("console")
    assert findings[0].message == "Parsing error: Unexpected token"


def test_eslint_rejects_a_crash_message() -> None:
    with pytest.raises(ToolOutputError):
        parse_eslint("Oops! Something went wrong! :(", "/repo")
