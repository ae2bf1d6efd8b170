"""Shared fixtures: a real libSQL file store in a temporary directory and a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from app.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store on a real libSQL file."""
    opened = open_store(str(tmp_path / "townhall.db"))
    yield opened
    opened.close_sync()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()
