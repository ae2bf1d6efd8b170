"""Environments: setup runs once per key; later commands cannot change what it built.

Every setup here is offline (a venv without pip, a script on PATH), so the tests are fast;
the egress proxy is checked against a server on loopback that it is told to allow.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes, SandboxFileError
from app.sandbox.bwrap import bwrap_unavailable_reason, layers_work, overlays_supported
from app.sandbox.envcache import READY
from app.sandbox.environment import EnvironmentFailed, environment_key
from app.sandbox.proxy import FORWARD_PORT, EgressProxy, blocked, host_allowed
from app.stacks import EnvironmentPlan
from tests.workers.sandbox_helpers import BWRAP_SKIP, ISOLATIONS, sandbox_options, write_tree

TOOL = "printf '#!/bin/sh\\necho tool ran with $GREETING\\n' > .venv/bin/mytool"
PLAN = EnvironmentPlan(
    stack="python",
    detected=True,
    package_manager="pip",
    image="",
    python="",
    node="",
    system_packages=(),
    setup=("python3 -m venv --without-pip .venv", f"{TOOL} && chmod +x .venv/bin/mytool"),
    build="",
    test="",
    analysers=(),
    env=(("GREETING", "hello"),),
    domains=(),
    command_timeout=120.0,
    cpu=2.0,
    memory_mb=4096,
    key_files=("requirements.txt", ".townhall.toml"),
    env_dirs=(".venv",),
    path_dirs=(".venv/bin",),
)
FILES = {"requirements.txt": "attrs==23.2.0\n", "src/app.py": "print('app')\n"}


# Bubblewrap where it works (always in CI); the tests that need it say so.
PREFERRED = "none" if bwrap_unavailable_reason() else "bwrap"


def factory(tmp_path: Path, isolation: str = "bwrap", **options: object) -> LocalSandboxes:
    """Local sandboxes whose environments are cached under `tmp_path`."""
    return LocalSandboxes(sandbox_options(isolation, cache_dir=tmp_path / "cache", **options))


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_an_environment_is_prepared_once_then_reused(tmp_path: Path, isolation: str) -> None:
    sandboxes = factory(tmp_path, isolation)
    tree = write_tree(tmp_path / "tree", FILES)
    cold = await sandboxes.prepare(PLAN, tree)
    warm = await sandboxes.prepare(PLAN, tree)
    assert not cold.reused and warm.reused and warm.key == cold.key
    assert warm.location == cold.location and warm.seconds < 0.5
    assert Path(cold.location).is_relative_to(tmp_path / "cache" / "envs")
    async with sandboxes.open(tree, warm) as sandbox:
        assert isinstance(sandbox, LocalSandbox)
        ran = await sandbox.exec("mytool; .venv/bin/python -c 'import sys; print(sys.prefix)'", 30)
        assert ran.exit_code == 0, ran.stderr
        assert ran.stdout.splitlines() == ["tool ran with hello", f"{sandbox.checkout}/.venv"]
        assert ".venv/bin/mytool" not in await sandbox.list_files()
        assert "src/app.py" in await sandbox.list_files()
        status = await sandbox.exec("git status --porcelain; git ls-files | grep -c venv", 30)
        assert status.stdout.split() == ["0"]  # not in the base commit, not untracked
        assert b"home = " in await sandbox.read_file(".venv/pyvenv.cfg")
        with pytest.raises(SandboxFileError, match="read-only"):
            await sandbox.write_file(".venv/bin/planted", b"x")


@BWRAP_SKIP
async def test_writes_over_environment_dirs_are_thrown_away_and_hidden(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path)
    tree = write_tree(tmp_path / "tree", FILES)
    environment = await sandboxes.prepare(PLAN, tree)
    cached = Path(environment.location) / "checkout" / ".venv"
    before = {path: path.read_bytes() for path in cached.rglob("*") if path.is_file()}
    # What tools do at run time (vitest's typecheck writes into node_modules): new files,
    # an existing file changed, a file removed.
    writes = "touch .venv/planted && echo more >> .venv/bin/mytool && rm .venv/pyvenv.cfg"
    async with sandboxes.open(tree, environment) as sandbox:
        assert isinstance(sandbox, LocalSandbox)
        tried = await sandbox.exec(f"{writes} && ls .venv; echo new > x", 30)
        if overlays_supported("bwrap") or layers_work():
            assert tried.exit_code == 0, tried.stderr
            assert "planted" in tried.stdout and "pyvenv.cfg" not in tried.stdout
            # Each command starts from the environment as it was built.
            again = await sandbox.exec("ls .venv; tail -n 1 .venv/bin/mytool", 30)
            assert "planted" not in again.stdout and "pyvenv.cfg" in again.stdout
            assert "more" not in again.stdout
        else:  # no overlays here: the environment stays read-only
            assert "Read-only file system" in tried.stderr
        mount_point = sandbox.host_checkout / ".venv"
        assert mount_point.is_dir() and list(mount_point.iterdir()) == []  # bwrap's mount point
        assert sorted(await sandbox.list_files()) == sorted([*FILES, "x"])
        offline = await sandbox.exec("cat /proc/net/dev", 30)
        assert "eth" not in offline.stdout  # no network after setup
    after = {path: path.read_bytes() for path in cached.rglob("*") if path.is_file()}
    assert after == before  # the cache never changes


@BWRAP_SKIP
def test_throwaway_layers_work_with_this_bubblewrap() -> None:
    # This machine's bubblewrap (0.8) has no overlays; the namespace of the command's own
    # gives them all the same (CI runs as root, or with unprivileged user namespaces).
    assert overlays_supported("bwrap") or layers_work()


async def test_a_changed_lockfile_makes_a_new_environment(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path, PREFERRED)
    tree = write_tree(tmp_path / "tree", FILES)
    first = await sandboxes.prepare(PLAN, tree)
    (tree / "src" / "app.py").write_text("print('changed')\n")  # not a key file
    assert (await sandboxes.prepare(PLAN, tree)).key == first.key
    (tree / "requirements.txt").write_text("attrs==24.1.0\n")
    second = await sandboxes.prepare(PLAN, tree)
    assert second.key != first.key and not second.reused
    assert environment_key(PLAN, tree, "local-bwrap") != environment_key(PLAN, tree, "modal:/w")
    changed = replace(PLAN, setup=(*PLAN.setup, "true"))
    assert environment_key(changed, tree, "local-bwrap") != environment_key(
        PLAN, tree, "local-bwrap"
    )


async def test_a_failed_setup_raises_and_is_not_cached(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path, PREFERRED)
    tree = write_tree(tmp_path / "tree", FILES)
    plan = replace(PLAN, setup=("mkdir .venv", "echo checking; test -f go-ahead || exit 4"))
    with pytest.raises(EnvironmentFailed) as failed:
        await sandboxes.prepare(plan, tree)
    assert failed.value.command == "echo checking; test -f go-ahead || exit 4"
    assert failed.value.exit_code == 4 and "checking" in failed.value.log_tail
    envs = tmp_path / "cache" / "envs"
    assert [path.name for path in envs.iterdir() if path.is_dir()] == []  # nothing kept
    (tree / "go-ahead").write_text("")  # not a key file: the same key, tried again
    retried = await sandboxes.prepare(plan, tree)
    assert not retried.reused and (Path(retried.location) / READY).is_file()


async def test_concurrent_prepares_of_one_key_share_one_setup(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path, PREFERRED)
    tree = write_tree(tmp_path / "tree", FILES)
    plan = replace(PLAN, setup=("sleep 1; mkdir .venv; date +%s%N > .venv/made",))
    results = await asyncio.gather(*(sandboxes.prepare(plan, tree) for _ in range(3)))
    assert sorted(result.reused for result in results) == [False, True, True]
    assert len({result.location for result in results}) == 1


async def test_old_environments_are_evicted_beyond_the_limit(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path, PREFERRED, max_environments=1)
    tree = write_tree(tmp_path / "tree", FILES)
    made = []
    for version in ("1", "2", "3"):
        (tree / "requirements.txt").write_text(f"attrs=={version}\n")
        environment = await sandboxes.prepare(replace(PLAN, setup=("mkdir .venv",)), tree)
        made.append(Path(environment.location))
        long_ago = time.time() - 24 * 3600
        os.utime(made[-1] / READY, (long_ago, long_ago))  # unused for a day
    assert [path.exists() for path in made] == [False, False, True]


async def test_a_sandbox_without_an_environment_refuses_nothing_new(tmp_path: Path) -> None:
    # The plan's directories are only special when an environment is attached.
    sandboxes = factory(tmp_path, PREFERRED)
    async with sandboxes.open(write_tree(tmp_path / "tree", FILES)) as sandbox:
        await sandbox.write_file(".venv/notes.txt", b"mine")
        assert ".venv/notes.txt" in await sandbox.list_files()


def test_the_proxy_allows_registries_and_listed_domains_only() -> None:
    domains = EgressProxy(Path("/nonexistent"), ["example.org"]).domains
    assert host_allowed("pypi.org", domains) and host_allowed("files.pythonhosted.org", domains)
    assert host_allowed("cdn.example.org", domains) and host_allowed("EXAMPLE.org.", domains)
    assert not host_allowed("evil-pypi.org", domains) and not host_allowed("127.0.0.1", domains)
    assert not host_allowed("example.org.evil.com", domains)
    for address in ("127.0.0.1", "::1", "169.254.169.254", "10.1.2.3", "::ffff:192.168.0.1"):
        assert blocked(address), address
    assert not blocked("151.101.0.223") and not blocked("203.0.113.80")


@BWRAP_SKIP
async def test_setup_reaches_the_network_only_through_the_proxy(tmp_path: Path) -> None:
    sandboxes = factory(tmp_path)
    tree = write_tree(tmp_path / "tree", FILES)
    # `localhost` is allowed by name here, but it is this machine: refused anyway.
    fetch = (
        "python3 -c \"import urllib.request; urllib.request.urlopen('https://localhost/',"
        ' timeout=5)"'
    )
    plan = replace(PLAN, setup=(fetch,), domains=("localhost",))
    with pytest.raises(EnvironmentFailed) as failed:
        await sandboxes.prepare(plan, tree)
    assert "Tunnel connection failed: 403" in failed.value.log_tail
    assert (
        "egress proxy refused: localhost:443 (resolves to a loopback or private address)"
        in failed.value.log_tail
    )
    other = replace(plan, setup=(fetch.replace("localhost", "example.com"),))
    with pytest.raises(EnvironmentFailed) as refused:
        await sandboxes.prepare(other, tree)
    assert "CONNECT example.com:443" in refused.value.log_tail


@BWRAP_SKIP
async def test_the_forwarder_relays_through_the_trusted_side(tmp_path: Path) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = EgressProxy(tmp_path / "proxy", ["localhost"], port=port, private_ok=True)
    await proxy.start()
    options = LocalOptions(isolation="bwrap")
    sandbox = await asyncio.to_thread(
        LocalSandbox.create, write_tree(tmp_path / "tree"), options, proxy=proxy
    )
    client = (
        f"import socket; s = socket.create_connection(('127.0.0.1', {FORWARD_PORT}));"
        f" s.sendall(b'CONNECT localhost:{port} HTTP/1.1\\r\\n\\r\\n');"
        " print(s.recv(100).split(b'\\r\\n')[0].decode()); s.sendall(b'hi\\n');"
        " print(s.recv(100).decode())"
    )
    try:
        result = await sandbox.exec(f'python3 -c "{client}"', 30)
        assert result.stdout.split() == ["HTTP/1.1", "200", "Connection", "established", "echo:hi"]
        assert "HTTPS_PROXY" in sandbox.env
    finally:
        await sandbox.close()
        await proxy.close()
        server.close()
        shutil.rmtree(tmp_path / "proxy", ignore_errors=True)


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_a_declared_dummy_key_reaches_setup_and_commands(
    tmp_path: Path, isolation: str
) -> None:
    # Test suites that insist on OPENAI_API_KEY get a placeholder through [sandbox].env; the
    # operator-side rule (no secret-looking names at all) would refuse it.
    plan = replace(
        PLAN,
        env=(("GREETING", "hello"), ("OPENAI_API_KEY", "dummy")),
        setup=(*PLAN.setup, 'test "$OPENAI_API_KEY" = dummy'),
    )
    sandboxes = factory(tmp_path, isolation)
    tree = write_tree(tmp_path / "tree", FILES)
    environment = await sandboxes.prepare(plan, tree)
    async with sandboxes.open(tree, environment) as sandbox:
        ran = await sandbox.exec('echo "$OPENAI_API_KEY"', 30)
        assert ran.stdout.strip() == "dummy"
    leaky = replace(PLAN, env=(("OPENAI_API_KEY", "sk-ant-" + "a" * 40),))
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        await factory(tmp_path / "other", isolation).prepare(leaky, tree)
