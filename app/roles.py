"""Roles are data: a prompt file, a model tier, tools, the files a role may write, extra checks."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from app.settings import Tier

ALL_TOOLS: tuple[str, ...] = (
    "list_files",
    "read_file",
    "search",
    "write_file",
    "edit_file",
    "run",
    "finish",
)

# Complexity picks the worker's model tier: small work does not need the deepest model.
TIER_FOR_COMPLEXITY: dict[str, Tier] = {
    "small": "fast",
    "medium": "standard",
    "large": "deep",
}


@dataclass(frozen=True)
class Role:
    """One kind of worker. `writes` are globs relative to the repository root."""

    name: str
    system_prompt: str
    tier: str = "standard"
    tools: tuple[str, ...] = ALL_TOOLS
    writes: tuple[str, ...] = ("**",)
    verify: tuple[str, ...] = ()


def prompt(name: str) -> str:
    """Read a role's prompt from `app/prompts/<name>.md` (versioned with the code)."""
    return resources.files("app.prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")


@functools.cache
def default_roles() -> dict[str, Role]:
    """The roles every repository has unless its `.townhall.toml` overrides them."""
    return {
        "developer": Role("developer", prompt("developer"), tier="standard"),
        "test-writer": Role(
            "test-writer",
            prompt("test-writer"),
            tier="standard",
            writes=("tests/**", "test/**", "**/test_*.py", "**/*_test.py", "**/*.test.*"),
        ),
        "docs-writer": Role(
            "docs-writer",
            prompt("docs-writer"),
            tier="fast",
            tools=("list_files", "read_file", "search", "write_file", "edit_file", "finish"),
            writes=("**/*.md", "docs/**", "**/*.rst", "**/*.txt"),
        ),
    }
