"""Rendering: unknown languages, nesting of members, and what is said about omissions."""

from __future__ import annotations

from pathlib import Path

from app.codemap import build_map
from tests.codemap.helpers import write_tree


def test_unknown_language_falls_back_to_comment_and_definition_lines(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "tools/build.zig": "// Build script for the widgets.\npub fn main() void {\n}\n",
            "lib/widget.rb": "# A widget.\nclass Widget\n  def spin(speed)\n  end\nend\n",
            "data/blob.xyz": "opaque contents\n",
        },
    )

    text = build_map(root, budget=5_000)

    assert "- `build.zig`: Build script for the widgets." in text
    assert "  - `pub fn main() void`" in text
    assert "- `widget.rb`: A widget." in text
    assert "  - `class Widget`" in text
    assert "  - `def spin(speed)`" in text
    assert "- `blob.xyz`\n" in text
    assert "Languages (files): Ruby (1)." in text


def test_methods_nest_under_their_class(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {"shop.py": '"""Shop."""\n\nclass Cart:\n    def add(self, item: str) -> None: ...\n'},
    )

    text = build_map(root, budget=5_000)

    assert "- `shop.py`: Shop.\n  - `class Cart`\n    - `def add(item: str) -> None`\n" in text


def test_directories_say_how_many_files_they_omit(tmp_path: Path) -> None:
    files = {f"many/file_{n:02}.py": f'"""File {n}."""\n' for n in range(12)}
    root = write_tree(tmp_path, files)

    text = build_map(root, budget=80)

    heading = next(line for line in text.splitlines() if line.startswith("## many/"))
    shown = text.count("`file_")
    assert heading == f"## many/ ({12 - shown} files omitted)"
    assert f"{12 - shown} files omitted to fit 80 tokens" in text
