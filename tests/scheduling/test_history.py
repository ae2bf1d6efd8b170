"""Parsing commit histories: the benchmark's JSONL export and `git log` output."""

from __future__ import annotations

import pytest

from app.scheduling import parse_commit_lines, parse_git_log
from app.scheduling.history import FIELD_SEPARATOR, RECORD_SEPARATOR, HistoryFormatError


def test_jsonl_lines_become_commits_in_file_order() -> None:
    lines = [
        '{"sha": "a1", "time": "2024-01-01T00:00:00Z", "files": ["README.md"], "added": 3, '
        '"deleted": 1}\n',
        "\n",
        '{"sha": "b2", "files": ["./app/x.py", "app/y.py"], "added": 10, "deleted": 0}\n',
    ]
    first, second = parse_commit_lines(lines)
    assert (first.sha, first.files, first.lines_changed) == ("a1", frozenset({"README.md"}), 4)
    assert second.files == frozenset({"app/x.py", "app/y.py"})
    assert second.time == ""


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"files": "README.md"}', "line 2: 'files' must be an array of strings"),
        ('{"files": [], "added": "3"}', "line 2: 'added' and 'deleted' must be integers"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_malformed_lines_are_reported_with_their_number(line: str, problem: str) -> None:
    with pytest.raises(HistoryFormatError, match=problem):
        parse_commit_lines(['{"files": ["a"]}', line])


def test_git_log_numstat_output_is_parsed() -> None:
    text = (
        f"{RECORD_SEPARATOR}abc{FIELD_SEPARATOR}2024-01-02T00:00:00+00:00\n\n"
        "3\t1\tapp/x.py\n-\t-\tlogo.png\n"
        f"{RECORD_SEPARATOR}def{FIELD_SEPARATOR}2024-01-01T00:00:00+00:00\n\n"
        "5\t0\tREADME.md\n"
    )
    newest, oldest = parse_git_log(text)
    assert newest.sha == "abc"
    assert newest.files == frozenset({"app/x.py", "logo.png"})
    assert (newest.added, newest.deleted) == (3, 1)
    assert oldest.files == frozenset({"README.md"})
