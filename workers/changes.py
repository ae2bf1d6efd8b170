"""What a worker changed: the sandbox's files compared with the base tree, as changes and a diff.

The sandbox is untrusted: every file is size-checked before the trusted side reads it, and the
final change passes the same path, size and secret rules as review phase 1 before it is published.
"""

from __future__ import annotations

import asyncio
import difflib
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.pathrules import (
    PathError,
    WriteRules,
    changed_path_violations,
    first_matching_pattern,
    read_tree_file,
)
from app.sandbox import Sandbox, SandboxFileError
from app.sandbox.tree import walk_files
from app.secretscan import find_secrets, is_leak
from workers.publish import FileChange

# The base tree is trusted and already on disk; its files are read whole, whatever their size.
BASE_FILE_LIMIT = 1 << 40

# Build and test runs leave these behind; they are never part of a change, ignored or not.
BUILD_ARTIFACTS = (
    "**/__pycache__/**",
    "**/*.pyc",
    "**/.pytest_cache/**",
    "**/.mypy_cache/**",
    "**/.ruff_cache/**",
    "**/node_modules/**",
    "**/*.egg-info/**",
    "**/.coverage",
    "**/.tox/**",
    "**/.venv/**",
)


def ignored_by_git(base_tree: Path, paths: Iterable[str]) -> set[str]:
    """Return the paths the repository's own .gitignore rules ignore (base tree's git)."""
    candidates = "\n".join(paths)
    if not candidates or not (base_tree / ".git").exists():
        return set()
    result = subprocess.run(
        ["git", "-C", str(base_tree), "check-ignore", "--no-index", "--stdin"],
        input=candidates,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(result.stdout.splitlines())


class UnpublishableChange(Exception):
    """The sandbox holds files that cannot be part of a change (links out, unreadable files)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


async def collect_changes(
    sandbox: Sandbox, base_tree: Path, *, max_file_bytes: int
) -> dict[str, FileChange]:
    """Compare every file in the sandbox with the trusted base tree (not the sandbox's git).

    The base comes from the trusted side, so nothing the agent did inside the sandbox (its
    own commits, a rewritten .git) can hide a change. A file over `max_file_bytes` (or, for a
    file of the base, over its base size too) is refused before it is read.
    """
    listed = await asyncio.to_thread(walk_files, base_tree)
    # The repository's own symlinks are kept as they are: the trusted side never reads through
    # a link (one pointing at /proc/self/environ would copy this process's secrets into a diff).
    links = {path for path in listed if (base_tree / path).is_symlink()}
    before = set(listed) - links
    after = set(await sandbox.list_files()) - links
    new = after - before
    artifacts = {path for path in new if first_matching_pattern(BUILD_ARTIFACTS, path)}
    after -= artifacts | await asyncio.to_thread(ignored_by_git, base_tree, sorted(new - artifacts))
    changes: dict[str, FileChange] = {}
    unreadable: list[str] = []
    for path in sorted(after):
        original = base_tree / path
        # A file of the base may stay as large as it was; it is read to see whether it changed.
        limit = max(max_file_bytes, original.stat().st_size) if path in before else max_file_bytes
        try:
            content = await sandbox.read_file(path, max_bytes=limit)
        except (PathError, SandboxFileError) as error:
            unreadable.append(str(error))  # a symlink pointing outside, or a file over the cap
            continue
        if path in before and original.read_bytes() == content:
            continue
        executable = path in before and bool(original.stat().st_mode & 0o111)
        changes[path] = FileChange(content, executable)
    for path in sorted(before - after):
        changes[path] = FileChange(None)
    if unreadable:
        raise UnpublishableChange(unreadable)
    return changes


def change_violations(
    changes: Mapping[str, FileChange], base_tree: Path, rules: WriteRules
) -> list[str]:
    """Return why a change may not be published: forbidden paths, oversized files, secrets.

    The same rules review phase 1 applies to the pull request, checked before anything is
    pushed: a branch on the base repository runs its CI before any review.
    """
    problems = changed_path_violations(changes, rules)
    for path, change in sorted(changes.items()):
        if change.content is None:
            continue
        if len(change.content) > rules.max_file_bytes:
            problems.append(
                f"{path}: {len(change.content)} bytes is over the limit of "
                f"{rules.max_file_bytes} bytes per file (paths.max_file_bytes)"
            )
            continue
        problems.extend(_leaks(path, change.content, base_tree))
    return problems


def base_bytes(base_tree: Path, path: str) -> bytes | None:
    """Return a file's bytes in the base tree, or None when the base has no regular file there.

    A link at any depth is never read through: the agent may have replaced a directory link of
    the repository (to /proc/self, say) with a directory of its own holding the same path.
    """
    try:
        return read_tree_file(base_tree, path, BASE_FILE_LIMIT)
    except PathError:
        return None


def _leaks(path: str, content: bytes, base_tree: Path) -> list[str]:
    """Return a reason for each credential on a line the change adds (known token formats)."""
    original = base_bytes(base_tree, path) or b""
    old = set(original.decode(errors="replace").splitlines())
    problems: list[str] = []
    for number, line in enumerate(content.decode(errors="replace").splitlines(), start=1):
        if line in old:
            continue
        for match in find_secrets(line, entropy=False):
            if is_leak(match):
                problems.append(
                    f"{path}:{number}: possible {match.description} added ({match.preview}); "
                    "a change that adds credentials is not published"
                )
    return problems


def unified_diff(changes: Mapping[str, FileChange], base_tree: Path) -> str:
    """Render changes as a unified diff (binary files named, not shown)."""
    parts: list[str] = []
    for path, change in sorted(changes.items()):
        original = base_bytes(base_tree, path)
        readable = original is not None
        old = original or b""
        new = change.content or b""
        try:
            old_lines = old.decode().splitlines(keepends=True)
            new_lines = new.decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            parts.append(f"Binary file {path} changed\n")
            continue
        parts.extend(
            difflib.unified_diff(
                old_lines,
                new_lines,
                fromfile=f"a/{path}" if readable else "/dev/null",
                tofile=f"b/{path}" if change.content is not None else "/dev/null",
            )
        )
    return "".join(parts)
