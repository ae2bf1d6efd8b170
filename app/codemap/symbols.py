"""Plain data shared by the map's stages: symbols, parsed files and the map's selection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Symbol:
    """A named definition in a file: a class, function, type, constant or heading."""

    name: str
    kind: str
    signature: str
    line: int
    exported: bool = True


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What a parser learned from one file's text."""

    purpose: str = ""
    symbols: tuple[Symbol, ...] = ()
    # Import specifiers as the language writes them; resolve.py turns them into paths.
    imports: tuple[str, ...] = ()
    # Identifier -> number of uses; the reference graph links uses to definitions.
    references: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One mapped file: its repository-relative POSIX path, language and summary."""

    path: str
    language: str
    summary: FileSummary


@dataclass(frozen=True, slots=True)
class Commands:
    """How to build and test the repository, from `.townhall.toml` when it says."""

    build: str = ""
    test: str = ""
    error: str = ""
