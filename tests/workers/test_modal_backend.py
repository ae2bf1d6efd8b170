"""The Modal backend without Modal: its arguments, and its logic over a local stand-in handle.

Modal cannot be reached here. `LocalModalHandle` answers the calls ModalSandbox makes
(`exec.aio`, `filesystem.*.aio`, `terminate.aio`) with the same shapes, by running real
processes and touching real files, so the backend's own code runs end to end.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import modal
import modal.exception
import pytest

from app.pathrules import PathError, WriteRules
from app.sandbox import SandboxFileError
from app.sandbox.baseline import init_baseline
from app.sandbox.environment import Environment
from app.sandbox.modal_backend import (
    ModalOptions,
    ModalSandbox,
    create_kwargs,
    environment_options,
    exec_argv,
    image_recipe,
    recipe_image,
    relative_to_checkout,
    was_timed_out,
)
from app.stacks import EnvironmentPlan
from tests.workers.sandbox_helpers import write_tree
from tests.workers.test_sandbox_environment import PLAN
from workers.tools import ToolBox


class _Aio:
    def __init__(self, function: Callable[..., Any]) -> None:
        self.aio = function


class _Stream:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._reader.read(4096)
        if not chunk:
            raise StopAsyncIteration
        return chunk


def _stat(path: str) -> SimpleNamespace:
    target = Path(path)
    if not target.exists():
        raise modal.exception.SandboxFilesystemNotFoundError(path)
    return SimpleNamespace(is_file=target.is_file, size=target.stat().st_size)


def _write(path: str, data: bytes) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)


class LocalModalHandle:
    """Answers ModalSandbox's calls to `modal.Sandbox` on this machine."""

    def __init__(self) -> None:
        self.exec_calls: list[dict[str, Any]] = []
        self.terminated = False
        self.exec = _Aio(self._exec)
        self.terminate = _Aio(self._terminate)
        self.filesystem = SimpleNamespace(
            stat=_Aio(self._stat),
            read_bytes=_Aio(self._read_bytes),
            write_bytes=_Aio(self._write_bytes),
            copy_from_local=_Aio(self._copy_from_local),
        )

    async def _exec(
        self,
        *args: str,
        workdir: str,
        env: dict[str, str],
        timeout: int,
        text: bool,
    ) -> SimpleNamespace:
        assert text is False and all(isinstance(arg, str) for arg in args)
        self.exec_calls.append({"args": args, "workdir": workdir, "env": env, "timeout": timeout})
        process = await asyncio.create_subprocess_exec(
            *args, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None and process.stderr is not None
        return SimpleNamespace(
            stdout=_Stream(process.stdout), stderr=_Stream(process.stderr), wait=_Aio(process.wait)
        )

    async def _stat(self, path: str) -> SimpleNamespace:
        return await asyncio.to_thread(_stat, path)

    async def _read_bytes(self, path: str) -> bytes:
        return await asyncio.to_thread(Path(path).read_bytes)

    async def _write_bytes(self, data: bytes, path: str) -> None:
        await asyncio.to_thread(_write, path, data)

    async def _copy_from_local(self, local: Path, remote: str) -> None:
        await asyncio.to_thread(shutil.copyfile, local, remote)

    async def _terminate(self) -> None:
        self.terminated = True


@pytest.fixture
async def modal_sandbox(tmp_path: Path) -> AsyncIterator[tuple[ModalSandbox, LocalModalHandle]]:
    """A ModalSandbox over the local stand-in, holding the sample tree and a git base."""
    options = ModalOptions(
        workdir=str(tmp_path / "workspace"), scratch_dir=str(tmp_path), output_cap=2048
    )
    handle = LocalModalHandle()
    sandbox = ModalSandbox(handle, options)  # type: ignore[arg-type]
    await sandbox.upload_tree(write_tree(tmp_path / "tree"))
    await init_baseline(sandbox)
    yield sandbox, handle
    await sandbox.close()


def test_create_kwargs_block_the_network_and_carry_no_secrets() -> None:
    kwargs = create_kwargs(ModalOptions())
    assert kwargs == {"timeout": 3600, "workdir": "/workspace", "block_network": True}
    assert "secrets" not in kwargs and "env" not in kwargs


def test_create_kwargs_with_an_allowlist_limit_instead_of_blocking() -> None:
    options = ModalOptions(
        cidr_allowlist=("151.101.0.0/16",), domain_allowlist=("pypi.org",), cpu=2.0, memory_mb=4096
    )
    assert create_kwargs(options) == {
        "timeout": 3600,
        "workdir": "/workspace",
        "outbound_cidr_allowlist": ["151.101.0.0/16"],
        "outbound_domain_allowlist": ["pypi.org"],
        "cpu": 2.0,
        "memory": 4096,
    }


def test_options_refuse_secret_environment() -> None:
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY looks like a secret"):
        ModalSandbox(LocalModalHandle(), ModalOptions(env={"ANTHROPIC_API_KEY": "x"}))  # type: ignore[arg-type]


def test_exec_argv_times_out_the_whole_process_group(tmp_path: Path) -> None:
    argv = exec_argv("sleep 319.5 & sleep 319.5", 1)
    assert argv[:3] == ["timeout", "--kill-after=5", "1"] and argv[-3:-1] == ["sh", "-c"]
    started = time.monotonic()
    # Run it for real: coreutils `timeout` is what the Modal image runs too.
    result = subprocess.run(argv, capture_output=True, check=False, timeout=20)
    duration = time.monotonic() - started
    assert result.returncode == 124 and was_timed_out(result.returncode, duration, 1)
    time.sleep(0.2)
    ps = subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True, check=True)
    alive = [
        line for line in ps.stdout.splitlines() if "sleep 319.5" in line and "Z" not in line[:2]
    ]
    assert alive == []


def test_was_timed_out_needs_both_the_code_and_the_time() -> None:
    assert was_timed_out(124, 5.0, 5.0) and was_timed_out(137, 11.0, 5.0)
    assert not was_timed_out(124, 0.1, 5.0)  # the command itself exited 124
    assert not was_timed_out(1, 9.0, 5.0)


def test_relative_to_checkout() -> None:
    assert relative_to_checkout("/workspace/src/a.py", "/workspace", "a") == "src/a.py"
    assert relative_to_checkout("/workspace", "/workspace", ".") == "."
    for outside in ("/etc/passwd", "/workspace2/x"):
        with pytest.raises(PathError, match="outside the checkout"):
            relative_to_checkout(outside, "/workspace", "x")


async def test_upload_exec_and_files(modal_sandbox: tuple[ModalSandbox, LocalModalHandle]) -> None:
    sandbox, handle = modal_sandbox
    assert sorted(Path(sandbox.checkout).parent.glob("townhall-tree-*.tar")) == []
    result = await sandbox.exec("pwd; git log --format=%s; echo $HOME", timeout=30, cwd="src")
    assert result.exit_code == 0 and not result.timed_out, result.stderr
    assert result.stdout.split() == [
        f"{sandbox.checkout}/src",
        "Townhall:",
        "base",
        "tree",
        "/root",
    ]
    call = handle.exec_calls[-1]
    assert call["args"][0] == "timeout" and call["timeout"] == 30 + 5 + 15
    assert "GITHUB_TOKEN" not in call["env"] and call["env"]["GIT_CONFIG_NOSYSTEM"] == "1"
    await sandbox.write_file("src/new/mod.py", b"X = 1\n")
    assert await sandbox.read_file("src/new/mod.py") == b"X = 1\n"
    files = await sandbox.list_files()
    assert "src/new/mod.py" in files and ".github/workflows/ci.yml" in files
    assert not any(name.startswith(".git/") for name in files)
    with pytest.raises(SandboxFileError, match="no such file"):
        await sandbox.read_file("missing.py")
    with pytest.raises(SandboxFileError, match="larger than 2 bytes"):
        await sandbox.read_file("README.md", max_bytes=2)


async def test_timeouts_and_output_caps(
    modal_sandbox: tuple[ModalSandbox, LocalModalHandle],
) -> None:
    sandbox, _ = modal_sandbox
    timed = await sandbox.exec("sleep 30", timeout=1)
    assert timed.timed_out and timed.exit_code == 124 and timed.duration < 10
    loud = await sandbox.exec("seq 1 100000", timeout=30)
    assert loud.truncated and loud.stdout.endswith("100000\n") and len(loud.stdout) < 2200


async def test_symlinks_out_of_the_checkout_are_rejected(
    modal_sandbox: tuple[ModalSandbox, LocalModalHandle],
) -> None:
    sandbox, _ = modal_sandbox
    await sandbox.exec("ln -s /etc etc-link && ln -s src/app.py alias.py", timeout=30)
    with pytest.raises(PathError, match="outside the checkout"):
        await sandbox.read_file("etc-link/passwd")
    with pytest.raises(PathError, match="outside the checkout"):
        await sandbox.write_file("etc-link/planted", b"x")
    assert await sandbox.resolve("alias.py") == "src/app.py"
    with pytest.raises(PathError, match=r"'\.\.'"):
        await sandbox.read_file("../tree/README.md")


async def test_tools_work_over_the_modal_backend(
    modal_sandbox: tuple[ModalSandbox, LocalModalHandle],
) -> None:
    sandbox, handle = modal_sandbox
    box = ToolBox(sandbox, WriteRules())
    outcome = await box.dispatch("search", {"pattern": "def greet"})
    assert outcome.content == "src/app.py:1: def greet(name):"
    edit = await box.dispatch(
        "edit_file", {"path": "src/util.py", "old_text": "OTHER = 2", "new_text": "OTHER = 3"}
    )
    assert not edit.is_error and box.written == ["src/util.py"]
    diff = await sandbox.exec("git diff --stat", timeout=30)
    assert "src/util.py | 2 +-" in diff.stdout
    await sandbox.close()
    assert handle.terminated


def _plan(**changes: Any) -> EnvironmentPlan:
    return replace(PLAN, **changes)


def test_an_environment_image_is_built_from_the_plan(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", {"requirements.txt": "attrs==23.2.0\n"})
    plan = _plan(system_packages=("libportaudio2", "git"), node="20", python="3.12")
    recipe = image_recipe(plan, tree, ModalOptions())
    assert recipe.registry_image == "" and recipe.python == "3.12"
    assert recipe.apt_packages == ("git", "libportaudio2", "nodejs", "npm")
    # Only key files that exist are added, at the checkout's own path, where setup runs.
    assert recipe.key_files == (("requirements.txt", "/workspace/requirements.txt"),)
    assert recipe.workdir == "/workspace" and recipe.setup == plan.setup
    assert recipe.env == (("GREETING", "hello"),)
    assert isinstance(recipe_image(recipe, tree), modal.Image)  # lazy: nothing is built
    custom = image_recipe(_plan(image="node:20-bookworm", node="20"), tree, ModalOptions())
    assert custom.registry_image == "node:20-bookworm" and "nodejs" not in custom.apt_packages
    assert custom.python == "3.11"  # Modal adds this Python to a registry image


def test_a_sandbox_on_an_environment_gets_its_resources_and_path() -> None:
    plan = _plan(cpu=4.0, memory_mb=8192)
    environment = Environment("k" * 32, plan, True, 0.1, "im-123")
    options = environment_options(ModalOptions(), environment)
    assert (options.cpu, options.memory_mb) == (4.0, 8192)
    assert options.path.startswith("/workspace/.venv/bin:") and options.hidden_dirs == (".venv",)
    # The repository's variables are declared ones (held to the declared-variable rule).
    assert options.declared_env == (("GREETING", "hello"),) and dict(options.env) == {}
    assert create_kwargs(options)["block_network"] is True  # the agent's sandbox stays offline


async def test_environment_dirs_are_not_listed(tmp_path: Path) -> None:
    options = ModalOptions(
        workdir=str(tmp_path / "workspace"), scratch_dir=str(tmp_path), hidden_dirs=(".venv",)
    )
    sandbox = ModalSandbox(LocalModalHandle(), options)  # type: ignore[arg-type]
    await sandbox.upload_tree(write_tree(tmp_path / "tree", {"a.py": "", ".venv/bin/x": ""}))
    assert await sandbox.list_files() == ["a.py"]
