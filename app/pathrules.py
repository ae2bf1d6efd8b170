"""Path confinement for the agent's file tools: relative paths, `**` globs, write rules.

Everything here is pure except `resolve_inside`, which follows symlinks on the local disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.globs import glob_match
from app.policy import PathPolicy
from app.roles import Role

# Never writable, whatever the repository's policy says: git internals (anywhere, so a nested
# repository cannot be used to plant hooks), CI workflows, Townhall's own policy file, and the
# codebase map, which workers regenerate but never edit (DESIGN.md "Codebase map").
ALWAYS_PROTECTED: tuple[str, ...] = (
    "**/.git",
    "**/.git/**",
    ".github/workflows/**",
    ".townhall.toml",
    "CODEBASE_MAP.md",
)


class PathError(ValueError):
    """A path the agent asked for is malformed, outside the checkout, or not writable."""


def normalize_path(path: str) -> str:
    """Return `path` as a clean relative POSIX path ("." for the root); raise PathError if not."""
    if "\x00" in path:
        raise PathError(f"{path!r}: paths may not contain NUL bytes")
    if not path.strip():
        raise PathError("the path is empty")
    if "\\" in path:
        raise PathError(f"{path!r}: use forward slashes; backslashes are not allowed in paths")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise PathError(
            f"{path!r}: absolute paths are not allowed; give a path relative to the root"
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathError(f"{path!r}: '..' is not allowed; paths must stay inside the checkout")
    return "/".join(parts) or "."


def first_matching_pattern(patterns: Iterable[str], path: str) -> str | None:
    """Return the first pattern that matches `path`, or None."""
    return next((pattern for pattern in patterns if glob_match(pattern, path)), None)


@dataclass(frozen=True)
class WriteRules:
    """Where the agent may write: inside `allowed`, outside `protected`, files up to a size."""

    protected: tuple[str, ...] = ALWAYS_PROTECTED
    allowed: tuple[str, ...] = ("**",)
    max_file_bytes: int = 1_000_000

    @classmethod
    def for_role(cls, role: Role, paths: PathPolicy) -> WriteRules:
        """Combine the repository's path policy with a role's write globs."""
        protected = tuple(dict.fromkeys((*ALWAYS_PROTECTED, *paths.protected)))
        return cls(protected=protected, allowed=role.writes, max_file_bytes=paths.max_file_bytes)

    def violation(self, path: str) -> str | None:
        """Return why a normalized `path` may not be written, or None if it may."""
        if path == ".":
            return "the checkout root is a directory, not a file"
        if protected := first_matching_pattern(self.protected, path):
            return f"{path}: protected path (matches {protected!r}); it cannot be changed"
        if first_matching_pattern(self.allowed, path) is None:
            allowed = ", ".join(self.allowed)
            return f"{path}: this role may only write files matching {allowed}"
        return None

    def check(self, path: str, size: int | None = None) -> str:
        """Return the normalized `path` if it may be written with `size` bytes; else raise."""
        clean = normalize_path(path)
        if reason := self.violation(clean):
            raise PathError(reason)
        if size is not None and size > self.max_file_bytes:
            raise PathError(
                f"{clean}: {size} bytes is over the limit of {self.max_file_bytes} bytes per file"
            )
        return clean


def changed_path_violations(paths: Iterable[str], rules: WriteRules) -> list[str]:
    """Return a reason for every changed path the rules forbid (for checking a final diff)."""
    problems: list[str] = []
    for path in paths:
        try:
            rules.check(path)
        except PathError as error:
            problems.append(str(error))
    return problems


def resolve_inside(root: Path, path: str) -> tuple[str, Path]:
    """Return (relative, absolute) for `path` under `root` after symlinks; raise if it escapes."""
    clean = normalize_path(path)
    real_root = root.resolve(strict=True)
    try:
        target = (real_root / clean).resolve(strict=False)
    except (OSError, RuntimeError) as error:
        raise PathError(f"{path!r}: cannot be resolved ({error})") from error
    if target != real_root and not target.is_relative_to(real_root):
        raise PathError(f"{path!r}: resolves outside the checkout (through a symlink)")
    relative = target.relative_to(real_root).as_posix()
    return relative, target
