"""Bubblewrap isolation: no host file, process, loopback service or network; never uid 0.

Local sandboxes fail closed: without working bubblewrap they are refused, unless unisolated
ones were explicitly allowed, and then every one is announced in the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes, SandboxError
from app.sandbox.bwrap import SANDBOX_UID, bwrap_argv, supports
from app.sandbox.isolation import describe_isolation, isolation_problem
from tests.workers.sandbox_helpers import BWRAP_SKIP, write_tree

CONNECT = (
    "python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])),"
    ' timeout=3); print("connected")\' {host} {port}'
)
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def host_port() -> Iterator[int]:
    """A TCP port listening on the host's loopback interface."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
async def isolated(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """A local sandbox with the default options: bubblewrap, required."""
    sandbox = await LocalSandboxes().create(write_tree(tmp_path / "tree"))
    assert isinstance(sandbox, LocalSandbox)
    yield sandbox
    await sandbox.close()


@pytest.fixture
async def unisolated(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """The counterpart: a sandbox explicitly run without isolation."""
    options = LocalOptions(isolation="none", unisolated_allowed=True)
    sandbox = await LocalSandboxes(options).create(write_tree(tmp_path / "plain"))
    assert isinstance(sandbox, LocalSandbox)
    yield sandbox
    await sandbox.close()


def test_bwrap_argv_drops_root_and_binds_only_the_sandbox_writable() -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        writable=Path("/tmp/sb"),
        cwd="/workspace/checkout",
        read_only=[Path("/opt/tool")],
        binds=[(Path("/cache/env/.venv"), "/workspace/checkout/.venv")],
    )
    assert argv[0] == "/usr/bin/bwrap"
    flags = {"--unshare-net", "--unshare-all", "--unshare-user", "--unshare-pid"}
    assert flags | {"--die-with-parent", "--new-session"} <= set(argv)
    # Nested user namespaces are refused where bubblewrap can (0.8 and later).
    assert ("--disable-userns" in argv) == supports("/usr/bin/bwrap", "--disable-userns")
    triples = {tuple(argv[i : i + 3]) for i in range(len(argv) - 2)}
    assert ("--uid", "65534", "--gid") in triples
    assert ("--bind", "/tmp/sb", "/workspace") in triples
    assert ("--ro-bind", "/cache/env/.venv", "/workspace/checkout/.venv") in triples
    assert ("--ro-bind", "/proc/sys", "/proc/sys") in triples
    assert ("--ro-bind-try", "/usr", "/usr") in triples
    assert ("--ro-bind", "/opt/tool", "/opt/tool") in triples
    assert argv[-4:] == ["--remount-ro", "/", "--chdir", "/workspace/checkout"]
    binds = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--bind", "--ro-bind-try")]
    assert "/etc" not in binds and "/etc/shadow" not in binds and "/home" not in binds
    assert argv.index("--proc") < argv.index("/proc/sys")  # over the fresh /proc
    assert argv.index("--tmpfs") < argv.index("--bind")  # the sandbox dir stays visible


@BWRAP_SKIP
async def test_commands_run_as_nobody_in_their_own_namespaces(isolated: LocalSandbox) -> None:
    assert isolated.isolated and isolated.checkout == "/workspace/checkout"
    seen = await isolated.exec(
        "id -u; id -g; cat /proc/self/uid_map; echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
        timeout=30,
    )
    uid, gid, uid_map, first_pid, init = seen.stdout.splitlines()
    assert (uid, gid) == (str(SANDBOX_UID), str(SANDBOX_UID))
    if supports("bwrap", "--disable-userns"):
        nested = await isolated.exec("unshare -U -r id -u", timeout=30)
        assert nested.exit_code != 0 and nested.stdout == ""  # no way back to a root inside
    assert uid_map.split() == [str(SANDBOX_UID), str(os.getuid()), "1"]  # 0 is not mapped
    assert int(first_pid) < 10 and "bwrap" in init.split()[0]  # a fresh pid namespace


@BWRAP_SKIP
async def test_sysctls_root_and_dev_are_read_only(isolated: LocalSandbox) -> None:
    result = await isolated.exec(
        "echo core > /proc/sys/kernel/core_pattern; touch /planted /dev/planted;"
        " mkdir /workspace/x && echo workspace-ok",
        timeout=30,
    )
    assert result.stderr.count("Read-only file system") == 3, result.stderr
    assert "workspace-ok" in result.stdout  # the sandbox directory itself stays writable
    assert not await asyncio.to_thread(Path("/planted").exists)


@BWRAP_SKIP
async def test_memory_backed_mounts_are_bounded(isolated: LocalSandbox) -> None:
    result = await isolated.exec(
        "head -c 100000000 /dev/zero > /dev/shm/fill; echo shm=$?;"
        " head -c 300000000 /dev/zero > /tmp/fill; echo tmp=$?",
        timeout=60,
    )
    assert "shm=1" in result.stdout and "tmp=1" in result.stdout, result.stdout
    assert result.stderr.count("No space left on device") == 2


@BWRAP_SKIP
async def test_no_process_survives_its_command(isolated: LocalSandbox) -> None:
    marker = f"{secrets.randbelow(10**6) + 1000}.5"
    result = await isolated.exec(
        f"sleep {marker} & setsid sleep {marker} & nohup sleep {marker} >/dev/null 2>&1 & echo ok",
        timeout=30,
    )
    assert result.stdout.strip() == "ok"
    await asyncio.sleep(0.5)
    assert await asyncio.to_thread(_processes_running, f"sleep\0{marker}") == []


def _processes_running(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@BWRAP_SKIP
async def test_no_host_file_outside_the_sandbox_is_visible(
    isolated: LocalSandbox, tmp_path: Path
) -> None:
    (tmp_path / "outside.txt").write_text("host file")
    hidden = ["/home", "/root", "/work", str(REPOSITORY), str(tmp_path), "/etc/shadow", "/var"]
    result = await isolated.exec(
        " ; ".join(f"ls -d {path} 2>/dev/null && echo visible:{path}" for path in hidden)
        + "; ls /; echo; ls /etc",
        timeout=30,
    )
    assert "visible:" not in result.stdout, result.stdout
    assert set(result.stdout.split()[:20]) <= {
        "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr",
        "workspace", "passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ld.so.conf",
        "ld.so.conf.d", "alternatives", "ssl", "ca-certificates", "localtime", "mime.types",
        "python3", "python3.11", "python3.12",
    }  # fmt: skip


PARENT = """
import asyncio, sys
from pathlib import Path
from app.sandbox import LocalOptions, LocalSandbox
READ_ALL = "cat /proc/$PPID/environ /proc/[0-9]*/environ 2>/dev/null | tr '\\\\0' '\\\\n'"
async def main():
    options = LocalOptions(isolation=sys.argv[1], unisolated_allowed=True)
    sandbox = LocalSandbox.create(Path(sys.argv[2]), options)
    print((await sandbox.exec(READ_ALL, 30)).stdout)
    await sandbox.close()
asyncio.run(main())
"""


def _environments_seen(isolation: str, tree: Path, token: str) -> str:
    """Run a trusted process holding `token` in its environment; return what its sandbox read."""
    run = subprocess.run(
        [sys.executable, "-c", PARENT, isolation, str(tree)],
        env={"PATH": os.environ["PATH"], "PARENT_SECRET": token},
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout


@pytest.mark.parametrize("isolation", ["none", pytest.param("bwrap", marks=BWRAP_SKIP)])
async def test_the_parents_environment_is_out_of_reach(tmp_path: Path, isolation: str) -> None:
    token = f"probe-{secrets.token_hex(8)}"
    tree = write_tree(tmp_path / "tree")
    seen = await asyncio.to_thread(_environments_seen, isolation, tree, token)
    assert "PATH=" in seen
    # Unisolated, the parent is readable (the probe works); under bubblewrap it is not.
    assert (token in seen) == (isolation == "none")


@BWRAP_SKIP
async def test_host_loopback_services_are_unreachable(
    isolated: LocalSandbox, unisolated: LocalSandbox, host_port: int
) -> None:
    probe = CONNECT.format(host="127.0.0.1", port=host_port)
    reached = await unisolated.exec(probe, timeout=30)  # the probe does reach the host...
    assert reached.stdout.strip() == "connected", reached.stderr
    result = await isolated.exec(probe, timeout=30)  # ...but not from inside bwrap
    assert result.exit_code != 0 and "connected" not in result.stdout
    assert "Connection refused" in result.stderr


@BWRAP_SKIP
async def test_there_is_no_network_but_loopback(isolated: LocalSandbox) -> None:
    result = await isolated.exec(CONNECT.format(host="192.0.2.1", port=443), timeout=30)
    assert result.exit_code != 0 and "Network is unreachable" in result.stderr
    routes = await isolated.exec("cat /proc/net/dev", timeout=30)
    assert "eth" not in routes.stdout and "lo:" in routes.stdout


@BWRAP_SKIP
async def test_files_made_inside_belong_to_the_host_user(isolated: LocalSandbox) -> None:
    made = await isolated.exec(
        "mkdir -p out/deep && echo x > out/deep/f && chmod 000 out/deep && stat -c %u out",
        timeout=30,
    )
    assert made.stdout.strip() == str(SANDBOX_UID)
    owner = (isolated.host_checkout / "out").stat().st_uid
    assert owner == os.getuid()  # so the trusted side can read and delete what it made
    await isolated.close()
    assert not await asyncio.to_thread(isolated.host_checkout.exists)


async def test_without_bubblewrap_a_sandbox_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    with pytest.raises(SandboxError) as refused:
        await LocalSandboxes(LocalOptions(bwrap=missing)).create(write_tree(tmp_path / "tree"))
    message = str(refused.value)
    assert "bubblewrap is not installed" in message and "apt-get install bubblewrap" in message
    assert "TOWNHALL_UNISOLATED_SANDBOX=1" in message
    problem = isolation_problem(False, missing)
    assert problem is not None and "apt-get install bubblewrap" in problem
    assert isolation_problem(True, missing) is None
    assert "UNISOLATED" in describe_isolation(True, missing)
    with pytest.raises(SandboxError, match="isolation was turned off"):
        LocalSandbox.create(tmp_path / "tree", LocalOptions(isolation="none"))
    required = LocalOptions(isolation="bwrap", bwrap=missing, unisolated_allowed=True)
    with pytest.raises(SandboxError, match="bubblewrap isolation is required here"):
        LocalSandbox.create(tmp_path / "tree", required)  # the flag does not lift a requirement


async def test_every_unisolated_sandbox_is_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = LocalOptions(bwrap=str(tmp_path / "no-such-bwrap"), unisolated_allowed=True)
    tree = write_tree(tmp_path / "tree")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            sandbox = await LocalSandboxes(options).create(tree)
            assert isinstance(sandbox, LocalSandbox) and not sandbox.isolated
            await sandbox.close()
    warnings = [r.getMessage() for r in caplog.records if "UNISOLATED SANDBOX" in r.getMessage()]
    assert len(warnings) == 3 and "bubblewrap is not installed" in warnings[0]


@BWRAP_SKIP
def test_working_bubblewrap_is_no_problem() -> None:
    assert isolation_problem(False) is None
    assert "isolated by bubblewrap" in describe_isolation(False)
