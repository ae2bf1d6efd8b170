"""Path confinement: normalization, `**` globs, write rules, and symlink resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.pathrules import (
    PathError,
    WriteRules,
    changed_path_violations,
    glob_match,
    normalize_path,
    resolve_inside,
)
from app.policy import PathPolicy
from app.roles import default_roles


@pytest.mark.parametrize(
    ("given", "expected"),
    [("src/app.py", "src/app.py"), ("./src//app.py", "src/app.py"), ("src/", "src"), (".", ".")],
)
def test_normalize_keeps_relative_paths(given: str, expected: str) -> None:
    assert normalize_path(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("../x", r"'\.\.'"),
        ("src/../../x", r"'\.\.'"),
        ("src/..", r"'\.\.'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows", "absolute"),
        ("src/a\x00.py", "NUL"),
        ("", "empty"),
        ("   ", "empty"),
        ("src\\app.py", "backslash"),
    ],
)
def test_normalize_rejects_escapes(given: str, reason: str) -> None:
    with pytest.raises(PathError, match=reason):
        normalize_path(given)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**", "a/b/c.py", True),
        ("*.py", "app.py", True),
        ("*.py", "src/app.py", False),
        ("src/*.py", "src/app.py", True),
        ("src/*.py", "src/sub/app.py", False),
        ("src/**", "src/sub/deep/app.py", True),
        ("src/**", "src", False),
        ("src/**", "srcx/app.py", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/a/b.md", True),
        ("**/*.md", "docs/a/b.mdx", False),
        ("a/**/b.txt", "a/b.txt", True),
        ("a/**/b.txt", "a/x/y/b.txt", True),
        ("**/test_*.py", "pkg/tests/test_x.py", True),
        ("**/.git/**", ".git/config", True),
        ("**/.git/**", "vendor/lib/.git/hooks/pre-commit", True),
        ("**/.git", "vendor/.git", True),
        ("**/.git", "my.git", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file/.txt", False),
        ("[ab].txt", "a.txt", True),
        ("[!ab].txt", "c.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("a.b", "aXb", False),
        ("docs/**", "docs/x.md", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches


def test_always_protected_paths_cannot_be_written() -> None:
    rules = WriteRules.for_role(default_roles()["developer"], PathPolicy(protected=()))
    for path in (
        ".git/config",
        ".git/hooks/pre-commit",
        "sub/.git/config",
        ".git",
        ".github/workflows/ci.yml",
        ".townhall.toml",
        # Issue 16: everything a CI runner executes, not only workflows, is built in.
        ".github/CODEOWNERS",
        ".github/actions/setup/action.yml",
        ".github/dependabot.yml",
        ".gitlab-ci.yml",
        ".circleci/config.yml",
        ".pre-commit-config.yaml",
        "Jenkinsfile",
        "CODEBASE_MAP.md",
    ):
        with pytest.raises(PathError, match="protected"):
            rules.check(path)
    assert rules.check("./src/app.py") == "src/app.py"
    assert rules.check("docs/.github/notes.md") == "docs/.github/notes.md"  # anchored at the root


def test_policy_protected_globs_are_added() -> None:
    rules = WriteRules.for_role(default_roles()["developer"], PathPolicy(protected=("secrets/**",)))
    with pytest.raises(PathError, match="secrets/\\*\\*"):
        rules.check("secrets/prod/key.pem")
    with pytest.raises(PathError, match="protected"):
        rules.check(".github/workflows/release.yml")


def test_role_write_globs_restrict_where_a_role_writes() -> None:
    docs = WriteRules.for_role(default_roles()["docs-writer"], PathPolicy())
    assert docs.check("docs/guide/intro.md") == "docs/guide/intro.md"
    assert docs.check("README.md") == "README.md"
    with pytest.raises(PathError, match="this role may only write"):
        docs.check("src/app.py")
    tester = WriteRules.for_role(default_roles()["test-writer"], PathPolicy())
    assert tester.check("pkg/test_core.py") == "pkg/test_core.py"
    with pytest.raises(PathError, match="this role may only write"):
        tester.check("pkg/core.py")


def test_size_limit_and_root() -> None:
    rules = WriteRules(max_file_bytes=10)
    assert rules.check("a.txt", 10) == "a.txt"
    with pytest.raises(PathError, match="over the limit of 10 bytes"):
        rules.check("a.txt", 11)
    with pytest.raises(PathError, match="directory"):
        rules.check(".")


def test_changed_path_violations_lists_every_bad_path() -> None:
    rules = WriteRules.for_role(default_roles()["docs-writer"], PathPolicy())
    problems = changed_path_violations(["docs/a.md", "src/x.py", ".townhall.toml"], rules)
    assert len(problems) == 2
    assert "src/x.py" in problems[0] and ".townhall.toml" in problems[1]


def test_resolve_inside_follows_symlinks_and_rejects_escapes(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "escape")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("src/app.py", root / "alias.py")
    os.symlink("loop", root / "loop")

    assert resolve_inside(root, "alias.py") == ("src/app.py", (root / "src/app.py").resolve())
    assert resolve_inside(root, "src/new/file.py")[0] == "src/new/file.py"
    assert resolve_inside(root, ".")[0] == "."
    for path in ("escape/x.txt", "escape", "passwd"):
        with pytest.raises(PathError, match="outside the checkout"):
            resolve_inside(root, path)
    with pytest.raises(PathError):
        resolve_inside(root, "loop")
    with pytest.raises(PathError, match=r"'\.\.'"):
        resolve_inside(root, "../outside")
