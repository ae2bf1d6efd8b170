"""Build the reference graph: which files import or use the names other files define."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.codemap.resolve import ImportResolver
from app.codemap.symbols import SourceFile

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


@dataclass(frozen=True, slots=True)
class _Definition:
    path: str
    top_level: bool
    # Classes (or types) that define the name as a member; a use of a member name counts
    # only where the owner is named too, so every ".text" is not a use of Reader.text.
    owners: frozenset[str]


def short_name(qualified: str) -> str:
    """Return the name a use site writes: "get" for the method "Store.get"."""
    return qualified.rsplit(".", 1)[-1]


def build_graph(files: Sequence[SourceFile]) -> ReferenceGraph:
    """Link each file to the files it imports and to the definers of the names it uses."""
    edges: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    uses: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    resolver = ImportResolver(files)
    imported: dict[str, set[str]] = {}
    for source in files:
        imported[source.path] = set()
        for targets in resolver.resolve(source):
            imported[source.path].update(targets)
            for target in targets:
                edges[source.path][target] += IMPORT_WEIGHT / len(targets)
    definitions = _definitions(files)
    for source in files:
        references = source.summary.references
        for name, count in sorted(references.items()):
            candidates = definitions.get(name, {})
            if len(candidates) > COMMON_NAME_DEFINERS:
                # A name defined in many files is too vague to follow except through an
                # import; following it everywhere would link every file to every other one.
                mine = imported[source.path]
                owners = sorted(p for p in mine if p in candidates and p != source.path)
            else:
                owners = [
                    path
                    for path, definition in candidates.items()
                    if _may_mean(definition, source.path, imported, references)
                ]
            if not owners:
                continue
            factor = _name_factor(name, len(candidates))
            weight = math.sqrt(count) * factor / len(owners)
            for owner in owners:
                edges[source.path][owner] += weight
                uses[(owner, name)][source.path] += weight
    return ReferenceGraph(
        edges={k: dict(v) for k, v in edges.items()},
        uses={k: dict(v) for k, v in uses.items()},
    )


def _may_mean(
    definition: _Definition,
    user: str,
    imported: dict[str, set[str]],
    references: Mapping[str, int],
) -> bool:
    """Return whether a use of a name in user may refer to this definition of it."""
    if definition.path == user:
        return False
    if definition.top_level or definition.path in imported[user]:
        return True
    return not definition.owners.isdisjoint(references)


def _definitions(files: Sequence[SourceFile]) -> dict[str, dict[str, _Definition]]:
    """Return, for each defined name, its definition in each file that defines it."""
    definitions: dict[str, dict[str, _Definition]] = defaultdict(dict)
    for source in files:
        top_level: set[str] = set()
        owners: dict[str, set[str]] = defaultdict(set)
        for symbol in source.summary.symbols:
            if symbol.kind == "heading":
                continue
            owner, _, member = symbol.name.rpartition(".")
            if owner:
                owners[member].add(short_name(owner))
            else:
                top_level.add(member)
        for name in sorted(top_level | owners.keys()):
            definitions[name][source.path] = _Definition(
                source.path, name in top_level, frozenset(owners.get(name, ()))
            )
    return definitions


def _name_factor(name: str, definer_count: int) -> float:
    if len(name) < 2:
        return 0.0
    if name.startswith("_") or len(name) < 3 or definer_count > COMMON_NAME_DEFINERS:
        return WEAK_NAME_FACTOR
    return 1.0
