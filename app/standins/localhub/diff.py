"""Parse `git diff` output into per-file entries and answer which lines a review may target."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Hunk:
    """One `@@` hunk: its ranges and its lines (header included) as GitHub's patch shows them."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str] = field(default_factory=list)


@dataclass
class FileDiff:
    """The change to one file between two commits."""

    filename: str
    status: str
    previous_filename: str | None = None
    blob_sha: str | None = None
    binary: bool = False
    additions: int = 0
    deletions: int = 0
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def patch(self) -> str:
        """Return the hunks as GitHub's `patch` field has them."""
        return "\n".join(line for hunk in self.hunks for line in hunk.lines)


def _strip_prefix(path: str) -> str:
    return path[2:] if path[:2] in ("a/", "b/") else path


def parse_diff(text: str) -> list[FileDiff]:
    """Split a unified diff (`git diff --full-index -M`) into FileDiff records."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    for line in text.splitlines():
        if line.startswith("diff --git "):
            names = line[len("diff --git ") :]
            half = len(names) // 2
            current = FileDiff(filename=_strip_prefix(names[half + 1 :]), status="modified")
            files.append(current)
            continue
        if current is None:
            continue
        if current.hunks and line[:1] in (" ", "+", "-", "\\"):
            current.hunks[-1].lines.append(line)
            if line.startswith("+"):
                current.additions += 1
            elif line.startswith("-"):
                current.deletions += 1
            continue
        match = _HUNK.match(line)
        if match:
            old_start, old_count, new_start, new_count = match.groups()
            current.hunks.append(
                Hunk(
                    int(old_start),
                    int(old_count) if old_count is not None else 1,
                    int(new_start),
                    int(new_count) if new_count is not None else 1,
                    [line],
                )
            )
        elif line.startswith("new file mode"):
            current.status = "added"
        elif line.startswith("deleted file mode"):
            current.status = "removed"
        elif line.startswith("rename from "):
            current.status = "renamed"
            current.previous_filename = line[len("rename from ") :]
        elif line.startswith("rename to "):
            current.filename = line[len("rename to ") :]
        elif line.startswith("index "):
            shas = line.split()[1]
            current.blob_sha = shas.split("..")[1]
        elif line.startswith("+++ ") and line != "+++ /dev/null":
            current.filename = _strip_prefix(line[4:])
        elif line.startswith("Binary files "):
            current.binary = True
    return files


def line_in_diff(diff: FileDiff, line: int, side: str) -> bool:
    """Tell whether `line` on `side` (LEFT = old file, RIGHT = new file) lies in a hunk."""
    for hunk in diff.hunks:
        if side == "LEFT" and hunk.old_start <= line < hunk.old_start + hunk.old_count:
            return True
        if side == "RIGHT" and hunk.new_start <= line < hunk.new_start + hunk.new_count:
            return True
    return False


def diff_hunk_for(diff: FileDiff, line: int, side: str) -> str:
    """Return the hunk text up to and including `line`, as GitHub's `diff_hunk` does."""
    for hunk in diff.hunks:
        old_line, new_line = hunk.old_start, hunk.new_start
        for index, text in enumerate(hunk.lines[1:], start=1):
            at_old, at_new = old_line, new_line
            if text.startswith("-"):
                old_line += 1
            elif text.startswith("+"):
                new_line += 1
            elif not text.startswith("\\"):
                old_line += 1
                new_line += 1
            hit_left = side == "LEFT" and not text.startswith("+") and at_old == line
            hit_right = side == "RIGHT" and not text.startswith("-") and at_new == line
            if hit_left or hit_right:
                return "\n".join(hunk.lines[: index + 1])
    return diff.hunks[0].lines[0] if diff.hunks else ""


def position_to_line(diff: FileDiff, position: int) -> tuple[int, str] | None:
    """Map a legacy diff `position` (1 = first line after the first @@) to (line, side)."""
    counter = 0
    for hunk_index, hunk in enumerate(diff.hunks):
        old_line, new_line = hunk.old_start, hunk.new_start
        # Each later hunk header occupies a position of its own.
        if hunk_index > 0:
            counter += 1
        for text in hunk.lines[1:]:
            counter += 1
            if counter == position:
                if text.startswith("-"):
                    return old_line, "LEFT"
                return new_line, "RIGHT"
            if text.startswith("-"):
                old_line += 1
            elif text.startswith("+"):
                new_line += 1
            elif not text.startswith("\\"):
                old_line += 1
                new_line += 1
    return None


def line_to_position(diff: FileDiff, line: int, side: str) -> int | None:
    """Map (line, side) to the legacy diff `position` GitHub still reports on comments."""
    counter = 0
    for hunk_index, hunk in enumerate(diff.hunks):
        old_line, new_line = hunk.old_start, hunk.new_start
        if hunk_index > 0:
            counter += 1
        for text in hunk.lines[1:]:
            counter += 1
            removed, added = text.startswith("-"), text.startswith("+")
            if side == "LEFT" and not added and old_line == line:
                return counter
            if side == "RIGHT" and not removed and new_line == line:
                return counter
            if removed:
                old_line += 1
            elif added:
                new_line += 1
            elif not text.startswith("\\"):
                old_line += 1
                new_line += 1
    return None
