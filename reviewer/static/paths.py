"""Classify repository paths: policy globs, test files, lockfiles."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

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
    """Return whether repo-relative `path` matches `pattern`, anchored at the repository root.

    `*` and `?` stay within one path segment, `**` spans any number of segments (`a/**` is
    everything under `a`, `**/x` is `x` at any depth), and a trailing `/` means the whole
    directory.
    """
    return _compile(pattern).fullmatch(path.lstrip("/")) is not None


def matches_any(patterns: tuple[str, ...] | list[str], path: str) -> bool:
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


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    glob = pattern.strip().lstrip("/")
    if glob.endswith("/"):
        glob += "**"
    out: list[str] = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("/**", index) and index + 3 == len(glob):
            out.append("/.*")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        elif glob[index] == "[" and "]" in glob[index + 2 :]:
            end = glob.index("]", index + 2)
            body = glob[index + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            index = end + 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(out))
