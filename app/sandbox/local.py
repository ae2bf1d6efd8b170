"""The local backend: a copy of the tree in a temporary directory, commands as subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.pathrules import PathError, resolve_inside
from app.sandbox.base import ExecResult, SandboxError, SandboxFileError
from app.sandbox.bwrap import bwrap_argv, bwrap_path
from app.sandbox.env import DEFAULT_PATH, sandbox_env
from app.sandbox.process import run_process
from app.sandbox.tree import copy_tree, walk_files

Isolation = Literal["auto", "bwrap", "none"]


@dataclass(frozen=True)
class LocalOptions:
    """How the local backend runs commands.

    `isolation`: "auto" uses bubblewrap when it works here, "bwrap" requires it, "none" never
    uses it. `read_only` directories (a toolchain outside /usr, say) are visible under bwrap.
    """

    isolation: Isolation = "auto"
    path: str = DEFAULT_PATH
    read_only: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    output_cap: int = 64_000


class LocalSandbox:
    """A sandbox in a temporary directory: `checkout/`, plus its own `home/` and `tmp/`."""

    backend = "local"

    def __init__(self, base: Path, options: LocalOptions, bwrap: str | None) -> None:
        self._base = base
        self._root = base / "checkout"
        self._options = options
        self._bwrap = bwrap
        self._env = sandbox_env(
            home=str(base / "home"), tmpdir=str(base / "tmp"), path=options.path, extra=options.env
        )

    @classmethod
    def create(cls, tree: Path, options: LocalOptions | None = None) -> LocalSandbox:
        """Copy `tree` (without any `.git`) into a new sandbox directory."""
        options = options or LocalOptions()
        bwrap = None if options.isolation == "none" else bwrap_path()
        if options.isolation == "bwrap" and bwrap is None:
            raise SandboxError("bubblewrap isolation was required but bwrap does not work here")
        # Resolved so bwrap binds and symlink checks agree on one spelling of the path.
        base = Path(tempfile.mkdtemp(prefix="townhall-sandbox-")).resolve()
        try:
            for name in ("home", "tmp"):
                (base / name).mkdir()
            copy_tree(tree, base / "checkout")
            return cls(base, options, bwrap)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise

    @property
    def checkout(self) -> str:
        """Return the checkout's absolute path (the same inside and outside bwrap)."""
        return str(self._root)

    @property
    def isolated(self) -> bool:
        """Return whether commands run under bubblewrap."""
        return self._bwrap is not None

    @property
    def env(self) -> dict[str, str]:
        """Return a copy of the environment every command gets."""
        return dict(self._env)

    async def resolve(self, path: str) -> str:
        """Return `path` relative to the checkout after symlinks; raise PathError if it escapes."""
        return resolve_inside(self._root, path)[0]

    async def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return a file's bytes; raise SandboxFileError if missing or larger than `max_bytes`."""
        relative, target = resolve_inside(self._root, path)
        if not target.is_file():
            raise SandboxFileError(
                f"{relative}: no such file" + (" (a directory)" if target.is_dir() else "")
            )
        size = target.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise SandboxFileError(f"{relative}: {size} bytes is larger than {max_bytes} bytes")
        try:
            return await asyncio.to_thread(target.read_bytes)
        except OSError as error:
            raise SandboxFileError(f"{relative}: cannot read ({error.strerror})") from error

    async def write_file(self, path: str, data: bytes) -> None:
        """Create or replace a file, creating its parent directories."""
        relative, target = resolve_inside(self._root, path)
        if relative == ".":
            raise PathError("the checkout root is a directory, not a file")
        try:
            await asyncio.to_thread(_write, target, data)
        except OSError as error:
            raise SandboxFileError(f"{relative}: cannot write ({error.strerror})") from error

    async def list_files(self) -> list[str]:
        """Return every file's relative path, sorted, without `.git`."""
        return await asyncio.to_thread(walk_files, self._root)

    async def exec(
        self,
        command: str,
        timeout: float,  # noqa: ASYNC109 - the command's own limit: it is killed, we are not
        cwd: str = ".",
    ) -> ExecResult:
        """Run `sh -c command` in `cwd` with the scrubbed environment, killed after `timeout`."""
        _, directory = resolve_inside(self._root, cwd)
        if not directory.is_dir():
            raise SandboxFileError(f"{cwd}: no such directory in the checkout")
        argv: list[str] = ["/bin/sh", "-c", command]
        if self._bwrap is not None:
            prefix = bwrap_argv(
                self._bwrap, writable=self._base, cwd=directory, read_only=self._options.read_only
            )
            argv = prefix + argv
        return await run_process(
            argv,
            cwd=directory,
            env=self._env,
            time_limit=timeout,
            output_cap=self._options.output_cap,
        )

    async def close(self) -> None:
        """Delete the sandbox directory (commands never outlive their `exec`)."""
        await asyncio.to_thread(shutil.rmtree, self._base, True)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a symlink planted after the check must not redirect the write.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    descriptor = os.open(target, flags, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
