"""Unified diff parsing: files, hunks, line numbers, and the lines GitHub lets us comment on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reviewer.static.diff import (
    changed_lines,
    commentable_lines,
    first_commentable_line,
    parse_diff,
    removal_anchor,
)

MULTI_HUNK = (
    "\n".join(
        [
            "diff --git a/app/core.py b/app/core.py",
            "index 1111111..2222222 100644",
            "--- a/app/core.py",
            "+++ b/app/core.py",
            "@@ -1,4 +1,5 @@",
            " import os",
            "+import sys",
            " ",
            " ",
            " def main():",
            "@@ -20,7 +21,6 @@ def main():",
            "     first = 1",
            "     second = 2",
            "-    third = 3",
            "-    fourth = 4",
            "+    third = 33",
            "     fifth = 5",
            "     sixth = 6",
            "     seventh = 7",
            "@@ -40 +40,2 @@ def tail():",
            "-    return None",
            "+    return 1",
            "+-- not a header, an added line starting with two dashes",
            "diff --git a/docs/new.md b/docs/new.md",
            "new file mode 100644",
            "index 0000000..3333333",
            "--- /dev/null",
            "+++ b/docs/new.md",
            "@@ -0,0 +1,2 @@",
            "+# New",
            "+text",
            "\\ No newline at end of file",
            "diff --git a/old.txt b/old.txt",
            "deleted file mode 100644",
            "index 4444444..0000000",
            "--- a/old.txt",
            "+++ /dev/null",
            "@@ -1,2 +0,0 @@",
            "-gone",
            "-also gone",
        ]
    )
    + "\n"
)


def test_parses_files_statuses_and_hunks() -> None:
    files = parse_diff(MULTI_HUNK)

    assert [(f.old_path, f.new_path, f.status) for f in files] == [
        ("app/core.py", "app/core.py", "modified"),
        (None, "docs/new.md", "added"),
        ("old.txt", None, "deleted"),
    ]
    core = files[0]
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in core.hunks] == [
        (1, 4, 1, 5),
        (20, 7, 21, 6),
        (40, 1, 40, 2),
    ]
    assert core.hunks[1].section == "def main():"


def test_numbers_every_line_on_both_sides() -> None:
    core = parse_diff(MULTI_HUNK)[0]
    second = core.hunks[1]

    assert [(line.kind, line.old_line, line.new_line) for line in second.lines] == [
        ("context", 20, 21),
        ("context", 21, 22),
        ("removed", 22, None),
        ("removed", 23, None),
        ("added", None, 23),
        ("context", 24, 24),
        ("context", 25, 25),
        ("context", 26, 26),
    ]
    last = core.hunks[2]
    assert [line.text for line in last.lines if line.kind == "added"] == [
        "    return 1",
        "-- not a header, an added line starting with two dashes",
    ]


def test_commentable_lines_are_added_and_context_lines_of_every_hunk() -> None:
    assert commentable_lines(MULTI_HUNK) == {
        "app/core.py": {1, 2, 3, 4, 5, 21, 22, 23, 24, 25, 26, 40, 41},
        "docs/new.md": {1, 2},
    }


def test_changed_lines_are_added_lines_and_include_deleted_files() -> None:
    assert changed_lines(MULTI_HUNK) == {
        "app/core.py": {2, 23, 40, 41},
        "docs/new.md": {1, 2},
        "old.txt": set(),
    }


def test_removal_anchor_is_the_right_side_line_where_the_removal_was() -> None:
    files = parse_diff(MULTI_HUNK)
    second = files[0].hunks[1]

    assert removal_anchor(second, 2) == 23
    # A whole-file deletion has no right side at all.
    assert removal_anchor(files[2].hunks[0], 0) is None
    assert first_commentable_line(files[0]) == 2
    assert first_commentable_line(files[2]) is None


def test_plain_unified_diff_without_git_headers() -> None:
    text = (
        "--- a.txt\t2024-01-01 00:00:00\n+++ a.txt\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-x\n+y\n"
        "--- b.txt\n+++ b.txt\n@@ -3,2 +3,3 @@\n c\n+d\n e\n"
    )

    files = parse_diff(text)

    assert [(f.path, f.status) for f in files] == [("a.txt", "modified"), ("b.txt", "modified")]
    assert commentable_lines(files) == {"a.txt": {1}, "b.txt": {3, 4, 5}}


def test_blank_context_lines_stripped_of_their_space_still_count() -> None:
    text = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n"

    [file] = parse_diff(text)

    assert [(line.kind, line.new_line) for line in file.hunks[0].lines] == [
        ("context", 1),
        ("context", 2),
        ("removed", None),
        ("added", 3),
    ]


def _git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "core.quotepath=true", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout


def test_real_git_diff_numbers_match_the_files_on_both_sides(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "t@example.com")
    _git(tmp_path, "config", "user.name", "t")
    base = [f"line {n}" for n in range(1, 61)]
    (tmp_path / "long.txt").write_text("\n".join(base) + "\n")
    (tmp_path / "rename me.txt").write_text("same\ncontent\nhere\nfor\nrename\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    head = base[:]
    head[2] = "changed three"
    head.insert(30, "inserted after thirty")
    del head[50:53]
    head.append("appended")
    (tmp_path / "long.txt").write_text("\n".join(head) + "\n")
    (tmp_path / "rename me.txt").rename(tmp_path / "café renamed.txt")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x03")
    _git(tmp_path, "add", "-A")

    files = parse_diff(_git(tmp_path, "diff", "--cached", "-M"))

    by_path = {f.path: f for f in files}
    assert by_path["café renamed.txt"].status == "renamed"
    assert by_path["café renamed.txt"].old_path == "rename me.txt"
    assert by_path["gone.txt"].status == "deleted"
    assert by_path["blob.bin"].binary
    long = by_path["long.txt"]
    assert len(long.hunks) == 4
    for hunk in long.hunks:
        for line in hunk.lines:
            if line.new_line is not None:
                assert head[line.new_line - 1] == line.text
            if line.old_line is not None:
                assert base[line.old_line - 1] == line.text
    assert changed_lines(files)["long.txt"] == {3, 31, len(head)}
