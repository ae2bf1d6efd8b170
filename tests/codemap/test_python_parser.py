"""Python files: purposes from docstrings or comments, symbols with signatures, imports."""

from __future__ import annotations

from app.codemap.languages import language_of
from app.codemap.parsers.dispatch import summarize
from app.codemap.parsers.python import parse_python

SOURCE = '''"""Keep widgets in a store.

Longer explanation that the map does not show.
"""

from __future__ import annotations

from . import util
from ..core import Base
import json as j

MAX_WIDGETS = 10
_CACHE: dict[str, int] = {}
limit: int = 3


class Store(Base, metaclass=Meta):
    """Hold widgets."""

    def __init__(self, size: int = 3) -> None:
        self.size = size

    def get(self, key: str) -> int | None:
        return None

    def _hidden(self) -> None:
        pass

    @classmethod
    def empty(cls) -> Store:
        return cls()


async def fetch(url: str, *, retries: int = 2) -> bytes:
    return b""


def _helper() -> None:
    Store().get("x")
'''


def test_python_purpose_symbols_and_signatures() -> None:
    summary = parse_python("pkg/sub/store.py", SOURCE)

    assert summary.purpose == "Keep widgets in a store."
    by_name = {s.name: s for s in summary.symbols}
    assert list(by_name) == [
        "MAX_WIDGETS",
        "_CACHE",
        "Store",
        "Store.__init__",
        "Store.get",
        "Store.empty",
        "fetch",
        "_helper",
    ]
    assert by_name["Store"].signature == "class Store(Base, metaclass=Meta)"
    assert by_name["Store.__init__"].signature == "def __init__(size: int=3) -> None"
    assert by_name["Store.get"].signature == "def get(key: str) -> int | None"
    assert by_name["Store.empty"].signature == "def empty() -> Store"
    assert by_name["fetch"].signature == "async def fetch(url: str, *, retries: int=2) -> bytes"
    assert by_name["Store.get"].kind == "method"
    assert by_name["Store"].line == 17
    assert not by_name["_helper"].exported
    assert not by_name["_CACHE"].exported
    assert by_name["fetch"].exported


def test_python_imports_are_made_absolute() -> None:
    summary = parse_python("pkg/sub/store.py", SOURCE)

    assert "pkg.sub" in summary.imports
    assert "pkg.sub.util" in summary.imports
    assert "pkg.core" in summary.imports
    assert "json" in summary.imports


def test_python_references_count_names_and_attributes() -> None:
    summary = parse_python("pkg/sub/store.py", SOURCE)

    assert summary.references["Store"] == 2
    assert summary.references["get"] == 1
    assert summary.references["Base"] == 2  # imported and used as a base


def test_dunder_all_decides_what_is_exported() -> None:
    source = (
        '__all__ = ["public_one", "VALUE"]\nVALUE = 1\ndef public_one(): ...\ndef other(): ...\n'
    )

    summary = parse_python("m.py", source)

    exported = {s.name: s.exported for s in summary.symbols}
    assert exported == {"VALUE": True, "public_one": True, "other": False}


def test_purpose_falls_back_to_leading_comment_then_definitions() -> None:
    commented = "#!/usr/bin/env python\n# Sync the mirror\n# nightly. Then more.\nimport os\n"
    bare = "class Alpha: ...\nclass Beta: ...\ndef gamma(): ...\ndef delta(): ...\n"

    assert parse_python("a.py", commented).purpose == "Sync the mirror nightly."
    assert parse_python("b.py", bare).purpose == "Defines Alpha, Beta, gamma, …."


def test_purpose_keeps_only_the_first_sentence() -> None:
    summary = parse_python("a.py", '"""Parse e.g. dates. Then more text."""\n')

    assert summary.purpose == "Parse e.g. dates."


def test_python_that_does_not_parse_falls_back_to_plain_text() -> None:
    broken = "# Half-written module.\ndef ok(:\n    pass\nclass Thing:\n"

    summary = summarize("broken.py", broken, language_of("broken.py"))

    assert summary.purpose == "Half-written module."
    assert [s.name for s in summary.symbols] == ["ok", "Thing"]
