"""Build the reference graph: which files import or use the names other files define."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.codemap.model import SourceFile
from app.codemap.resolve import ImportResolver

IMPORT_WEIGHT = 1.0
# A name defined in many files ("get", "run") says little about which one a use means.
COMMON_NAME_DEFINERS = 5
WEAK_NAME_FACTOR = 0.1


@dataclass
class ReferenceGraph:
    """Weighted edges between files, and who uses each defined name."""

    # edges[user][definer] = weight of the user's imports and uses of the definer's names.
    edges: dict[str, dict[str, float]] = field(default_factory=dict)
    # uses[(definer, name)][user] = weight of the user's uses of that name.
    uses: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)


def short_name(qualified: str) -> str:
    """Return the name a use site writes: "get" for the method "Store.get"."""
    return qualified.rsplit(".", 1)[-1]


def build_graph(files: Sequence[SourceFile]) -> ReferenceGraph:
    """Link each file to the files it imports and to the definers of the names it uses."""
    edges: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    uses: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    definers = _definers(files)
    resolver = ImportResolver(files)
    for source in files:
        for targets in resolver.resolve(source):
            for target in targets:
                edges[source.path][target] += IMPORT_WEIGHT / len(targets)
        for name, count in sorted(source.summary.references.items()):
            owners = [p for p in definers.get(name, ()) if p != source.path]
            if not owners:
                continue
            weight = math.sqrt(count) * _name_factor(name, len(definers[name])) / len(owners)
            for owner in owners:
                edges[source.path][owner] += weight
                uses[(owner, name)][source.path] += weight
    return ReferenceGraph(
        edges={k: dict(v) for k, v in edges.items()},
        uses={k: dict(v) for k, v in uses.items()},
    )


def _definers(files: Sequence[SourceFile]) -> dict[str, list[str]]:
    definers: dict[str, list[str]] = defaultdict(list)
    for source in files:
        names = {short_name(s.name) for s in source.summary.symbols if s.kind != "heading"}
        for name in sorted(names):
            definers[name].append(source.path)
    return definers


def _name_factor(name: str, definer_count: int) -> float:
    if name.startswith("_") or len(name) < 3 or definer_count > COMMON_NAME_DEFINERS:
        return WEAK_NAME_FACTOR
    return 1.0
