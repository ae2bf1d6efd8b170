"""The reference graph: imports resolved per language, and uses linked to definitions."""

from __future__ import annotations

from pathlib import Path

from app.codemap.builder import read_sources
from app.codemap.graph import build_graph
from app.codemap.resolve import ImportResolver
from app.codemap.symbols import FileSummary, SourceFile, Symbol
from tests.codemap.helpers import write_tree


def _file(path: str, language: str, *imports: str, symbols: tuple[str, ...] = ()) -> SourceFile:
    summary = FileSummary(
        imports=imports, symbols=tuple(Symbol(n, "function", "", 1) for n in symbols)
    )
    return SourceFile(path, language, summary)


def _resolve(files: list[SourceFile], path: str) -> list[list[str]]:
    by_path = {f.path: f for f in files}
    return ImportResolver(files).resolve(by_path[path])


def test_python_absolute_relative_and_src_layout_imports() -> None:
    files = [
        _file("app/cli.py", "Python", "app.core", "app.core.run", "json", "widgets.api"),
        _file("app/core.py", "Python"),
        _file("app/__init__.py", "Python"),
        _file("src/widgets/api.py", "Python"),
    ]

    assert _resolve(files, "app/cli.py") == [["app/core.py"], ["src/widgets/api.py"]]


def test_javascript_relative_imports_try_extensions_and_index() -> None:
    files = [
        _file("web/app.ts", "TypeScript", "./util", "./lib/index.js", "./widgets", "react"),
        _file("web/util.ts", "TypeScript"),
        _file("web/lib/index.ts", "TypeScript"),
        _file("web/widgets/index.tsx", "TypeScript"),
    ]

    assert _resolve(files, "web/app.ts") == [
        ["web/util.ts"],
        ["web/lib/index.ts"],
        ["web/widgets/index.tsx"],
    ]


def test_go_import_paths_match_package_directories() -> None:
    files = [
        _file("cmd/main.go", "Go", "example.com/m/internal/store", "fmt"),
        _file("internal/store/store.go", "Go"),
        _file("internal/store/cache.go", "Go"),
        _file("internal/store/store_test.go", "Go"),
    ]

    assert _resolve(files, "cmd/main.go") == [
        ["internal/store/cache.go", "internal/store/store.go"]
    ]


def test_rust_mod_and_use_paths() -> None:
    files = [
        _file("src/lib.rs", "Rust", "mod:util", "mod:net", "crate::util::helper", "std::fmt"),
        _file("src/util.rs", "Rust"),
        _file("src/net/mod.rs", "Rust", "mod:tcp"),
        _file("src/net/tcp.rs", "Rust"),
    ]

    assert _resolve(files, "src/lib.rs") == [["src/util.rs"], ["src/net/mod.rs"], ["src/util.rs"]]
    assert _resolve(files, "src/net/mod.rs") == [["src/net/tcp.rs"]]


def test_markdown_links_resolve_relative_to_the_document() -> None:
    files = [
        _file("docs/guide.md", "Markdown", "../README.md", "setup.md", "missing.md"),
        _file("docs/setup.md", "Markdown"),
        _file("README.md", "Markdown"),
    ]

    assert _resolve(files, "docs/guide.md") == [["README.md"], ["docs/setup.md"]]


def test_member_names_count_only_where_their_owner_is_named(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "reader.py": "class Reader:\n    def text(self) -> str: ...\n",
            "uses_reader.py": "def f(r):\n    return Reader, r.text()\n",
            "unrelated.py": "def g(page):\n    return page.text\n",
        },
    )

    graph = build_graph(read_sources(root))

    assert set(graph.uses[("reader.py", "text")]) == {"uses_reader.py"}
    assert "unrelated.py" not in graph.edges


def test_languages_link_through_their_imports(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "web/app.ts": 'import { helper } from "./util";\nhelper();\n',
            "web/util.ts": "export function helper(): void {}\n",
            "src/main.rs": "mod store;\nfn main() { store::open(); }\n",
            "src/store.rs": "pub fn open() {}\n",
        },
    )

    graph = build_graph(read_sources(root))

    assert graph.edges["web/app.ts"]["web/util.ts"] > 1.0  # imported and used
    assert graph.edges["src/main.rs"]["src/store.rs"] > 1.0


def test_a_name_defined_in_many_files_is_followed_only_through_imports(tmp_path: Path) -> None:
    files = {f"plugins/p{n}.py": "def setup() -> None: ...\n" for n in range(8)}
    files["main.py"] = "from plugins.p3 import setup\nsetup()\n"
    files["loose.py"] = "setup()\n"
    graph = build_graph(read_sources(write_tree(tmp_path, files)))

    assert set(graph.edges["main.py"]) == {"plugins/p3.py"}
    assert "loose.py" not in graph.edges
    assert set(graph.uses[("plugins/p3.py", "setup")]) == {"main.py"}
