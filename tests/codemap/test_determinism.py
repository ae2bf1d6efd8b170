"""Determinism: the map depends on the tree alone, not on run, file order or timestamps."""

from __future__ import annotations

import os
import random
from pathlib import Path

from app.codemap import build_map
from tests.codemap.helpers import git_init, write_tree

FILES = {
    "README.md": "# Demo\n\nA demo repository.\n",
    "pkg/__init__.py": "",
    "pkg/core.py": '"""Core."""\n\nclass Engine: ...\n',
    "pkg/a.py": '"""A."""\nfrom pkg.core import Engine\nEngine()\n',
    "pkg/b.py": '"""B."""\nfrom pkg.core import Engine\nEngine()\n',
    "web/app.ts": 'import { x } from "./util";\nexport function main(): void {}\n',
    "web/util.ts": "export const x = 1;\n",
    "cmd/main.go": "// Package main runs it.\npackage main\nfunc main() {}\n",
    "src/lib.rs": "//! The crate.\npub fn run() {}\n",
    "notes.txt": "# free text\n",
}


def _write_in_order(root: Path, order: list[str]) -> Path:
    for path in order:
        write_tree(root, {path: FILES[path]})
    return root


def test_two_runs_give_the_same_map(tmp_path: Path) -> None:
    root = write_tree(tmp_path, FILES)

    assert build_map(root, budget=300) == build_map(root, budget=300)
    assert build_map(root) == build_map(root)


def test_creation_order_does_not_change_the_map(tmp_path: Path) -> None:
    order = sorted(FILES)
    shuffled = order[:]
    random.Random(7).shuffle(shuffled)
    first = _write_in_order(tmp_path / "one", order[::-1])
    second = _write_in_order(tmp_path / "two", shuffled)

    for budget in (120, 250, None):
        assert build_map(first, budget=budget) == build_map(second, budget=budget)


def test_git_and_plain_directories_give_the_same_map(tmp_path: Path) -> None:
    plain = write_tree(tmp_path / "plain", FILES)
    tracked = git_init(write_tree(tmp_path / "tracked", FILES))

    assert build_map(plain) == build_map(tracked)


def test_timestamps_do_not_change_the_map(tmp_path: Path) -> None:
    root = write_tree(tmp_path, FILES)
    before = build_map(root)

    for path in FILES:
        os.utime(root / path, (1_000_000, 1_000_000))

    assert build_map(root) == before


def test_files_are_listed_in_path_order(tmp_path: Path) -> None:
    text = build_map(write_tree(tmp_path, FILES), budget=10_000)

    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## ./", "## cmd/", "## pkg/", "## src/", "## web/"]
    pkg = text.split("## pkg/\n", 1)[1].split("\n\n", 1)[0]
    names = [line.split("`")[1] for line in pkg.splitlines() if line.startswith("- ")]
    assert names == ["__init__.py", "a.py", "b.py", "core.py"]
