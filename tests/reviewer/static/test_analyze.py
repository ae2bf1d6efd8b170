"""Phase 1 end to end on a real git repository, through the local command runner."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from app.policy import CommandPolicy, PathPolicy, Policy
from reviewer.static.analyze import analyze
from reviewer.static.findings import Finding
from reviewer.static.report import findings_in_changed_code
from reviewer.static.runner import RunCommand
from tests.reviewer.static import fakes

PYPROJECT = """\
[project]
name = "sample"
version = "0"

[tool.mypy]
files = ["app"]
strict = true
"""

CORE_BASE = '''\
"""Core."""


def add(a: int, b: int) -> int:
    """Add."""
    return a + b
'''

CORE_HEAD = '''\
"""Core."""

import os


def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def label(n: int) -> str:
    """Label."""
    return n
'''

TESTS_BASE = """\
from app.core import add


def test_add():
    assert add(1, 2) == 3


def test_add_negative():
    assert add(-1, -2) == -3
"""

TESTS_HEAD = """\
from app.core import add


def test_add():
    assert add(1, 2) == 3
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _repository(root: Path) -> str:
    """Commit a base and a head that breaks several rules; return `git diff base...head`."""
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    _write(
        root,
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "app/core.py": CORE_BASE,
            "tests/__init__.py": "",
            "tests/test_core.py": TESTS_BASE,
            ".github/workflows/ci.yml": "on: push\n",
            ".gitignore": ".mypy_cache/\n__pycache__/\n",
        },
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "townhall/issue-1")
    _write(
        root,
        {
            "app/core.py": CORE_HEAD,
            "app/settings.py": f'"""Settings."""\n\nTOKEN = "{fakes.github_token()}"\n',
            "tests/test_core.py": TESTS_HEAD,
            ".github/workflows/ci.yml": "on: [push, pull_request]\n",
            "data/blob.bin": bytes(20_000),
        },
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "head")
    return _git(root, "diff", "main...townhall/issue-1")


def _where(finding: Mapping[str, object]) -> tuple[object, ...]:
    return (finding["tool"], finding["rule"], finding["path"], finding["line"])


def test_phase_one_reports_tools_and_diff_checks(tmp_path: Path, run: RunCommand) -> None:
    diff = _repository(tmp_path)
    policy = Policy(
        commands=CommandPolicy(build="python -c 'import app.core'", test="townhall-missing-runner"),
        paths=PathPolicy(max_file_bytes=10_000),
    )

    report = analyze(run, str(tmp_path), diff, policy)

    assert report["tools"] == {
        "ruff": "failed",
        "mypy": "failed",
        "pytest": "passed",
        "build": "passed",
        "test": "skipped",
        "diff": "failed",
    }
    assert report["passed"] is False
    assert set(report["durations"]) == set(report["tools"])
    assert report["skipped"]["test"].startswith("test is not installed (exit 127)")
    located = sorted(_where(finding) for finding in report["findings"])
    assert located == [
        ("diff", "file-too-large", "data/blob.bin", None),
        ("diff", "github-token", "app/settings.py", 3),
        ("diff", "protected-path", ".github/workflows/ci.yml", 1),
        ("diff", "test-removed", "tests/test_core.py", 5),
        ("mypy", "return-value", "app/core.py", 13),
        ("ruff", "F401", "app/core.py", 3),
    ]
    assert (report["errors"], report["warnings"]) == (5, 1)


def test_findings_in_changed_code_from_the_report(tmp_path: Path, run: RunCommand) -> None:
    diff = _repository(tmp_path)
    # The untouched base code gets a problem too: it must not count as changed code.
    (tmp_path / "app" / "__init__.py").write_text("import sys\n")

    report = analyze(run, str(tmp_path), diff, Policy())
    findings = [Finding(**finding) for finding in report["findings"]]  # type: ignore[arg-type]

    changed = {(f.rule, f.path) for f in findings_in_changed_code(findings, diff)}
    everywhere = {(f.rule, f.path) for f in findings}
    assert ("F401", "app/__init__.py") in everywhere
    assert ("F401", "app/__init__.py") not in changed
    assert {("F401", "app/core.py"), ("return-value", "app/core.py")} <= changed
