"""Path globs as the policy writes them: `*` within a segment, `**` across segments."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache

_WILDCARDS = frozenset("*?[")


def normalize_path(path: str) -> str:
    """Return a repository path without a leading `./` or `/`, with forward slashes."""
    cleaned = path.replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    return cleaned.lstrip("/")


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def glob_matches(pattern: str, path: str) -> bool:
    """Return whether `path` matches `pattern` (`**/x` also matches a top-level `x`)."""
    return _compile(normalize_path(pattern)).fullmatch(normalize_path(path)) is not None


def is_glob(text: str) -> bool:
    """Return whether `text` contains a wildcard, i.e. is a pattern rather than a path."""
    return any(char in _WILDCARDS for char in text)


def _segments_may_match(left: str, right: str) -> bool:
    if is_glob(left) and is_glob(right):
        # Two wildcard segments almost always share some name; assuming so is the safe side.
        return True
    if is_glob(left):
        return fnmatchcase(right, left)
    if is_glob(right):
        return fnmatchcase(left, right)
    return left == right


def globs_may_overlap(left: str, right: str) -> bool:
    """Return whether some path could match both globs; errs towards yes, never towards no."""
    left_parts = normalize_path(left).split("/")
    right_parts = normalize_path(right).split("/")
    for left_part, right_part in zip(left_parts, right_parts, strict=False):
        if "**" in left_part or "**" in right_part:
            # Past a `**` either side can absorb any number of segments.
            return True
        if not _segments_may_match(left_part, right_part):
            return False
    return len(left_parts) == len(right_parts)
