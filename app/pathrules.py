"""Path confinement for the agent's file tools: relative paths, `**` globs, write rules.

Everything here is pure except `resolve_inside`, which follows symlinks on the local disk,
and `read_tree_file`, which reads a trusted checkout without following any link.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.globs import glob_match
from app.policy import PathPolicy
from app.roles import Role

# Files that tell a CI service what to run on its runners, where the repository's secrets are
# at hand. A branch Townhall pushes runs `push` workflows before any review, so model-written
# code must never change them (README "Security model" lists them).
RUNNER_CONFIG: tuple[str, ...] = (
    ".github/**",  # Actions workflows and composite actions, dependabot, CODEOWNERS, ...
    ".gitea/**",
    ".forgejo/**",
    ".gitlab-ci.yml",
    ".gitlab/**",
    ".circleci/**",
    ".travis.yml",
    "azure-pipelines.yml",
    "azure-pipelines.yaml",
    ".azure-pipelines/**",
    "Jenkinsfile",
    ".buildkite/**",
    ".drone.yml",
    ".drone.yaml",
    ".drone.jsonnet",
    ".drone.star",
    "bitbucket-pipelines.yml",
    "appveyor.yml",
    ".appveyor.yml",
    ".cirrus.yml",
    ".cirrus.star",
    ".woodpecker.yml",
    ".woodpecker.yaml",
    ".woodpecker/**",
    ".semaphore/**",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    "codemagic.yaml",
    ".pre-commit-config.yaml",  # pre-commit.ci runs the hooks it names
    ".devcontainer/**",  # Codespaces prebuilds run it with the Codespaces secrets
    ".devcontainer.json",
)

# Never writable, whatever the repository's policy says: git internals (anywhere, so a nested
# repository cannot be used to plant hooks), CI and runner configuration, Townhall's own policy
# file, and the codebase map, which workers regenerate but never edit (DESIGN.md "Codebase map").
ALWAYS_PROTECTED: tuple[str, ...] = (
    "**/.git",
    "**/.git/**",
    ".townhall.toml",
    "CODEBASE_MAP.md",
    *RUNNER_CONFIG,
)


def protected_globs(configured: Iterable[str]) -> tuple[str, ...]:
    """Return the built-in protected globs plus a policy's own, without repeats."""
    return tuple(dict.fromkeys((*ALWAYS_PROTECTED, *configured)))


class PathError(ValueError):
    """A path the agent asked for is malformed, outside the checkout, or not writable."""


def normalize_path(path: str) -> str:
    """Return `path` as a clean relative POSIX path ("." for the root); raise PathError if not."""
    if "\x00" in path:
        raise PathError(f"{path!r}: paths may not contain NUL bytes")
    # A line break in a file name would break out of the line it is shown on (a PR body).
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise PathError(f"{path!r}: paths may not contain control characters (line breaks, tabs)")
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
        return cls(
            protected=protected_globs(paths.protected),
            allowed=role.writes,
            max_file_bytes=paths.max_file_bytes,
        )

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


def read_tree_file(root: Path, path: str, max_bytes: int) -> bytes | None:
    """Return a regular file's bytes from a trusted checkout, or None when there is none.

    No link is followed at any depth: a committed symlink (to /proc/self/environ, say) would
    copy this process's environment into a prompt. A link, a special file, or a file over
    `max_bytes` raises PathError.
    """
    *directories, name = normalize_path(path).split("/")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in directories:
            inner = _open_nofollow(part, parent=directory, path=path)
            if inner is None:
                return None
            os.close(directory)
            directory = inner
        file = _open_nofollow(name, parent=directory, path=path, directory=False)
    finally:
        os.close(directory)
    if file is None:
        return None
    with os.fdopen(file, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PathError(f"{path}: not a regular file; it is not read")
        if info.st_size > max_bytes:
            raise PathError(f"{path}: {info.st_size} bytes is over the {max_bytes} bytes read")
        data = _read_at_most(handle, max_bytes + 1)
    if len(data) > max_bytes:
        raise PathError(f"{path}: over the {max_bytes} bytes read")
    return data


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """Read up to `limit` bytes in chunks (one read of `limit` would allocate it all at once)."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0 and (chunk := handle.read(min(remaining, 1 << 20))):
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _open_nofollow(name: str, *, parent: int, path: str, directory: bool = True) -> int | None:
    """Open one path component under `parent` without following a link; None when absent."""
    # O_NONBLOCK: opening a FIFO must not hang; only regular files are read afterwards.
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if directory else os.O_NONBLOCK)
    try:
        return os.open(name, flags, dir_fd=parent)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            kind = "a symbolic link or not a directory" if directory else "a symbolic link"
            raise PathError(f"{path}: {name!r} is {kind}; links are not followed") from error
        raise
