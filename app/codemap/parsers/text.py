"""Shorten docstrings, comments and declarations to the one line the map shows."""

from __future__ import annotations

import re

MAX_PURPOSE_CHARS = 120
MAX_SIGNATURE_CHARS = 120

# Comment lines that are licences or tool directives, not a description of the file.
_BOILERPLATE = (
    "Copyright",
    "(c)",
    "SPDX-License-Identifier",
    "eslint-",
    "@ts-",
    "prettier-",
    "go:build",
    "+build",
)
_SPACES = re.compile(r"\s+")
# A sentence ends at a full stop followed by a space; "e.g. x" and "v1.2" stay whole.
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\.\s")


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace and cut the text to at most limit characters."""
    flat = _SPACES.sub(" ", text).strip().replace("`", "'")
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def purpose_from_text(text: str) -> str:
    """Return the first sentence of the first paragraph of a docstring or comment."""
    paragraph = text.strip().split("\n\n", 1)[0]
    flat = _SPACES.sub(" ", paragraph).strip()
    match = _SENTENCE_END.search(flat)
    if match is not None:
        flat = flat[: match.start() + 1]
    return one_line(flat, MAX_PURPOSE_CHARS)


def signature(text: str) -> str:
    """Return a declaration as one short line, without a trailing brace or semicolon."""
    return one_line(text.rstrip(" \t\n;{"), MAX_SIGNATURE_CHARS)


def defines_purpose(names: list[str]) -> str:
    """Describe a file without a docstring by its first definitions."""
    if not names:
        return ""
    shown = ", ".join(names[:3])
    return f"Defines {shown}{', …' if len(names) > 3 else ''}."


def strip_comment_markers(lines: list[str]) -> str:
    """Join comment lines with their markers (#, //, /*, *, --) and boilerplate removed."""
    cleaned: list[str] = []
    for raw in "\n".join(lines).splitlines():
        line = raw.strip()
        for marker in ("/**", "/*", "*/", "//!", "///", "//", "#!", "##", "#", "--", ";;", "*"):
            if line.startswith(marker):
                line = line[len(marker) :]
                break
        line = line.removesuffix("*/").strip()
        if not line.startswith(_BOILERPLATE):
            cleaned.append(line)
    return "\n".join(cleaned).strip()
