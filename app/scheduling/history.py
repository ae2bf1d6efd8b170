"""Commits as the scheduler sees them, and parsers for `git log` output and JSONL exports."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from app.scheduling.globs import normalize_path

# `git log` output is split on these control characters, which never occur in paths or dates.
RECORD_SEPARATOR = "\x1e"
FIELD_SEPARATOR = "\x1f"
GIT_LOG_FORMAT = f"{RECORD_SEPARATOR}%H{FIELD_SEPARATOR}%aI"


@dataclass(frozen=True)
class Commit:
    """One commit: which files it touched and how many lines it changed."""

    sha: str
    files: frozenset[str]
    time: str = ""
    added: int = 0
    deleted: int = 0

    @property
    def lines_changed(self) -> int:
        """Return lines added plus lines deleted."""
        return self.added + self.deleted


class HistoryFormatError(ValueError):
    """A history export is malformed; the message names the line."""


def _count(text: str) -> int:
    # Binary files show `-` in numstat; they change no lines.
    return int(text) if text.isdigit() else 0


def parse_git_log(text: str) -> list[Commit]:
    """Parse `git log --numstat --no-renames --format=GIT_LOG_FORMAT` output, newest first."""
    commits: list[Commit] = []
    for record in text.split(RECORD_SEPARATOR)[1:]:
        header, _, body = record.partition("\n")
        sha, _, time = header.partition(FIELD_SEPARATOR)
        files: set[str] = set()
        added = deleted = 0
        for line in body.splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3:
                continue
            added += _count(parts[0])
            deleted += _count(parts[1])
            files.add(normalize_path(parts[2]))
        commits.append(Commit(sha.strip(), frozenset(files), time.strip(), added, deleted))
    return commits


def _commit_from_json(data: object, line_number: int) -> Commit:
    if not isinstance(data, dict):
        raise HistoryFormatError(f"line {line_number}: expected a JSON object")
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(item, str) for item in files):
        raise HistoryFormatError(f"line {line_number}: 'files' must be an array of strings")
    counts = [data.get(key, 0) for key in ("added", "deleted")]
    if not all(isinstance(count, int) and not isinstance(count, bool) for count in counts):
        raise HistoryFormatError(f"line {line_number}: 'added' and 'deleted' must be integers")
    return Commit(
        sha=str(data.get("sha", f"line-{line_number}")),
        files=frozenset(normalize_path(item) for item in files),
        time=str(data.get("time", "")),
        added=counts[0],
        deleted=counts[1],
    )


def parse_commit_lines(lines: Iterable[str]) -> list[Commit]:
    """Parse JSONL lines `{"sha", "time", "files", "added", "deleted"}` in file order."""
    commits: list[Commit] = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise HistoryFormatError(f"line {line_number}: not JSON ({error.msg})") from error
        commits.append(_commit_from_json(data, line_number))
    return commits
