"""Reading `.townhall.toml` through the API: a file is parsed, a symlink is refused (localhub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.github.policy import policy_from_github
from app.policy import Policy, PolicyError
from app.store import Store
from tests.stands import Stands, calc_repository, running_stands

POLICY = "[limits]\nmax_attempts = 5\n"


async def _read(stands: Stands) -> Policy:
    client = await stands.access.installation_client(stands.installation_id, [stands.repo])
    async with client:
        return await policy_from_github(client, stands.owner, stands.repo, "main")


async def test_the_policy_file_is_read_from_the_default_branch(
    tmp_path: Path, store: Store
) -> None:
    with running_stands(tmp_path, store, calc_repository(POLICY)) as stands:
        policy = await _read(stands)
    assert policy.limits.max_attempts == 5


async def test_a_policy_file_that_is_a_symlink_is_refused_not_defaulted(
    tmp_path: Path, store: Store
) -> None:
    files = calc_repository(POLICY)
    del files[".townhall.toml"]
    links = {".townhall.toml": "/proc/self/environ"}
    with (
        running_stands(tmp_path, store, files, links=links) as stands,
        pytest.raises(PolicyError, match="symlink"),
    ):
        await _read(stands)
