"""JavaScript, TypeScript, Go, Rust and Markdown files read through tree-sitter grammars."""

from __future__ import annotations

from app.codemap.languages import language_of
from app.codemap.parsers.dispatch import summarize
from app.codemap.parsers.treesitter import load_parser
from app.codemap.symbols import FileSummary, Symbol

TYPESCRIPT = """// Widgets and the store that keeps them.
import { foo } from "./b";
import * as c from "../c";
export interface Widget { id: number }
export type Id = string;
export class Store<T> extends Base {
  constructor(private size: number) { super(); }
  get(id: Id): T | undefined { return undefined; }
  private secret(): void {}
}
export function makeStore(n: number = 3): Store<number> { return new Store(n); }
export const helper = (a: string): number => a.length;
const internal = 1;
export enum Color { Red }
"""

JAVASCRIPT = """/** Add numbers, CommonJS style. */
const path = require("./path");
export function add(a, b) { return a + b; }
class Counter { increment() {} }
"""

GO = """// Package store keeps widgets.
package store

import (
\t"fmt"
\t"example.com/m/util"
)

type Store struct { n int }
type Getter interface { Get(k string) (int, error) }
func New(n int) *Store { return &Store{n} }
func (s *Store) Get(k string) (int, error) { return 0, nil }
func helper() {}
const Max = 3
"""

RUST = """//! Widget storage for the crate.
use crate::util::helper;
mod util;
pub struct Store { n: i32 }
pub trait Getter { fn get(&self, k: &str) -> i32; }
impl Store { pub fn new(n: i32) -> Self { Store { n } } fn private(&self) {} }
pub fn make(n: i32) -> Store { Store::new(n) }
fn hidden() {}
pub const MAX: i32 = 3;
"""

MARKDOWN = """[![build](https://ci.example/badge.svg)](https://ci.example)

# Widget guide

How to use the widget store. More text follows.

## Install
See [setup](docs/setup.md#top) and [site](https://example.com).

```
# not a heading
```

### Details
#### Too deep
Setext title
------------
"""


def _summary(path: str, text: str) -> FileSummary:
    return summarize(path, text, language_of(path))


def _signatures(summary: FileSummary) -> dict[str, str]:
    return {s.name: s.signature for s in summary.symbols}


def test_typescript_exports_classes_and_imports() -> None:
    summary = _summary("src/store.ts", TYPESCRIPT)

    assert summary.purpose == "Widgets and the store that keeps them."
    assert _signatures(summary) == {
        "Widget": "interface Widget",
        "Id": "type Id = string",
        "Store": "class Store<T> extends Base",
        "Store.constructor": "constructor(private size: number)",
        "Store.get": "get(id: Id): T | undefined",
        "makeStore": "function makeStore(n: number = 3): Store<number>",
        "helper": "const helper = (a: string): number",
        "Color": "enum Color",
    }
    assert summary.imports == ("./b", "../c")
    assert all(s.exported for s in summary.symbols)


def test_tsx_uses_its_own_grammar() -> None:
    summary = _summary("ui/App.tsx", "export function App() { return <div>hi</div>; }\n")

    assert _signatures(summary) == {"App": "function App()"}


def test_javascript_functions_classes_and_require() -> None:
    summary = _summary("lib/add.js", JAVASCRIPT)

    assert summary.purpose == "Add numbers, CommonJS style."
    assert [(s.name, s.exported) for s in summary.symbols] == [
        ("add", True),
        ("Counter", False),
        ("Counter.increment", False),
    ]
    assert summary.imports == ("./path",)


def test_go_package_comment_types_functions_and_methods() -> None:
    summary = _summary("store/store.go", GO)

    assert summary.purpose == "Package store keeps widgets."
    assert _signatures(summary) == {
        "Store": "type Store struct",
        "Getter": "type Getter interface",
        "New": "func New(n int) *Store",
        "Store.Get": "func (s *Store) Get(k string) (int, error)",
        "helper": "func helper()",
        "Max": "const Max",
    }
    exported = {s.name: s.exported for s in summary.symbols}
    assert exported["New"] and not exported["helper"]
    assert summary.imports == ("fmt", "example.com/m/util")


def test_rust_items_impl_methods_and_modules() -> None:
    summary = _summary("src/lib.rs", RUST)

    assert summary.purpose == "Widget storage for the crate."
    signatures = _signatures(summary)
    assert signatures["Store"] == "pub struct Store"
    assert signatures["Getter.get"] == "fn get(&self, k: &str) -> i32"
    assert signatures["Store.new"] == "pub fn new(n: i32) -> Self"
    assert signatures["make"] == "pub fn make(n: i32) -> Store"
    assert signatures["MAX"] == "pub const MAX: i32"
    exported = {s.name: s.exported for s in summary.symbols}
    assert exported["Store.new"] and not exported["Store.private"] and not exported["hidden"]
    assert summary.imports == ("crate::util::helper", "mod:util")


def test_markdown_headings_purpose_and_links() -> None:
    summary = _summary("docs/guide.md", MARKDOWN)

    assert summary.purpose == "How to use the widget store."
    assert [(s.name, s.signature) for s in summary.symbols] == [
        ("Widget guide", "# Widget guide"),
        ("Install", "## Install"),
        ("Details", "### Details"),
        ("Setext title", "## Setext title"),
    ]
    assert summary.imports == ("docs/setup.md",)


def test_markdown_without_paragraph_uses_first_heading() -> None:
    summary = _summary("NOTES.md", "# Release notes\n\n- item one\n")

    assert summary.purpose == "Release notes"


def test_grammars_load_from_the_language_pack() -> None:
    for grammar in ("javascript", "typescript", "tsx", "go", "rust", "markdown"):
        assert load_parser(grammar) is not None, grammar


def test_an_unknown_grammar_loads_as_none() -> None:
    assert load_parser("no-such-grammar") is None


def test_a_grammar_that_fails_to_load_falls_back_to_plain_text() -> None:
    summary = summarize("store/store.go", GO, language_of("store/store.go"), lambda _: None)

    assert summary.purpose == "Package store keeps widgets."
    assert [s.name for s in summary.symbols] == ["New", "helper"]
    assert all(isinstance(s, Symbol) for s in summary.symbols)
