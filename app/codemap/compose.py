"""Compose a map from parsed files: graph, rank, then render within the budget (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from app.codemap.fit import TokenCounter, fit_to_budget
from app.codemap.graph import build_graph
from app.codemap.rank import rank
from app.codemap.symbols import Commands, SourceFile
from app.codemap.tokens import default_budget, estimate_tokens


def compose_map(
    files: Sequence[SourceFile],
    commands: Commands,
    budget: int | None = None,
    count_tokens: TokenCounter | None = None,
) -> str:
    """Return the Markdown map of the files within budget tokens (default: scaled to size)."""
    ordered = sorted(files, key=lambda f: f.path)
    ranking = rank(ordered, build_graph(ordered))
    limit = budget if budget is not None else default_budget(len(ordered))
    return fit_to_budget(ordered, commands, ranking, limit, count_tokens or estimate_tokens)
