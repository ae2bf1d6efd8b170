"""Build the map of a repository on disk: find, read and parse its files, then compose."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from app.codemap.compose import compose_map
from app.codemap.config import read_commands
from app.codemap.discover import list_files, read_source
from app.codemap.fit import TokenCounter
from app.codemap.languages import language_of
from app.codemap.parsers.dispatch import summarize
from app.codemap.parsers.treesitter import ParserLoader, load_parser
from app.codemap.symbols import SourceFile

DEFAULT_MAP_NAME = "CODEBASE_MAP.md"


def build_map(
    root: Path,
    budget: int | None = None,
    count_tokens: TokenCounter | None = None,
    *,
    exclude: Collection[str] = (DEFAULT_MAP_NAME,),
    loader: ParserLoader = load_parser,
) -> str:
    """Return the Markdown map of the repository at root.

    budget is in tokens (default: scaled to the repository's size, see tokens.py);
    count_tokens replaces the chars/4 estimate; exclude names root-relative POSIX paths to
    leave out, such as the map's own output file.
    """
    return compose_map(
        read_sources(root, exclude, loader), read_commands(root), budget, count_tokens
    )


def read_sources(
    root: Path, exclude: Collection[str] = (), loader: ParserLoader = load_parser
) -> list[SourceFile]:
    """Read and parse every file the map covers under root."""
    sources: list[SourceFile] = []
    for path in list_files(root, exclude):
        text = read_source(root, path)
        if text is None:
            continue
        language = language_of(path)
        sources.append(SourceFile(path, language.name, summarize(path, text, language, loader)))
    return sources
