"""Bubblewrap: used when it works, with no network; said once in the log when it does not."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes
from app.sandbox.bwrap import bwrap_argv
from tests.workers.sandbox_helpers import BWRAP_SKIP, write_tree

CONNECT = (
    'python3 -c \'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])),'
    ' timeout=3); print("connected")\' {port}'
)


@pytest.fixture
def host_port() -> Iterator[int]:
    """A TCP port listening on the host's loopback interface."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
async def auto_sandbox(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """A local sandbox with the default isolation ("auto")."""
    sandbox = await LocalSandboxes().create(write_tree(tmp_path / "tree"))
    assert isinstance(sandbox, LocalSandbox)
    yield sandbox
    await sandbox.close()


def test_bwrap_argv_isolates_network_and_binds_only_the_sandbox_writable() -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        writable=Path("/tmp/sb"),
        cwd=Path("/tmp/sb/checkout"),
        read_only=[Path("/opt/tool")],
    )
    assert argv[0] == "/usr/bin/bwrap"
    assert {"--unshare-net", "--unshare-all", "--die-with-parent", "--new-session"} <= set(argv)
    triples = {tuple(argv[i : i + 3]) for i in range(len(argv) - 2)}
    assert ("--bind", "/tmp/sb", "/tmp/sb") in triples
    assert ("--ro-bind-try", "/usr", "/usr") in triples
    assert ("--ro-bind", "/opt/tool", "/opt/tool") in triples
    assert argv[-2:] == ["--chdir", "/tmp/sb/checkout"]
    binds = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--bind", "--ro-bind-try")]
    assert "/etc" not in binds and "/etc/shadow" not in binds and "/home" not in binds
    assert argv.index("--tmpfs") < argv.index("--bind")  # the sandbox dir stays visible


@BWRAP_SKIP
async def test_bwrap_is_used_when_it_works(auto_sandbox: LocalSandbox) -> None:
    assert auto_sandbox.isolated
    seen = await auto_sandbox.exec("echo $$; cat /proc/1/cmdline | tr '\\0' ' '", timeout=30)
    first_pid, init = seen.stdout.splitlines()
    assert int(first_pid) < 10 and "bwrap" in init.split()[0]  # a fresh pid namespace


@BWRAP_SKIP
async def test_network_is_blocked_inside_bwrap(auto_sandbox: LocalSandbox, host_port: int) -> None:
    result = await auto_sandbox.exec(CONNECT.format(port=host_port), timeout=30)
    assert result.exit_code != 0 and "connected" not in result.stdout
    assert "Connection refused" in result.stderr or "unreachable" in result.stderr
    routes = await auto_sandbox.exec("cat /proc/net/dev", timeout=30)
    assert "eth" not in routes.stdout and "lo:" in routes.stdout


async def test_without_bwrap_the_same_connection_succeeds(tmp_path: Path, host_port: int) -> None:
    # The counterpart of the test above: the probe really does reach the host when not isolated.
    tree = write_tree(tmp_path / "tree")
    sandbox = await LocalSandboxes(LocalOptions(isolation="none")).create(tree)
    try:
        result = await sandbox.exec(CONNECT.format(port=host_port), timeout=30)
        assert result.stdout.strip() == "connected", result.stderr
    finally:
        await sandbox.close()


@BWRAP_SKIP
async def test_only_the_sandbox_directory_is_writable(auto_sandbox: LocalSandbox) -> None:
    result = await auto_sandbox.exec(
        "touch /usr/planted 2>&1; touch /etc/planted 2>&1; echo ok > $HOME/x && echo ok > $TMPDIR/y"
        " && echo ok > z && cat $HOME/x; ls /etc/shadow /root 2>&1",
        timeout=30,
    )
    assert "Read-only file system" in result.stdout
    assert "ok" in result.stdout and "No such file or directory" in result.stdout
    assert not await asyncio.to_thread(Path("/usr/planted").exists)


def test_missing_bwrap_is_said_once_in_the_log(tmp_path: Path) -> None:
    write_tree(tmp_path / "tree")
    script = textwrap.dedent(
        f"""
        import asyncio, logging
        from pathlib import Path
        from app.sandbox import LocalSandbox
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        async def main():
            for _ in range(3):
                sandbox = LocalSandbox.create(Path({str(tmp_path / "tree")!r}))
                result = await sandbox.exec("echo isolated=" + str(sandbox.isolated), 10)
                print(result.stdout.strip())
                await sandbox.close()
        asyncio.run(main())
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": str(tmp_path / "empty")},  # no bwrap to be found
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == ["isolated=False"] * 3
    warnings = [line for line in run.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "bwrap is not installed" in warnings[0]
