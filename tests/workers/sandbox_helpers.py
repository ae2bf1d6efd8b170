"""Helpers for the sandbox and tool tests: sample trees and isolation modes that work here."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

from app.sandbox import LocalOptions
from app.sandbox.bwrap import bwrap_unavailable_reason
from app.sandbox.local import Isolation

SAMPLE_FILES = {
    "README.md": "# Sample\n\nA small repository.\n",
    "src/app.py": (
        "def greet(name):\n    return f'hello {name}'\n\n\ndef wave():\n    return 'wave'\n"
    ),
    "src/util.py": "VALUE = 1\nOTHER = 2\nVALUE_TOO = 3\n",
    "tests/test_app.py": (
        "from src.app import greet\n\n\ndef test_greet():\n    assert greet('x')\n"
    ),
    ".github/workflows/ci.yml": "on: push\n",
    ".townhall.toml": "[votes]\nthreshold = 2\n",
    "docs/guide.md": "Guide\n",
}


def write_tree(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write `files` (default: a small sample project) under `root` and return it."""
    for name, text in (files or SAMPLE_FILES).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a fixed identity and return stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


BWRAP_SKIP = pytest.mark.skipif(
    bwrap_unavailable_reason() is not None,
    reason=f"bubblewrap cannot run here: {bwrap_unavailable_reason()}",
)

# Every local-backend behaviour is checked with and without bubblewrap.
ISOLATIONS = [
    pytest.param("none", id="plain"),
    pytest.param("bwrap", id="bwrap", marks=BWRAP_SKIP),
]


def sandbox_options(isolation: str, **options: Any) -> LocalOptions:
    """Local options for an isolation mode; "none" is explicitly allowed (tests only)."""
    mode = cast(Isolation, isolation)
    return LocalOptions(isolation=mode, unisolated_allowed=mode == "none", **options)
