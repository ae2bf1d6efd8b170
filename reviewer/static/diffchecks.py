"""Checks on the diff itself: secrets, protected paths, conflict markers, sizes, lost tests."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.pathrules import protected_globs
from app.secretscan import find_secrets, is_leak
from reviewer.static.diff import FileDiff, first_commentable_line, parse_diff
from reviewer.static.findings import DIFF_TOOL, Finding, Severity
from reviewer.static.paths import any_glob_matches, is_generated_blob
from reviewer.static.testloss import check_deleted_tests

_CONFLICT_SIDE = re.compile(r"^(?:<{7}|>{7}|\|{7})(?: |$)")
_CONFLICT_MIDDLE = re.compile(r"^={7}$")


def check_diff(
    diff: str | Sequence[FileDiff],
    *,
    protected: Sequence[str],
    max_file_bytes: int,
    sizes: Mapping[str, int] | None = None,
) -> list[Finding]:
    """Run every diff check; `sizes` maps changed paths to their size in the merged tree."""
    files = parse_diff(diff) if isinstance(diff, str) else list(diff)
    return [
        *check_secrets(files),
        *check_protected_paths(files, protected),
        *check_conflict_markers(files),
        *check_file_sizes(files, max_file_bytes, sizes or {}),
        *check_deleted_tests(files),
    ]


def check_secrets(files: Sequence[FileDiff]) -> list[Finding]:
    """Flag credentials on added lines; lockfiles and minified files skip the entropy rule."""
    findings = []
    for file in files:
        entropy = not is_generated_blob(file.path)
        for line in file.added():
            for match in find_secrets(line.text, entropy=entropy):
                # Known token formats are leaks; high entropy alone is a lead for the reviewer.
                severity: Severity = "error" if is_leak(match) else "warning"
                findings.append(
                    Finding(
                        tool=DIFF_TOOL,
                        rule=match.rule,
                        severity=severity,
                        path=file.path,
                        line=line.new_line,
                        column=match.column,
                        message=f"Possible {match.description} added: {match.preview}",
                    )
                )
    return findings


def check_protected_paths(files: Sequence[FileDiff], protected: Sequence[str]) -> list[Finding]:
    """Flag changes to protected files (either side of a rename).

    The built-in list (CI and runner configuration, the policy file) always applies with the
    policy's own globs, as it does for the worker: `protected = []` cannot turn it off.
    """
    findings = []
    patterns = protected_globs(protected)
    for file in files:
        touched = [path for path in (file.old_path, file.new_path) if path]
        hits = [path for path in dict.fromkeys(touched) if any_glob_matches(patterns, path)]
        if hits:
            findings.append(
                Finding(
                    tool=DIFF_TOOL,
                    rule="protected-path",
                    severity="error",
                    path=file.path,
                    line=first_commentable_line(file),
                    column=None,
                    message=f"Protected path {file.status}: {', '.join(hits)} "
                    "(built in, or paths.protected in .townhall.toml)",
                )
            )
    return findings


def check_conflict_markers(files: Sequence[FileDiff]) -> list[Finding]:
    """Flag merge conflict markers added at the start of a line."""
    findings = []
    for file in files:
        added = [(line, line.text.rstrip("\r")) for line in file.added()]
        sides = [line for line, text in added if _CONFLICT_SIDE.match(text)]
        # A bare "=======" is also a reStructuredText/Markdown underline, so it only counts
        # next to a real conflict side marker in the same file.
        middles = [line for line, text in added if _CONFLICT_MIDDLE.match(text)] if sides else []
        for line in sorted([*sides, *middles], key=lambda marker: marker.new_line or 0):
            findings.append(
                Finding(
                    tool=DIFF_TOOL,
                    rule="conflict-marker",
                    severity="error",
                    path=file.path,
                    line=line.new_line,
                    column=1,
                    message=f"Merge conflict marker added: {line.text[:7]}",
                )
            )
    return findings


def check_file_sizes(
    files: Sequence[FileDiff], max_file_bytes: int, sizes: Mapping[str, int]
) -> list[Finding]:
    """Flag added or changed files larger than `max_file_bytes`."""
    findings = []
    for file in files:
        if file.new_path is None:
            continue
        size = sizes.get(file.new_path)
        if size is None and file.status == "added" and not file.binary:
            # A new text file's whole content is in the diff.
            size = sum(len(line.text.encode()) + 1 for line in file.added())
        if size is not None and size > max_file_bytes:
            findings.append(
                Finding(
                    tool=DIFF_TOOL,
                    rule="file-too-large",
                    severity="error",
                    path=file.new_path,
                    line=first_commentable_line(file),
                    column=None,
                    message=f"{file.new_path} is {size:,} bytes, over the {max_file_bytes:,} "
                    "byte limit (paths.max_file_bytes in .townhall.toml)",
                )
            )
    return findings
