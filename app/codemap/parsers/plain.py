"""Read any text file without a grammar: a leading comment and declaration-like lines."""

from __future__ import annotations

import re
from collections import Counter

from app.codemap.parsers.text import purpose_from_text, signature, strip_comment_markers
from app.codemap.symbols import FileSummary, Symbol

_COMMENT_PREFIXES = ("#", "//", "/*", "*", "--", ";;", "%", "'")
_DIRECTIVE_PREFIXES = ("#!", "# -*-", "#include", "#define", "#import", "#pragma")
# Keywords that open a definition in many languages (def, fn, func, sub, proc, ...).
_DEFINITION = re.compile(
    r"^\s*(?:(?:pub|export|public|private|protected|static|async|abstract|final)\s+)*"
    r"(?P<kind>def|class|function|fn|func|sub|proc|module|struct|interface|trait|object)"
    r"\s+(?P<name>[A-Za-z_][\w.]*(?:::[A-Za-z_]\w*)*)"
)
_WORD = re.compile(r"[A-Za-z_]\w*")
MAX_PLAIN_SYMBOLS = 40


def summarize_plain(text: str) -> FileSummary:
    """Summarize a file of an unknown language from its text alone."""
    symbols = [
        Symbol(m["name"], "class" if m["kind"] == "class" else "function", _head(line), n)
        for n, line in enumerate(text.splitlines(), start=1)
        if (m := _DEFINITION.match(line)) is not None
    ][:MAX_PLAIN_SYMBOLS]
    comment = _leading_comment(text)
    # Words count as references only in files that look like code: in prose and config
    # they would link every file that says "test" or "run" to whatever defines it.
    references = dict(Counter(_WORD.findall(text))) if symbols else {}
    return FileSummary(
        purpose=purpose_from_text(comment) if comment else "",
        symbols=tuple(symbols),
        references=references,
    )


def _head(line: str) -> str:
    return signature(line.split("{", 1)[0])


def _leading_comment(text: str) -> str:
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line and not lines:
            continue
        if line.startswith(_DIRECTIVE_PREFIXES) and not lines:
            continue
        if not line.startswith(_COMMENT_PREFIXES):
            break
        lines.append(line)
    return strip_comment_markers(lines)
