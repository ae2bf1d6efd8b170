"""The scheduler benchmark runs on any history file of its format and reports honestly."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scheduler_bench.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scheduler_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def write_history(path: Path, commits: int) -> None:
    """Write a history where a few hot files keep being changed together."""
    lines = []
    for n in range(commits):
        files = [f"app/m{n % 5}.py", f"tests/test_m{n % 5}.py"]
        if n % 7 == 0:
            files.append("pyproject.toml")
        if n % 3 == 0:
            files.append("CHANGELOG.md")
        record = {"sha": f"c{n}", "time": "", "files": files, "added": n % 40, "deleted": 1}
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


def table(output: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        name, _, figures = line.partition("  ")
        if figures.strip() and figures.split()[0].replace(".", "").isdigit():
            rows[name.strip()] = figures.split()
    return rows


def test_bench_prints_every_strategy_and_exact_predictions_never_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tiny.jsonl"
    write_history(path, 80)
    assert load_bench().main([str(path)]) == 0
    output = capsys.readouterr().out
    rows = table(output)
    assert "tiny.jsonl: 40 tasks after 40 training" in output
    assert {"serial", "naive parallel FIFO", "townhall exact K=5", "townhall noisy"} <= set(rows)
    conflicts = {name: int(figures[3]) for name, figures in rows.items()}
    assert conflicts["serial"] == 0
    assert conflicts["naive parallel FIFO"] > 0
    assert conflicts["townhall exact K=5"] == conflicts["townhall exact K=100"] == 0
    # Schedules that never let conflicting tasks overlap cannot beat the lower bound.
    exact = [name for name in rows if name.startswith(("serial", "townhall exact"))]
    assert len(exact) == 4
    assert all(float(rows[name][1]) >= 1.0 for name in exact)
