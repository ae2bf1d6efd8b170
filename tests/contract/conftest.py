"""Fixtures: GitHub's description, and one recorded run of Townhall's loop against localhub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from .checker import Contract, contract
from .scenario import Recorded, run_scenario


@pytest.fixture(scope="session")
def description() -> Contract:
    """GitHub's REST description as kept in tests/contract/data."""
    return contract()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Run the demo's loop once per module with localhub recording every exchange."""
    workdir: Path = tmp_path_factory.mktemp("contract")
    return asyncio.run(run_scenario(workdir))
