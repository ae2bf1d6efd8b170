"""Parse unified diffs (`git diff base...head`) into files, hunks and numbered lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

LineKind = Literal["added", "removed", "context"]
FileStatus = Literal["added", "deleted", "modified", "renamed", "copied"]

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_OCTAL = re.compile(r"[0-7]{1,3}")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk with its 1-based number on each side (None on the side it lacks)."""

    kind: LineKind
    text: str
    old_line: int | None
    new_line: int | None


@dataclass(frozen=True)
class Hunk:
    """One `@@ -a,b +c,d @@` block."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True)
class FileDiff:
    """The changes to one file; `old_path` is None for a new file, `new_path` for a deleted one."""

    old_path: str | None
    new_path: str | None
    status: FileStatus
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False

    @property
    def path(self) -> str:
        """Return the path the file has after the change (before it, if it was deleted)."""
        return self.new_path or self.old_path or ""

    def added(self) -> list[DiffLine]:
        """Return the added lines in order."""
        return [line for hunk in self.hunks for line in hunk.lines if line.kind == "added"]


def parse_diff(text: str) -> list[FileDiff]:
    """Parse unified diff text (git's extended headers included) into per-file diffs."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    files: list[FileDiff] = []
    current: _FileBuilder | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("diff --git "):
            if current:
                files.append(current.build())
            current = _FileBuilder.from_git_header(line[len("diff --git ") :])
        elif line.startswith("--- ") and _at(lines, index + 1).startswith("+++ "):
            # A plain `diff -u` has no `diff --git` line: `---` then starts the next file.
            if current is None or current.saw_file_lines:
                if current:
                    files.append(current.build())
                current = _FileBuilder()
            current.old_path = _diff_path(line[4:])
            current.new_path = _diff_path(lines[index + 1][4:])
            current.saw_file_lines = True
            index += 1
        elif line.startswith("@@ ") and current is not None:
            hunk, index = _parse_hunk(lines, index)
            if hunk is not None:
                current.hunks.append(hunk)
                continue
        elif current is not None:
            current.read_extended_header(line)
        index += 1
    if current:
        files.append(current.build())
    return files


def commentable_lines(diff: str | Iterable[FileDiff]) -> dict[str, set[int]]:
    """Return, per file, the RIGHT-side lines GitHub accepts review comments on."""
    result: dict[str, set[int]] = {}
    for file in _files(diff):
        if file.new_path is None:
            continue
        numbers = {
            line.new_line for hunk in file.hunks for line in hunk.lines if line.new_line is not None
        }
        if numbers:
            result[file.new_path] = numbers
    return result


def changed_lines(diff: str | Iterable[FileDiff]) -> dict[str, set[int]]:
    """Return, per changed file, the new-file numbers of its added lines (possibly none)."""
    return {
        file.path: {line.new_line for line in file.added() if line.new_line is not None}
        for file in _files(diff)
    }


def first_commentable_line(file: FileDiff) -> int | None:
    """Return the first added line, else the first RIGHT-side line, else None."""
    added = file.added()
    if added:
        return added[0].new_line
    for hunk in file.hunks:
        for line in hunk.lines:
            if line.new_line is not None:
                return line.new_line
    return None


def removal_anchor(hunk: Hunk, index: int) -> int | None:
    """Return the RIGHT-side line nearest to the removed line `hunk.lines[index]`."""
    # GitHub comments sit on RIGHT-side lines; a removal is best shown next to where it was.
    for line in hunk.lines[index:]:
        if line.new_line is not None:
            return line.new_line
    for line in reversed(hunk.lines[:index]):
        if line.new_line is not None:
            return line.new_line
    return None


def _files(diff: str | Iterable[FileDiff]) -> Iterable[FileDiff]:
    return parse_diff(diff) if isinstance(diff, str) else diff


def _at(lines: list[str], index: int) -> str:
    return lines[index] if index < len(lines) else ""


def _parse_hunk(lines: list[str], index: int) -> tuple[Hunk | None, int]:
    """Parse the hunk starting at `lines[index]`; return it and the index after it."""
    header = _HUNK_HEADER.match(lines[index])
    if header is None:
        return None, index
    old_start, new_start = int(header[1]), int(header[3])
    old_count = int(header[2]) if header[2] is not None else 1
    new_count = int(header[4]) if header[4] is not None else 1
    old_left, new_left = old_count, new_count
    old_line, new_line = old_start, new_start
    body: list[DiffLine] = []
    index += 1
    # The counts, not the line prefixes, say where a hunk ends: a removed line that reads
    # "-- x" must not be mistaken for the next file's `--- a/...` header.
    while index < len(lines) and (old_left > 0 or new_left > 0):
        line = lines[index]
        marker, text = line[:1], line[1:]
        if marker == "+" and new_left > 0:
            body.append(DiffLine("added", text, None, new_line))
            new_line, new_left = new_line + 1, new_left - 1
        elif marker == "-" and old_left > 0:
            body.append(DiffLine("removed", text, old_line, None))
            old_line, old_left = old_line + 1, old_left - 1
        elif marker in (" ", "") and old_left > 0 and new_left > 0:
            # Some tools strip the space from blank context lines, leaving an empty line.
            body.append(DiffLine("context", text, old_line, new_line))
            old_line, new_line = old_line + 1, new_line + 1
            old_left, new_left = old_left - 1, new_left - 1
        elif marker != "\\":  # "\ No newline at end of file" belongs to the previous line.
            break
        index += 1
    return Hunk(old_start, old_count, new_start, new_count, header[5], tuple(body)), index


@dataclass
class _FileBuilder:
    old_path: str | None = None
    new_path: str | None = None
    status: FileStatus | None = None
    binary: bool = False
    saw_file_lines: bool = False
    hunks: list[Hunk] = field(default_factory=list)

    @classmethod
    def from_git_header(cls, rest: str) -> _FileBuilder:
        old, new = _split_git_header(rest)
        return cls(old_path=old, new_path=new)

    def read_extended_header(self, line: str) -> None:
        if line.startswith("new file mode"):
            self.status, self.old_path = "added", None
        elif line.startswith("deleted file mode"):
            self.status, self.new_path = "deleted", None
        elif line.startswith(("rename from ", "copy from ")):
            self.old_path = _unquote(line.split(" ", 2)[2])
        elif line.startswith(("rename to ", "copy to ")):
            self.new_path = _unquote(line.split(" ", 2)[2])
            self.status = "renamed" if line.startswith("rename") else "copied"
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            self.binary = True

    def build(self) -> FileDiff:
        status = self.status
        if status is None:
            if self.old_path is None:
                status = "added"
            elif self.new_path is None:
                status = "deleted"
            else:
                status = "modified"
        return FileDiff(self.old_path, self.new_path, status, tuple(self.hunks), self.binary)


def _diff_path(raw: str) -> str | None:
    """Return the path of a `---`/`+++` line without its a/ or b/ prefix; None for /dev/null."""
    # Plain diffs may follow the name with a tab and a timestamp.
    name = raw.split("\t", 1)[0] if not raw.startswith('"') else raw
    name = _unquote(name.rstrip())
    if name == "/dev/null":
        return None
    return _strip_prefix(name)


def _strip_prefix(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


def _split_git_header(rest: str) -> tuple[str | None, str | None]:
    """Split `a/x b/y` from a `diff --git` line; quoted names may contain spaces."""
    if rest.startswith('"'):
        end = _closing_quote(rest)
        first, second = rest[: end + 1], rest[end + 1 :].strip()
        return _strip_prefix(_unquote(first)), _strip_prefix(_unquote(second))
    if rest.endswith('"') and ' "' in rest:
        first, second = rest.split(' "', 1)
        return _strip_prefix(first), _strip_prefix(_unquote('"' + second))
    # Unquoted names may contain spaces, but without a rename both halves are the same name.
    half = (len(rest) - 5) // 2
    name = rest[2 : 2 + half]
    if rest == f"a/{name} b/{name}":
        return name, name
    first, _, second = rest.partition(" b/")
    return _strip_prefix(first), second or None


def _closing_quote(text: str) -> int:
    index = 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index
        index += 1
    return len(text) - 1


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of unusual path names (`"a/caf\\303\\251"` → `a/café`)."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, index = name[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            octal = _OCTAL.match(body, index + 1)
            if octal:
                out.append(int(octal[0], 8) & 0xFF)
                index = octal.end()
                continue
            escaped = body[index + 1]
            out.append(_C_ESCAPES.get(escaped, ord(escaped)))
            index += 2
            continue
        out.extend(char.encode())
        index += 1
    return out.decode("utf-8", "replace")
