"""Score the nodes of a weighted directed graph with PageRank, in plain Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-12


def pagerank(
    nodes: Sequence[str],
    edges: Mapping[str, Mapping[str, float]],
    personalization: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Return each node's PageRank; scores sum to 1 and follow edge weights."""
    order = sorted(set(nodes))
    if not order:
        return {}
    raw = {n: (personalization or {}).get(n, 1.0) for n in order}
    total = sum(raw.values())
    teleport = {n: raw[n] / total for n in order}
    # Sorted adjacency keeps float sums in one order, so the same graph gives the same scores.
    out = {
        n: sorted((t, w) for t, w in edges.get(n, {}).items() if t in teleport and w > 0)
        for n in order
    }
    out_weight = {n: sum(w for _, w in out[n]) for n in order}
    rank = dict(teleport)
    for _ in range(MAX_ITERATIONS):
        dangling = sum(rank[n] for n in order if out_weight[n] == 0)
        nxt = {n: (1 - DAMPING + DAMPING * dangling) * teleport[n] for n in order}
        for source in order:
            if out_weight[source] == 0:
                continue
            share = DAMPING * rank[source] / out_weight[source]
            for target, weight in out[source]:
                nxt[target] += share * weight
        delta = sum(abs(nxt[n] - rank[n]) for n in order)
        rank = nxt
        if delta < TOLERANCE:
            break
    return rank
