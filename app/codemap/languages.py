"""Name a file's language from its name, and say which parser reads it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True, slots=True)
class Language:
    """A language as the map names it, and the parser that extracts its symbols."""

    name: str
    # "python" uses ast; a tree-sitter grammar name otherwise; "" means the plain fallback.
    parser: str = ""


PYTHON = Language("Python", "python")
OTHER = Language("Other")

_BY_SUFFIX: dict[str, Language] = {
    ".py": PYTHON,
    ".pyi": PYTHON,
    ".js": Language("JavaScript", "javascript"),
    ".mjs": Language("JavaScript", "javascript"),
    ".cjs": Language("JavaScript", "javascript"),
    ".jsx": Language("JavaScript", "javascript"),
    ".ts": Language("TypeScript", "typescript"),
    ".mts": Language("TypeScript", "typescript"),
    ".cts": Language("TypeScript", "typescript"),
    ".tsx": Language("TypeScript", "tsx"),
    ".go": Language("Go", "go"),
    ".rs": Language("Rust", "rust"),
    ".md": Language("Markdown", "markdown"),
    ".markdown": Language("Markdown", "markdown"),
    ".c": Language("C"),
    ".h": Language("C"),
    ".cc": Language("C++"),
    ".cpp": Language("C++"),
    ".hpp": Language("C++"),
    ".cs": Language("C#"),
    ".java": Language("Java"),
    ".kt": Language("Kotlin"),
    ".swift": Language("Swift"),
    ".rb": Language("Ruby"),
    ".php": Language("PHP"),
    ".lua": Language("Lua"),
    ".sh": Language("Shell"),
    ".bash": Language("Shell"),
    ".sql": Language("SQL"),
    ".html": Language("HTML"),
    ".css": Language("CSS"),
    ".scss": Language("CSS"),
    ".toml": Language("TOML"),
    ".yaml": Language("YAML"),
    ".yml": Language("YAML"),
    ".json": Language("JSON"),
    ".graphql": Language("GraphQL"),
    ".txt": Language("Text"),
    ".rst": Language("reStructuredText"),
}

_BY_NAME: dict[str, Language] = {
    "Dockerfile": Language("Dockerfile"),
    "Makefile": Language("Makefile"),
}


def language_of(path: str) -> Language:
    """Return the language of the file at a repository-relative path."""
    pure = PurePosixPath(path)
    if pure.name in _BY_NAME:
        return _BY_NAME[pure.name]
    return _BY_SUFFIX.get(pure.suffix.lower(), OTHER)
