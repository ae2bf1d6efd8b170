"""Path globs as the policy writes them: `*` within a segment, `**` across segments."""

from __future__ import annotations

from fnmatch import fnmatchcase

from app.globs import glob_match

_WILDCARDS = frozenset("*?[")


def normalize_path(path: str) -> str:
    """Return a repository path without a leading `./` or `/`, with forward slashes."""
    cleaned = path.replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    return cleaned.lstrip("/")


def glob_matches(pattern: str, path: str) -> bool:
    """Return whether `path` matches `pattern` (`**/x` also matches a top-level `x`)."""
    return glob_match(normalize_path(pattern), normalize_path(path))


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
