"""Barrier files: lockfiles, manifests, CI config, configured globs and hot files."""

from __future__ import annotations

import pytest

from app.scheduling import BarrierRules, barrier_rules, find_hot_files


@pytest.mark.parametrize(
    "path",
    [
        "poetry.lock",
        "frontend/package-lock.json",
        "Cargo.lock",
        "go.sum",
        "uv.lock",
        "pyproject.toml",
        "services/api/package.json",
        "requirements-dev.txt",
        "setup.cfg",
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
    ],
)
def test_built_in_barriers(path: str) -> None:
    assert BarrierRules().is_barrier(path)


@pytest.mark.parametrize("path", ["app/routes.py", "README.md", "docs/package.md"])
def test_ordinary_files_are_not_barriers(path: str) -> None:
    assert not BarrierRules().is_barrier(path)


def test_configured_globs_add_to_the_defaults_or_replace_them() -> None:
    rules = barrier_rules(["app/settings.py", "migrations/**"])
    assert rules.is_barrier("migrations/0001_init.sql")
    assert rules.is_barrier("app/settings.py")
    assert rules.is_barrier("poetry.lock")
    assert not barrier_rules(["app/settings.py"], defaults=False).is_barrier("poetry.lock")


def test_hot_files_are_those_most_recent_commits_touch() -> None:
    history = [{"CHANGELOG.md", f"app/m{n}.py"} for n in range(30)]
    history += [{f"docs/page{n}.md"} for n in range(10)]
    assert find_hot_files(history, share=0.5, recent=40) == frozenset({"CHANGELOG.md"})
    # Only the most recent commits count: in the last 10 the changelog is never touched.
    assert find_hot_files(history, share=0.5, recent=10, min_commits=5) == frozenset()


def test_too_little_history_finds_no_hot_files() -> None:
    history = [{"CHANGELOG.md"} for _ in range(5)]
    assert find_hot_files(history, share=0.25, min_commits=20) == frozenset()
    rules = barrier_rules(history=[{"CHANGELOG.md", f"m{n}"} for n in range(25)])
    assert rules.is_barrier("CHANGELOG.md")


def test_claimed_globs_hit_rooted_barriers_and_hot_files_only() -> None:
    rules = BarrierRules(hot_files=frozenset({"docs/index.md"}))
    assert rules.hits([], [".github/**"]) == frozenset({".github/**"})
    assert rules.hits([], ["docs/**"]) == frozenset({"docs/**"})
    # Any folder could hold a `**/package.json`; that alone does not make a scope a barrier.
    assert rules.hits([], ["tests/**"]) == frozenset()
    assert rules.hits(["app/x.py", "poetry.lock"]) == frozenset({"poetry.lock"})
