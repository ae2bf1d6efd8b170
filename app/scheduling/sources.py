"""Read commit history from disk: a real git repository, or a JSONL export (the only I/O here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.scheduling.history import GIT_LOG_FORMAT, Commit, parse_commit_lines, parse_git_log


class GitHistoryError(RuntimeError):
    """`git log` failed; the message carries git's own explanation."""


def read_git_history(
    repo: Path,
    *,
    max_commits: int = 1000,
    max_files: int = 100,
    revision: str = "HEAD",
    timeout: float = 60.0,
) -> list[Commit]:
    """Return up to `max_commits` recent non-merge commits of `repo`, oldest first.

    Commits touching more than `max_files` files (vendoring, mass renames, reformatting) are
    dropped: they say nothing about which files change together.
    """
    command = [
        "git",
        "-c",
        "core.quotePath=off",
        "-C",
        str(repo),
        "log",
        "--no-merges",
        "--no-renames",
        "--numstat",
        f"--max-count={max_commits}",
        f"--format={GIT_LOG_FORMAT}",
        revision,
        "--",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise GitHistoryError(f"git log in {repo} failed: {result.stderr.strip()}")
    commits = parse_git_log(result.stdout)
    commits.reverse()
    return [commit for commit in commits if 0 < len(commit.files) <= max_files]


def load_commit_file(path: Path) -> list[Commit]:
    """Return the commits of a JSONL history export, in file order."""
    with path.open(encoding="utf-8") as lines:
        return parse_commit_lines(lines)
