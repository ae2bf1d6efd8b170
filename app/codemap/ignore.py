"""Decide which paths a map skips: vendored and generated files, and .gitignore patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

VENDORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "vendor",
        "dist",
        "build",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
    }
)
LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "poetry.lock",
        "uv.lock",
        "Pipfile.lock",
        "pdm.lock",
        "Cargo.lock",
        "go.sum",
        "Gemfile.lock",
        "composer.lock",
    }
)
_GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", ".lock", ".pyc")
# Conventional markers of machine-written files (Go's "Code generated ... DO NOT EDIT.",
# Facebook's @generated), looked for only near the top so prose mentioning them is kept.
_GENERATED_MARKER = re.compile(r"@generated|do not edit|auto-?generated", re.IGNORECASE)
GENERATED_MARKER_LINES = 5


def is_vendored(path: str) -> bool:
    """Return whether a repository-relative path is vendored, a lockfile or a build output."""
    parts = PurePosixPath(path).parts
    if any(p in VENDORED_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
        return True
    name = parts[-1] if parts else ""
    return name in LOCKFILES or name.endswith(_GENERATED_SUFFIXES)


def is_vendored_dir(name: str) -> bool:
    """Return whether a directory of this name holds vendored code or build output."""
    return name in VENDORED_DIRS or name.endswith(".egg-info")


def looks_generated(text: str) -> bool:
    """Return whether a file's first lines mark it as generated."""
    head = "\n".join(text.splitlines()[:GENERATED_MARKER_LINES])
    return _GENERATED_MARKER.search(head) is not None


@dataclass(frozen=True, slots=True)
class _Rule:
    base: str
    pattern: re.Pattern[str]
    negated: bool
    directory_only: bool


@dataclass
class GitignoreMatcher:
    """The .gitignore rules met so far; a later rule overrides an earlier one, as in git."""

    rules: list[_Rule] = field(default_factory=list)

    def add(self, base: str, text: str) -> None:
        """Add the rules of the .gitignore file found in directory base ("" for the root)."""
        for raw in text.splitlines():
            rule = _parse_rule(base, raw)
            if rule is not None:
                self.rules.append(rule)

    def ignores(self, path: str, is_dir: bool) -> bool:
        """Return whether a repository-relative path is ignored."""
        ignored = False
        for rule in self.rules:
            if rule.directory_only and not is_dir:
                continue
            if rule.base:
                if not path.startswith(rule.base + "/"):
                    continue
                relative = path[len(rule.base) + 1 :]
            else:
                relative = path
            if rule.pattern.fullmatch(relative):
                ignored = not rule.negated
        return ignored


def _parse_rule(base: str, raw: str) -> _Rule | None:
    line = raw.rstrip("\n")
    # Trailing spaces do not count unless escaped with a backslash.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith("\\"):
        line = line[1:] if line[1:2] in ("#", "!") else line
    directory_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    # A slash at the start or in the middle anchors the pattern to the .gitignore's directory.
    anchored = "/" in line
    line = line.lstrip("/")
    regex = _translate(line)
    if not anchored:
        regex = f"(?:.*/)?{regex}"
    return _Rule(base, re.compile(regex, re.DOTALL), negated, directory_only)


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        elif char == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
