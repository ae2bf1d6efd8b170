"""The local sandbox's writable space is bounded: per file, in total, and /tmp under bwrap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes, SandboxFileError
from app.sandbox.local import disk_usage
from tests.workers.sandbox_helpers import BWRAP_SKIP, ISOLATIONS, sandbox_options, write_tree

MB = 1024 * 1024
QUOTA = 8 * MB


@pytest.fixture(params=ISOLATIONS)
async def small(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """A sandbox with an 8 MB disk quota and a 4 MB /tmp, isolated or not."""
    options = sandbox_options(request.param, disk_quota_bytes=QUOTA, tmp_bytes=4 * MB)
    sandbox = await LocalSandboxes(options).create(write_tree(tmp_path / "tree"))
    assert isinstance(sandbox, LocalSandbox)
    yield sandbox
    await sandbox.close()


async def test_one_file_stops_at_the_quota(small: LocalSandbox) -> None:
    result = await small.exec("head -c 50000000 /dev/zero > big; echo wrote", timeout=60)
    assert result.exit_code != 0
    assert (small.host_checkout / "big").stat().st_size <= QUOTA


async def test_many_files_are_stopped_once_the_sandbox_passes_its_quota(
    small: LocalSandbox,
) -> None:
    many = "for i in $(seq 1 40); do head -c 1000000 /dev/zero > f$i; sleep 0.1; done"
    result = await small.exec(f"{many}; echo finished", timeout=60)
    assert "finished" not in result.stdout
    assert result.exit_code != 0 and "over its quota" in result.stderr
    # Measured while it ran: stopped within a poll of passing the quota, far short of 40 MB.
    assert disk_usage(small.host_checkout) < QUOTA + 10 * MB


async def test_the_trusted_sides_writes_respect_the_quota(small: LocalSandbox) -> None:
    await small.write_file("a.bin", b"\0" * (4 * MB))
    with pytest.raises(SandboxFileError, match="of disk"):
        await small.write_file("b.bin", b"\0" * (6 * MB))


@BWRAP_SKIP
async def test_tmp_under_bwrap_is_a_bounded_tmpfs(tmp_path: Path) -> None:
    options = LocalOptions(isolation="bwrap", tmp_bytes=4 * MB)
    sandbox = await LocalSandboxes(options).create(write_tree(tmp_path / "tree"))
    try:
        result = await sandbox.exec("head -c 20000000 /dev/zero > /tmp/x", timeout=60)
    finally:
        await sandbox.close()
    assert result.exit_code != 0 and "No space left" in result.stderr
