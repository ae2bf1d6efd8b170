"""Path classification: policy globs with `**`, test files, lockfiles."""

from __future__ import annotations

import pytest

from reviewer.static.paths import is_lockfile, is_test_file, matches_glob


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        (".github/workflows/**", ".github/workflows/ci.yml", True),
        (".github/workflows/**", ".github/workflows/nested/deploy.yml", True),
        (".github/workflows/**", ".github/workflows", False),
        (".github/workflows/**", ".github/dependabot.yml", False),
        (".townhall.toml", ".townhall.toml", True),
        (".townhall.toml", "sub/.townhall.toml", False),
        ("**/.townhall.toml", "sub/.townhall.toml", True),
        ("**/.townhall.toml", ".townhall.toml", True),
        ("*.lock", "poetry.lock", True),
        ("*.lock", "sub/poetry.lock", False),
        ("src/**/*.py", "src/app.py", True),
        ("src/**/*.py", "src/a/b/app.py", True),
        ("src/**/*.py", "src/a/b/app.pyc", False),
        ("docs/", "docs/index.md", True),
        ("/infra/*.tf", "infra/main.tf", True),
        ("infra/?.tf", "infra/a.tf", True),
        ("infra/?.tf", "infra/ab.tf", False),
        ("config/[!x]*.yml", "config/app.yml", True),
        ("config/[!x]*.yml", "config/xapp.yml", False),
        ("a+b(c).txt", "a+b(c).txt", True),
    ],
)
def test_globs(pattern: str, path: str, expected: bool) -> None:
    assert matches_glob(pattern, path) is expected


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_votes.py",
        "pkg/votes_test.py",
        "tests/conftest.py",
        "internal/votes_test.go",
        "web/src/App.test.tsx",
        "web/src/api.spec.js",
        "web/src/__tests__/tally.js",
        "spec/models/user_spec.rb",
        "src/test/java/org/VoteTest.java",
    ],
)
def test_test_files(path: str) -> None:
    assert is_test_file(path)


@pytest.mark.parametrize(
    "path", ["app/testing.py", "tests/helpers.py", "src/contest.py", "web/src/testUtils.js"]
)
def test_non_test_files(path: str) -> None:
    assert not is_test_file(path)


def test_lockfiles() -> None:
    assert is_lockfile("web/package-lock.json")
    assert is_lockfile("uv.lock")
    assert is_lockfile("go.sum")
    assert not is_lockfile("package.json")
    assert not is_lockfile("docs/lock.md")
