"""Rank files by PageRank over the reference graph, and symbols by who uses them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from app.codemap.graph import ReferenceGraph, short_name
from app.codemap.pagerank import pagerank
from app.codemap.symbols import SourceFile

# A symbol is named by its file and its position in that file's summary.
SymbolKey = tuple[str, int]

# A root README is where a newcomer starts, though code never refers to it.
README_PRIOR = 3.0
# Private names used elsewhere are mostly tests reaching in, not the file's interface.
PRIVATE_FACTOR = 0.25
# Lower is more important when usage ties: types first, then functions, then detail.
KIND_PRIORITY = {
    "class": 0,
    "struct": 0,
    "trait": 0,
    "interface": 0,
    "enum": 1,
    "type": 1,
    "function": 1,
    "heading": 2,
    "module": 2,
    "macro": 2,
    "method": 3,
    "constant": 3,
}


@dataclass(frozen=True, slots=True)
class Ranking:
    """Files and symbols, each listed from least to most important."""

    files: tuple[str, ...]
    symbols: tuple[SymbolKey, ...]


def rank(files: Sequence[SourceFile], graph: ReferenceGraph) -> Ranking:
    """Order files and symbols from least to most important."""
    paths = [f.path for f in files]
    prior = {p: README_PRIOR for p in paths if _is_root_readme(p)}
    file_rank = pagerank(paths, graph.edges, prior)
    file_order = sorted(paths, key=lambda p: (file_rank[p], p))
    symbol_score = _symbol_scores(files, graph, file_rank)

    def symbol_key(key: SymbolKey) -> tuple[float, float, bool, int, str, int]:
        path, index = key
        symbol = by_path[path].summary.symbols[index]
        priority = KIND_PRIORITY.get(symbol.kind, 4)
        return (symbol_score[key], file_rank[path], symbol.exported, -priority, path, -index)

    by_path = {f.path: f for f in files}
    symbol_order = sorted(symbol_score, key=symbol_key)
    return Ranking(files=tuple(file_order), symbols=tuple(symbol_order))


def _is_root_readme(path: str) -> bool:
    return "/" not in path and PurePosixPath(path).stem.upper() == "README"


def _symbol_scores(
    files: Sequence[SourceFile], graph: ReferenceGraph, file_rank: dict[str, float]
) -> dict[SymbolKey, float]:
    scores: dict[SymbolKey, float] = {}
    for source in files:
        own: dict[str, float] = {}
        for index, symbol in enumerate(source.summary.symbols):
            users = graph.uses.get((source.path, short_name(symbol.name)), {})
            score = sum(file_rank[user] * weight for user, weight in sorted(users.items()))
            score *= 1.0 if symbol.exported else PRIVATE_FACTOR
            scores[(source.path, index)] = score
            own[symbol.name] = max(own.get(symbol.name, 0.0), score)
        # An owner (a class) outranks its members, so a member is never shown without it.
        for index, symbol in enumerate(source.summary.symbols):
            members = [s for n, s in own.items() if n.startswith(symbol.name + ".")]
            if members:
                scores[(source.path, index)] = max(scores[(source.path, index)], *members)
    return scores
