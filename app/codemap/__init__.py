"""The codebase map: a ranked, budgeted Markdown summary of a repository (`townhall map`)."""

from app.codemap.builder import DEFAULT_MAP_NAME, build_map

__all__ = ["DEFAULT_MAP_NAME", "build_map"]
