"""The local backend: files confined to the checkout, commands bounded in time and output."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.pathrules import PathError
from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes, SandboxFileError
from tests.workers.sandbox_helpers import ISOLATIONS, git, sandbox_options, write_tree


@pytest.fixture(params=ISOLATIONS)
async def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """A local sandbox over the sample tree, with and without bubblewrap."""
    options = sandbox_options(request.param, output_cap=4096)
    created = await LocalSandboxes(options).create(write_tree(tmp_path / "tree"))
    assert isinstance(created, LocalSandbox)
    yield created
    await created.close()


def _alive_with(marker: str) -> list[int]:
    """Return the pids of live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


async def test_exec_runs_in_the_checkout(sandbox: LocalSandbox) -> None:
    result = await sandbox.exec("pwd; cat README.md; echo oops >&2; exit 3", timeout=30)
    assert result.exit_code == 3 and not result.timed_out and not result.truncated
    assert result.stdout.splitlines()[0] == sandbox.checkout
    assert "# Sample" in result.stdout and result.stderr == "oops\n"
    sub = await sandbox.exec("pwd", timeout=30, cwd="src")
    assert sub.stdout.strip() == f"{sandbox.checkout}/src"


async def test_timeout_kills_the_whole_process_group(sandbox: LocalSandbox) -> None:
    marker = "317.25"  # an unusual sleep length that identifies the grandchild
    started = time.monotonic()
    result = await sandbox.exec(f"sleep {marker} & sleep {marker}; echo never", timeout=1)
    assert result.timed_out and result.exit_code != 0
    assert "never" not in result.stdout
    assert 1 <= result.duration < 10 and time.monotonic() - started < 10
    for _ in range(50):  # the kernel reaps asynchronously
        if not _alive_with(f"sleep {marker}"):
            break
        await asyncio.sleep(0.1)
    assert _alive_with(f"sleep {marker}") == []


async def test_background_children_do_not_outlive_their_command(sandbox: LocalSandbox) -> None:
    result = await sandbox.exec("(sleep 318.5 &) ; echo started", timeout=30)
    assert result.stdout == "started\n" and not result.timed_out
    await asyncio.sleep(0.2)
    assert _alive_with("sleep 318.5") == []


async def test_output_is_capped_keeping_head_and_tail(sandbox: LocalSandbox) -> None:
    result = await sandbox.exec(
        "echo FIRST; head -c 200000 /dev/zero | tr '\\0' x; echo; echo LAST", 30
    )
    assert result.truncated and result.exit_code == 0
    assert result.stdout.startswith("FIRST\n") and result.stdout.endswith("LAST\n")
    assert "bytes of output omitted" in result.stdout
    assert len(result.stdout) < 4096 + 100


async def test_files_round_trip_inside_the_checkout(sandbox: LocalSandbox) -> None:
    await sandbox.write_file("src/new/module.py", b"X = 1\n")
    assert await sandbox.read_file("./src/new//module.py") == b"X = 1\n"
    seen = await sandbox.exec("cat src/new/module.py", timeout=30)
    assert seen.stdout == "X = 1\n"
    files = await sandbox.list_files()
    assert "src/new/module.py" in files and "README.md" in files
    assert not any(name.startswith(".git/") for name in files)
    with pytest.raises(SandboxFileError, match="no such file"):
        await sandbox.read_file("missing.txt")
    with pytest.raises(SandboxFileError, match="larger than 3 bytes"):
        await sandbox.read_file("README.md", max_bytes=3)
    with pytest.raises(SandboxFileError, match="a directory"):
        await sandbox.read_file("src")
    with pytest.raises(SandboxFileError, match="cannot write"):
        await sandbox.write_file("src", b"x")
    with pytest.raises(SandboxFileError, match="cannot write"):
        await sandbox.write_file("README.md/inside.txt", b"x")
    with pytest.raises(PathError, match="directory"):
        await sandbox.write_file(".", b"x")


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "src/\x00.py", "src/../../x"])
async def test_escaping_paths_are_rejected(sandbox: LocalSandbox, path: str) -> None:
    with pytest.raises(PathError):
        await sandbox.read_file(path)
    with pytest.raises(PathError):
        await sandbox.write_file(path, b"x")
    with pytest.raises(PathError):
        await sandbox.exec("true", timeout=5, cwd=path)


async def test_symlinks_out_of_the_checkout_are_rejected(
    sandbox: LocalSandbox, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "host-secret.txt").write_text("host data")
    checkout = sandbox.host_checkout
    os.symlink(outside, checkout / "linkdir")
    os.symlink(outside / "host-secret.txt", checkout / "link.txt")
    with pytest.raises(PathError, match="outside the checkout"):
        await sandbox.read_file("link.txt")
    with pytest.raises(PathError, match="outside the checkout"):
        await sandbox.write_file("linkdir/planted.txt", b"x")
    assert not (outside / "planted.txt").exists()
    assert (outside / "host-secret.txt").read_text() == "host data"


async def test_a_fresh_git_repository_holds_the_base_tree(sandbox: LocalSandbox) -> None:
    await sandbox.write_file("src/app.py", b"changed\n")
    result = await sandbox.exec("git status --porcelain && git log --format=%s", timeout=30)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == " M src/app.py\nTownhall: base tree\n"


async def test_close_deletes_the_sandbox(tmp_path: Path) -> None:
    sandbox = await LocalSandboxes(LocalOptions(unisolated_allowed=True)).create(
        write_tree(tmp_path / "tree")
    )
    assert isinstance(sandbox, LocalSandbox)
    checkout = sandbox.host_checkout
    assert await asyncio.to_thread(checkout.is_dir)
    await sandbox.close()
    assert not await asyncio.to_thread(checkout.parent.exists)


async def test_the_source_git_directory_is_never_copied(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree")
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "source commit")
    sandbox = await LocalSandboxes(LocalOptions(unisolated_allowed=True)).create(tree)
    try:
        log = await sandbox.exec("git log --format=%s", timeout=30)
        assert log.stdout == "Townhall: base tree\n"
    finally:
        await sandbox.close()


def test_extra_environment_cannot_carry_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GITHUB_TOKEN looks like a secret"):
        LocalSandbox.create(write_tree(tmp_path / "a"), LocalOptions(env={"GITHUB_TOKEN": "x"}))
    ok = LocalSandbox.create(write_tree(tmp_path / "b"), LocalOptions(env={"CI": "1"}))
    assert ok.env["CI"] == "1"
    asyncio.run(ok.close())
