"""Load tree-sitter grammars from tree-sitter-language-pack and walk their syntax trees."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from tree_sitter import Node, Parser
    from tree_sitter_language_pack import SupportedLanguage

# Given a grammar name, return a ready parser, or None when the grammar cannot be loaded.
ParserLoader = Callable[[str], "Parser | None"]


@cache
def load_parser(grammar: str) -> Parser | None:
    """Return a parser for a grammar, or None when the package or grammar is unavailable."""
    try:
        from tree_sitter_language_pack import get_parser

        return get_parser(cast("SupportedLanguage", grammar))
    # A missing package, an unknown grammar or a binary that fails to load all mean the
    # same thing here: map the file with the plain fallback instead.
    except Exception:
        return None


def text_of(node: Node | None) -> str:
    """Return a node's source text, decoded leniently."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def line_of(node: Node) -> int:
    """Return a node's 1-based starting line."""
    return node.start_point.row + 1


def head_text(node: Node, source: bytes, body_field: str = "body") -> str:
    """Return a declaration's text up to its body: its signature."""
    body = node.child_by_field_name(body_field)
    end = body.start_byte if body is not None else node.end_byte
    return source[node.start_byte : end].decode("utf-8", errors="replace").rstrip(" {=:\n")


def walk(root: Node) -> Iterator[Node]:
    """Yield every node under root in document order."""
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None:
            yield node
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while True:
            if not cursor.goto_parent():
                return
            if cursor.goto_next_sibling():
                break


def count_identifiers(root: Node, kinds: frozenset[str]) -> dict[str, int]:
    """Count the identifier leaves of the given kinds by name."""
    counts: Counter[str] = Counter(text_of(n) for n in walk(root) if n.type in kinds)
    return dict(counts)


def leading_comments(root: Node, kinds: frozenset[str]) -> list[str]:
    """Return the comments before the first declaration, in order."""
    comments: list[str] = []
    for child in root.children:
        if child.type not in kinds:
            break
        comments.append(text_of(child))
    return comments
