"""What a worker changed: the sandbox's files compared with the base tree, as changes and a diff."""

from __future__ import annotations

import asyncio
import difflib
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.pathrules import PathError, first_matching_pattern
from app.sandbox import Sandbox, SandboxFileError
from app.sandbox.tree import walk_files
from workers.publish import FileChange

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


async def collect_changes(sandbox: Sandbox, base_tree: Path) -> dict[str, FileChange]:
    """Compare every file in the sandbox with the trusted base tree (not the sandbox's git).

    The base comes from the trusted side, so nothing the agent did inside the sandbox (its
    own commits, a rewritten .git) can hide a change.
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
        try:
            content = await sandbox.read_file(path)
        except (PathError, SandboxFileError) as error:
            unreadable.append(str(error))  # e.g. a symlink the agent pointed outside the checkout
            continue
        original = base_tree / path
        if path in before and original.read_bytes() == content:
            continue
        executable = path in before and bool(original.stat().st_mode & 0o111)
        changes[path] = FileChange(content, executable)
    for path in sorted(before - after):
        changes[path] = FileChange(None)
    if unreadable:
        raise UnpublishableChange(unreadable)
    return changes


def unified_diff(changes: Mapping[str, FileChange], base_tree: Path) -> str:
    """Render changes as a unified diff (binary files named, not shown)."""
    parts: list[str] = []
    for path, change in sorted(changes.items()):
        original = base_tree / path
        readable = original.is_file() and not original.is_symlink()
        old = original.read_bytes() if readable else b""
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
