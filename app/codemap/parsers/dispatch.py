"""Pick the parser for a file's language, falling back to plain text when one fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.codemap.languages import Language
from app.codemap.parsers.go import summarize_go
from app.codemap.parsers.javascript import summarize_javascript
from app.codemap.parsers.markdown import summarize_markdown
from app.codemap.parsers.plain import summarize_plain
from app.codemap.parsers.python import parse_python
from app.codemap.parsers.rust import summarize_rust
from app.codemap.parsers.treesitter import ParserLoader, load_parser
from app.codemap.symbols import FileSummary

if TYPE_CHECKING:
    from tree_sitter import Node

_TREE_SUMMARIZERS: dict[str, Callable[[Node, bytes], FileSummary]] = {
    "javascript": summarize_javascript,
    "typescript": summarize_javascript,
    "tsx": summarize_javascript,
    "go": summarize_go,
    "rust": summarize_rust,
    "markdown": summarize_markdown,
}


def summarize(
    path: str, text: str, language: Language, loader: ParserLoader = load_parser
) -> FileSummary:
    """Summarize a file with its language's parser, or as plain text when that fails."""
    if language.parser == "python":
        try:
            return parse_python(path, text)
        except (SyntaxError, ValueError, RecursionError):
            return summarize_plain(text)
    summarizer = _TREE_SUMMARIZERS.get(language.parser)
    parser = loader(language.parser) if summarizer is not None else None
    if summarizer is None or parser is None:
        return summarize_plain(text)
    source = text.encode("utf-8")
    try:
        return summarizer(parser.parse(source).root_node, source)
    # A grammar from a different binding version can fail in many ways; the map must not.
    except Exception:
        return summarize_plain(text)
