"""Read Markdown syntax trees: the opening paragraph, the headings and relative links."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.codemap.parsers.text import one_line, purpose_from_text, signature
from app.codemap.parsers.treesitter import line_of, text_of, walk
from app.codemap.symbols import FileSummary, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node

# Deeper headings are detail a map of the repository does not need.
MAX_HEADING_LEVEL = 3
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?")
# Paragraphs that are badges, images or raw HTML say nothing about the document.
_DECORATION_PREFIXES = ("[![", "![", "<")


def summarize_markdown(root: Node, source: bytes) -> FileSummary:
    """Summarize a Markdown syntax tree."""
    headings: list[Symbol] = []
    first_paragraph = ""
    for node in walk(root):
        if node.type in ("atx_heading", "setext_heading"):
            heading = _heading(node)
            if heading is not None:
                headings.append(heading)
        elif node.type == "paragraph" and not first_paragraph and _top_level(node):
            text = text_of(node).strip()
            if not text.startswith(_DECORATION_PREFIXES):
                first_paragraph = text
    purpose = purpose_from_text(first_paragraph) if first_paragraph else ""
    if not purpose and headings:
        purpose = one_line(headings[0].name, 120)
    return FileSummary(
        purpose=purpose,
        symbols=tuple(headings),
        imports=tuple(_relative_links(source.decode("utf-8", errors="replace"))),
    )


def _top_level(node: Node) -> bool:
    # Paragraphs inside lists, quotes and tables are detail, not the document's opening.
    return node.parent is not None and node.parent.type in ("section", "document")


def _heading(node: Node) -> Symbol | None:
    level = 0
    for child in node.children:
        if child.type.startswith("atx_h") and child.type.endswith("_marker"):
            level = int(child.type[len("atx_h")])
        elif child.type == "setext_h1_underline":
            level = 1
        elif child.type == "setext_h2_underline":
            level = 2
    title = one_line(text_of(node.child_by_field_name("heading_content")), 120)
    if not title or level > MAX_HEADING_LEVEL:
        return None
    return Symbol(title, "heading", signature(f"{'#' * level} {title}"), line_of(node))


def _relative_links(text: str) -> list[str]:
    links: list[str] = []
    for match in _LINK_TARGET.finditer(text):
        target = match.group(1).split("#", 1)[0]
        if target and "://" not in target and not target.startswith("mailto:"):
            links.append(target)
    return links
