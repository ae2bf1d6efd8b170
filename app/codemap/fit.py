"""Fit a map to a token budget by dropping the least important detail first.

Every detail has a level: a symbol's signature (0), a symbol (1), a file's purpose (2) and a
file (3); a directory heading goes with the last of its files. A detail's drop priority is
its level plus three times its importance percentile within that level (0 for the least
important, nearly 1 for the most), so levels overlap: a little-used file's purpose goes
before the signature of the most used function, and the most used symbols outlast the least
referenced files. The fewest drops that bring the rendered map within the budget are found
by binary search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.codemap.rank import Ranking, SymbolKey
from app.codemap.render import Selection, directory_of, render
from app.codemap.symbols import Commands, SourceFile

LEVEL_SPREAD = 3.0

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class _Drop:
    priority: float
    part: str
    key: str | SymbolKey


def fit_to_budget(
    files: Sequence[SourceFile],
    commands: Commands,
    ranking: Ranking,
    budget: int,
    count_tokens: TokenCounter,
) -> str:
    """Return the most detailed map whose token count is within the budget."""
    drops = _drop_order(files, ranking)
    full = _everything(files)

    def rendered(count: int) -> str:
        return render(files, commands, _apply(full, drops[:count]), budget)

    if count_tokens(text := rendered(0)) <= budget:
        return text
    fits_at, fails_at = len(drops), 0
    if count_tokens(rendered(fits_at)) > budget:
        # Even the bare header is over budget; it is the least a map can say, so return it.
        return rendered(fits_at)
    while fits_at - fails_at > 1:
        middle = (fits_at + fails_at) // 2
        if count_tokens(rendered(middle)) <= budget:
            fits_at = middle
        else:
            fails_at = middle
    return rendered(fits_at)


def _drop_order(files: Sequence[SourceFile], ranking: Ranking) -> list[_Drop]:
    drops: list[_Drop] = []
    drops += _spread(0.0, "signature", list(ranking.symbols))
    drops += _spread(1.0, "symbol", list(ranking.symbols))
    with_purpose = {f.path for f in files if f.summary.purpose}
    drops += _spread(2.0, "purpose", [p for p in ranking.files if p in with_purpose])
    file_drops = _spread(3.0, "file", list(ranking.files))
    drops += file_drops
    # A directory goes with its most important file (the last of its files to go); listed
    # after the files, the stable sort below drops it just after that file.
    last_file = {directory_of(str(d.key)): d.priority for d in file_drops}
    drops += [_Drop(p, "directory", d) for d, p in sorted(last_file.items())]
    # Sorting is stable, so equal priorities keep the level order built above.
    return sorted(drops, key=lambda d: d.priority)


def _spread(level: float, part: str, keys: Sequence[str | SymbolKey]) -> list[_Drop]:
    count = max(len(keys), 1)
    return [_Drop(level + LEVEL_SPREAD * i / count, part, k) for i, k in enumerate(keys)]


def _everything(files: Sequence[SourceFile]) -> Selection:
    paths = frozenset(f.path for f in files)
    symbols = frozenset((f.path, i) for f in files for i in range(len(f.summary.symbols)))
    return Selection(
        directories=frozenset(directory_of(p) for p in paths),
        files=paths,
        purposes=paths,
        symbols=symbols,
        signatures=symbols,
    )


def _apply(full: Selection, drops: Sequence[_Drop]) -> Selection:
    paths: dict[str, set[str]] = {"purpose": set(), "file": set(), "directory": set()}
    symbols: dict[str, set[SymbolKey]] = {"signature": set(), "symbol": set()}
    for drop in drops:
        if isinstance(drop.key, tuple):
            symbols[drop.part].add(drop.key)
        else:
            paths[drop.part].add(drop.key)
    return Selection(
        directories=full.directories - paths["directory"],
        files=full.files - paths["file"],
        purposes=full.purposes - paths["purpose"],
        symbols=full.symbols - symbols["symbol"],
        signatures=full.signatures - symbols["signature"],
    )
