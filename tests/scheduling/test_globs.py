"""Glob matching as the policy writes globs, and the conservative overlap test."""

from __future__ import annotations

import pytest

from app.scheduling.globs import glob_matches, globs_may_overlap, is_glob, normalize_path


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/poetry.lock", "poetry.lock", True),
        ("**/poetry.lock", "services/api/poetry.lock", True),
        ("**/poetry.lock", "poetry.lock.bak", False),
        (".github/workflows/**", ".github/workflows/ci.yml", True),
        (".github/workflows/**", ".github/CODEOWNERS", False),
        ("*.py", "app/main.py", False),
        ("app/*.py", "app/main.py", True),
        ("app/*.py", "app/sub/main.py", False),
        ("**/requirements*.txt", "requirements-dev.txt", True),
        ("docs/[!_]*.md", "docs/index.md", True),
        ("docs/[!_]*.md", "docs/_draft.md", False),
        ("./app/x.py", "/app/x.py", True),
    ],
)
def test_glob_matches(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("docs/**", "docs/index.md", True),
        ("docs/**", "app/**", False),
        ("migrations/*.sql", "migrations/**", True),
        ("app/*.py", "app/*.txt", True),
        ("app/a.py", "app/b.py", False),
        ("app/*.py", "app/sub/x.py", False),
        ("**/*.md", "app/x.py", True),
    ],
)
def test_globs_may_overlap_errs_only_towards_yes(left: str, right: str, expected: bool) -> None:
    assert globs_may_overlap(left, right) is expected
    assert globs_may_overlap(right, left) is expected


def test_paths_and_patterns_are_told_apart_and_normalized() -> None:
    assert is_glob("docs/*.md") and not is_glob("docs/index.md")
    assert normalize_path(".\\app\\x.py") == "app/x.py"
