"""Helpers for codemap tests: write a tree of real files, make it a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.codemap.tokens import estimate_tokens


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write each path -> text under root, creating directories; return root."""
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def git(root: Path, *args: str) -> str:
    """Run git in root with a fixed identity and return its output."""
    result = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def git_init(root: Path) -> Path:
    """Make root a git repository with everything in it committed."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def tokens(text: str) -> int:
    """Return the map's own token estimate of text."""
    return estimate_tokens(text)
