"""What the trusted side reads from a tree or a sandbox: no links followed, sizes checked first."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from app.github.policy import policy_from_tree
from app.pathrules import PathError, normalize_path, read_tree_file
from app.policy import PolicyError
from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes
from tests.workers.sandbox_helpers import write_tree
from workers.changes import UnpublishableChange, collect_changes

MB = 1024 * 1024


def test_a_regular_file_is_read_and_a_missing_one_is_none(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "map.md").write_text("# map\n")
    assert read_tree_file(tmp_path, "docs/map.md", 100) == b"# map\n"
    assert read_tree_file(tmp_path, "docs/absent.md", 100) is None
    assert read_tree_file(tmp_path, "nowhere/absent.md", 100) is None


def test_no_link_is_followed_at_any_depth(tmp_path: Path) -> None:
    (tmp_path / "CODEBASE_MAP.md").symlink_to("/proc/self/environ")
    (tmp_path / "inner").symlink_to("/proc/self")
    (tmp_path / "local.md").write_text("fine")
    (tmp_path / "alias.md").symlink_to("local.md")  # even a link that stays inside
    for path in ("CODEBASE_MAP.md", "inner/environ", "alias.md"):
        with pytest.raises(PathError, match="symbolic link"):
            read_tree_file(tmp_path, path, 1_000_000)


def test_special_and_oversized_files_are_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(PathError, match="not a regular file"):
        read_tree_file(tmp_path, "pipe", 100)
    with pytest.raises(PathError, match="over"):
        read_tree_file(tmp_path, "big", 100)


def test_a_policy_file_that_is_a_link_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOWNHALL_CANARY", "canary-secret-value")
    (tmp_path / ".townhall.toml").symlink_to("/proc/self/environ")
    with pytest.raises(PolicyError, match="symbolic link") as refused:
        policy_from_tree(tmp_path)
    assert "canary" not in str(refused.value)


async def test_an_oversized_sandbox_file_is_refused_without_being_read(tmp_path: Path) -> None:
    sandbox = await LocalSandboxes(LocalOptions(unisolated_allowed=True)).create(
        write_tree(tmp_path / "tree")
    )
    assert isinstance(sandbox, LocalSandbox)
    try:
        big = sandbox.host_checkout / "big.bin"
        with big.open("wb") as handle:
            handle.truncate(64 * MB)  # sparse: cheap to make, 64 MB to whoever reads it
        tracemalloc.start()
        try:
            with pytest.raises(UnpublishableChange, match=r"big\.bin: 67108864 bytes is larger"):
                await collect_changes(sandbox, tmp_path / "tree", max_file_bytes=MB)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        await sandbox.close()
    assert peak < 8 * MB


def test_file_names_with_line_breaks_are_refused() -> None:
    for path in ("notes/a\nCloses #9.txt", "a\rb", "tab\there"):
        with pytest.raises(PathError, match="control characters"):
            normalize_path(path)
