"""Classify repository paths: policy globs, test files, lockfiles."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from app.globs import glob_match

_TEST_NAME = re.compile(
    r"^(?:test_.+\.py|.+_test\.py|conftest\.py|.+_test\.go|.+_spec\.rb"
    r"|.+\.(?:test|spec)\.(?:js|jsx|ts|tsx|mjs|cjs|mts|cts)|.+Tests?\.(?:java|kt|cs))$"
)
_JS_SOURCE = re.compile(r"\.(?:js|jsx|ts|tsx|mjs|cjs|mts|cts)$")

LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Cargo.lock",
        "go.sum",
        "Gemfile.lock",
        "composer.lock",
        "flake.lock",
        "packages.lock.json",
        "mix.lock",
        "pubspec.lock",
        "Package.resolved",
    }
)


def matches_glob(pattern: str, path: str) -> bool:
    """Return whether repo-relative `path` matches `pattern` (the shared rules of app.globs)."""
    return glob_match(pattern, path)


def any_glob_matches(patterns: tuple[str, ...] | list[str], path: str) -> bool:
    """Return whether `path` matches at least one of `patterns`."""
    return any(matches_glob(pattern, path) for pattern in patterns)


def is_test_file(path: str) -> bool:
    """Return whether `path` names a test module by the usual conventions of common languages."""
    pure = PurePosixPath(path)
    if _TEST_NAME.match(pure.name):
        return True
    return "__tests__" in pure.parts[:-1] and _JS_SOURCE.search(pure.name) is not None


def is_lockfile(path: str) -> bool:
    """Return whether `path` is a dependency lockfile (full of hashes by design)."""
    return PurePosixPath(path).name in LOCKFILES


def is_generated_blob(path: str) -> bool:
    """Return whether `path` is a lockfile or minified/source-map output (dense by design)."""
    return is_lockfile(path) or path.endswith((".min.js", ".min.css", ".map"))
