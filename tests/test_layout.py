"""The tree's shape: imports point one way, packages form no cycle, writes live in the store.

README.md's Layout section draws the layers; this test is what keeps them true. It parses the
source (nothing is imported), so it runs in milliseconds and names every offending import.
"""

from __future__ import annotations

from pathlib import Path

from tests.layout import (
    ROOT,
    forbidden_edges,
    import_edges,
    package_cycles,
    sql_literals,
    unit_of,
)


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({edge.source for edge in import_edges() if unit_of(edge.source) is None})
    assert unplaced == [], f"modules outside every layer (add them to tests/layout.py): {unplaced}"


def test_imports_point_one_way() -> None:
    offending = [str(edge) for edge in forbidden_edges(import_edges())]
    assert offending == [], "imports against the layer direction:\n" + "\n".join(offending)


def test_no_package_cycles() -> None:
    cycles = package_cycles(import_edges())
    assert cycles == [], f"package import cycles: {cycles}"


def test_statements_that_write_live_in_the_store() -> None:
    writes = [
        literal
        for literal in sql_literals()
        if literal.writes and not literal.path.is_relative_to(ROOT / "app" / "store")
    ]
    assert writes == [], "SQL that writes outside app/store/:\n" + "\n".join(map(str, writes))


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # A checker that finds nothing on purpose is worthless: feed it a known-bad tree.
    bad = tmp_path / "app" / "store"
    bad.mkdir(parents=True)
    (bad / "__init__.py").write_text("from app.ceo import tick\n")
    (tmp_path / "app" / "ceo").mkdir()
    (tmp_path / "app" / "ceo" / "tick.py").write_text(
        "import workers.attempt\nSQL = 'UPDATE tasks SET state = 1'\n"
    )
    edges = import_edges(tmp_path)
    assert {(e.source, e.target) for e in forbidden_edges(edges)} == {
        ("app.store", "app.ceo"),
        ("app.ceo.tick", "workers.attempt"),
    }
    assert [lit.writes for lit in sql_literals(tmp_path)] == [True]
