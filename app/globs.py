"""Path globs as policies write them, matched one way everywhere (workers, reviewer, scheduler).

`*` and `?` stay within one path segment, `[...]` is a character class, `**` spans any number
of segments (`a/**` is everything under `a`, `**/x` is `x` at any depth, top level included),
a trailing `/` means the whole directory, and patterns are anchored at the repository root.
"""

from __future__ import annotations

import functools
import re


def _translate_segment(segment: str) -> str:
    """Return a regex for one path segment: `*` and `?` never cross a `/`."""
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (close := segment.find("]", index + 2)) != -1:
            body = segment[index + 1 : close]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[{'^/' if negate else ''}{body}]")
            index = close
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a glob to a regex matching whole repository-relative paths."""
    glob = pattern.strip().lstrip("/")
    while glob.startswith("./"):
        glob = glob[2:]
    if glob.endswith("/"):
        glob += "**"
    segments = glob.split("/")
    out: list[str] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "**":
            # A trailing `**` matches everything below; elsewhere zero or more directories.
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(_translate_segment(segment) + ("" if last else "/"))
    return re.compile("".join(out), re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """Return whether repository-relative `path` matches `pattern`."""
    cleaned = path.replace("\\", "/").lstrip("/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    return compile_glob(pattern).fullmatch(cleaned) is not None
