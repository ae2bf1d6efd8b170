"""Fixtures for phase 1 tests: a local command runner that sees the venv's tools."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import pytest

from reviewer.static.local import run_locally
from reviewer.static.runner import RunCommand

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def run() -> RunCommand:
    """Run commands locally with this interpreter's bin directory (ruff, mypy, pytest) first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return partial(run_locally, env=env)
