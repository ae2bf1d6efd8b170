"""Ranking: PageRank over imports and uses keeps the most referenced code when space is short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.codemap import build_map
from app.codemap.builder import read_sources
from app.codemap.graph import build_graph
from app.codemap.pagerank import pagerank
from app.codemap.rank import rank
from tests.codemap.helpers import tokens, write_tree

CORE = '''"""The engine every module runs on."""


class Engine:
    def start(self) -> None: ...


def unused_helper() -> None: ...
'''


def _user(n: int) -> str:
    return (
        f'"""Feature {n}."""\n\nfrom pkg.core import Engine\n\n\n'
        f"def feature_{n}() -> None:\n    Engine().start()\n"
    )


def _repo(root: Path) -> Path:
    files = {"pkg/core.py": CORE, "pkg/__init__.py": ""}
    files |= {f"pkg/feature_{n}.py": _user(n) for n in range(6)}
    files |= {f"misc/lonely_{n}.py": f'"""Lonely script {n}."""\n' for n in range(6)}
    return write_tree(root, files)


def test_pagerank_favours_the_node_everyone_points_at() -> None:
    edges = {n: {"hub": 1.0} for n in ("a", "b", "c")} | {"hub": {"a": 1.0}}

    scores = pagerank(["a", "b", "c", "hub", "alone"], edges)

    assert max(scores, key=scores.__getitem__) == "hub"
    assert scores["a"] > scores["b"] == scores["c"]
    assert sum(scores.values()) == pytest.approx(1.0)


def test_pagerank_is_independent_of_input_order() -> None:
    edges = {"a": {"b": 1.0, "c": 2.0}, "c": {"a": 0.5}, "b": {"c": 1.0}}
    reordered = {"b": {"c": 1.0}, "c": {"a": 0.5}, "a": {"c": 2.0, "b": 1.0}}

    assert pagerank(["a", "b", "c"], edges) == pagerank(["c", "b", "a"], reordered)
    assert pagerank([], {}) == {}


def test_most_referenced_file_and_symbol_rank_highest(tmp_path: Path) -> None:
    files = read_sources(_repo(tmp_path))

    ranking = rank(files, build_graph(files))

    assert ranking.files[-1] == "pkg/core.py"
    by_path = {f.path: f for f in files}
    top_path, top_index = ranking.symbols[-1]
    assert (top_path, by_path[top_path].summary.symbols[top_index].name) == (
        "pkg/core.py",
        "Engine",
    )
    core_order = [
        by_path[p].summary.symbols[i].name for p, i in ranking.symbols if p == "pkg/core.py"
    ]
    assert core_order.index("unused_helper") < core_order.index("Engine")


def test_tiny_budget_keeps_the_most_referenced_module_and_reports_omissions(
    tmp_path: Path,
) -> None:
    text = build_map(_repo(tmp_path), budget=70)

    assert tokens(text) <= 70
    assert "`core.py`" in text
    assert "lonely" not in text
    match = re.search(r"(\d+) files and (\d+) symbols omitted to fit 70 tokens", text)
    assert match is not None, text
    assert int(match.group(1)) >= 10


def test_symbols_are_dropped_least_used_first(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    generous = build_map(root, budget=10_000)
    full = tokens(generous)

    # Shrink the budget until the core file's symbols start to go.
    budget = full
    text = generous
    while "unused_helper" in text and budget > 0:
        budget -= 5
        text = build_map(root, budget=budget)

    assert "`Engine`" in text or "`class Engine`" in text
    assert "symbols omitted" in text
