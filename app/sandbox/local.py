"""The local backend: a copy of the tree in a temporary directory, commands as subprocesses.

What a sandbox writes to this machine's disk is bounded: every command runs with a file size
limit (RLIMIT_FSIZE) and is stopped as soon as the sandbox directory passes its quota (measured
while it runs); the trusted side's own writes are checked against the same quota, and under
bubblewrap /tmp is a size-limited tmpfs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.pathrules import PathError, normalize_path, resolve_inside
from app.sandbox.base import ExecResult, SandboxError, SandboxFileError
from app.sandbox.bwrap import (
    TMPFS_BYTES,
    WORKSPACE,
    bwrap_argv,
    bwrap_path,
    bwrap_unavailable_reason,
)
from app.sandbox.env import DEFAULT_PATH, sandbox_env
from app.sandbox.isolation import INSTALL_HINT, refusal, warn_unisolated
from app.sandbox.process import run_process
from app.sandbox.proxy import EgressProxy, proxy_env, with_forwarder
from app.sandbox.tree import copy_tree, walk_files

if TYPE_CHECKING:
    from app.stacks import EnvironmentPlan

Isolation = Literal["auto", "bwrap", "none"]

# Room for a checkout, its dependencies and build output; a sandbox never needs more.
DISK_QUOTA_BYTES = 2 * 1024**3
# How often a running command's disk use is measured (less often when measuring takes long).
QUOTA_POLL_SECONDS = 0.2
# What an unmeasurable sandbox directory counts as: more than any quota.
UNMEASURABLE = 2**63
# An empty directory of the sandbox's, for the environment's writable layers (memory only).
LAYERS = "layers"
# `ulimit -f` counts 512-byte blocks; `exec` keeps the command's own shell as the only process.
_WITH_FILE_LIMIT = 'ulimit -f "$1" && exec /bin/sh -c "$2"'


@dataclass(frozen=True)
class LocalOptions:
    """How the local backend runs commands.

    `isolation`: "auto" uses bubblewrap (`bwrap`, a name on PATH or a path) when it works
    here, "bwrap" requires it, "none" never uses it. Without bubblewrap a sandbox is refused
    unless `unisolated_allowed` (the operator's TOWNHALL_UNISOLATED_SANDBOX=1), and every
    unisolated sandbox is announced in the log. `read_only` directories (a toolchain outside
    /usr, say) are visible under bwrap. `disk_quota_bytes` bounds the sandbox directory
    (checkout, home and tmp together) and any one file; `tmp_bytes` bounds the tmpfs at /tmp
    under bwrap. Prepared environments live under `cache_dir` (None: the user's cache
    directory); beyond `max_environments`, the least recently used ones are evicted.
    """

    isolation: Isolation = "auto"
    unisolated_allowed: bool = False
    bwrap: str = "bwrap"
    path: str = DEFAULT_PATH
    read_only: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # The repository's `[sandbox].env`: held to the rule for declared variables (a dummy
    # OPENAI_API_KEY is fine), not to the operator-side rule `env` is held to.
    declared_env: tuple[tuple[str, str], ...] = ()
    output_cap: int = 64_000
    disk_quota_bytes: int = DISK_QUOTA_BYTES
    tmp_bytes: int = TMPFS_BYTES
    cache_dir: Path | None = None
    max_environments: int = 8


def choose_bwrap(options: LocalOptions) -> str | None:
    """Return bwrap's path, or None for an allowed unisolated sandbox; refuse anything else."""
    if options.isolation != "none":
        found = bwrap_path(options.bwrap)
        if found is not None:
            return found
    reason = (
        "isolation was turned off for this sandbox"
        if options.isolation == "none"
        else bwrap_unavailable_reason(options.bwrap) or "bubblewrap does not work here"
    )
    if options.isolation == "bwrap":
        raise SandboxError(f"bubblewrap isolation is required here, but {reason}: {INSTALL_HINT}")
    if not options.unisolated_allowed:
        raise SandboxError(refusal(reason))
    warn_unisolated(reason, "a local sandbox starts")
    return None


@dataclass(frozen=True)
class _Attached:
    """A prepared environment as one sandbox sees it: its directories and what they change."""

    source: Path  # the cache entry's checkout, holding the environment directories
    dirs: tuple[str, ...]
    plan: EnvironmentPlan


class LocalSandbox:
    """A sandbox in a temporary directory: `checkout/`, plus its own `home/` and `tmp/`.

    Under bwrap the directory appears at WORKSPACE, so the checkout is always
    /workspace/checkout inside; unisolated, commands see the directory where it is.
    """

    backend = "local"

    def __init__(
        self,
        base: Path,
        options: LocalOptions,
        bwrap: str | None,
        proxy: EgressProxy | None = None,
    ) -> None:
        self._base = base
        self._root = base / "checkout"
        self._options = options
        self._bwrap = bwrap
        self._proxy = proxy
        self._inside = Path(WORKSPACE) if bwrap is not None else base
        self._attached: _Attached | None = None
        self._env = self._environment()

    @classmethod
    def create(
        cls,
        tree: Path,
        options: LocalOptions | None = None,
        *,
        base: Path | None = None,
        proxy: EgressProxy | None = None,
    ) -> LocalSandbox:
        """Copy `tree` (without any `.git`) into a new sandbox directory (`base`, if given).

        With `proxy`, commands reach the network through it (an environment's setup).
        """
        options = options or LocalOptions()
        bwrap = choose_bwrap(options)
        if base is None:
            # Resolved so bwrap binds and symlink checks agree on one spelling of the path.
            base = Path(tempfile.mkdtemp(prefix="townhall-sandbox-")).resolve()
        else:
            base.mkdir(parents=True)
        try:
            for name in ("home", "tmp"):
                (base / name).mkdir()
            copy_tree(tree, base / "checkout")
            return cls(base, options, bwrap, proxy)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise

    def _environment(self) -> dict[str, str]:
        extra = dict(self._options.env)
        declared = list(self._options.declared_env)
        path = self._options.path
        if self._attached is not None:
            declared += self._attached.plan.env
            bins = [f"{self.checkout}/{d}" for d in self._attached.plan.path_dirs]
            path = ":".join([*bins, path])
        if self._proxy is not None and self._bwrap is not None:
            extra |= proxy_env()
        return sandbox_env(
            home=str(self._inside / "home"), tmpdir=str(self._inside / "tmp"), path=path,
            extra=extra, declared=declared,
        )  # fmt: skip

    def attach(self, source: Path, plan: EnvironmentPlan, dirs: tuple[str, ...]) -> None:
        """Show each of `dirs` under `source` at the same place in the checkout.

        Commands may write over them (bwrap_argv: a throwaway layer per command where this
        machine allows one, else read-only); the cached directories never change.
        """
        self._attached = _Attached(source, dirs, plan)
        self._env = self._environment()
        for name in dirs:
            self._mount_point(name)

    def _mount_point(self, name: str) -> None:
        """Make `checkout/name` what the environment needs there, whatever a command left."""
        assert self._attached is not None
        target = self._root / name
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        if self._bwrap is not None:
            target.mkdir(parents=True, exist_ok=True)  # bwrap mounts over it
        elif not target.is_symlink():
            # Unisolated there are no mounts: a link to the cache (writable, like the rest).
            if target.is_dir():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(self._attached.source / name, target_is_directory=True)

    @property
    def checkout(self) -> str:
        """Return the checkout's absolute path as commands see it (/workspace/checkout in bwrap)."""
        return str(self._inside / "checkout")

    @property
    def host_checkout(self) -> Path:
        """Return the checkout's path on this machine (the trusted side's view)."""
        return self._root

    @property
    def isolated(self) -> bool:
        """Return whether commands run under bubblewrap."""
        return self._bwrap is not None

    @property
    def env(self) -> dict[str, str]:
        """Return a copy of the environment every command gets."""
        return dict(self._env)

    def _environment_part(self, relative: str) -> tuple[str, str] | None:
        """Return (env dir, rest) when `relative` lies in an environment directory."""
        if self._attached is None:
            return None
        for name in self._attached.dirs:
            if relative == name or relative.startswith(name + "/"):
                return name, relative[len(name) + 1 :] or "."
        return None

    def _locate(self, path: str) -> tuple[str, Path]:
        """Return (relative, host path) of `path`; environment files are read from the cache."""
        part = self._environment_part(normalize_path(path))
        if part is not None and self._attached is not None:
            name, rest = part
            target = resolve_inside(self._attached.source / name, rest)[1]
            return normalize_path(path), target
        return resolve_inside(self._root, path)

    async def resolve(self, path: str) -> str:
        """Return `path` relative to the checkout after symlinks; raise PathError if it escapes."""
        return resolve_inside(self._root, path)[0]

    async def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return a file's bytes; raise SandboxFileError if missing or larger than `max_bytes`."""
        relative, target = self._locate(path)
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
        part = self._environment_part(normalize_path(path))
        if part is not None:
            raise SandboxFileError(
                f"{path}: {part[0]} belongs to the prepared environment, which is read-only"
            )
        relative, target = resolve_inside(self._root, path)
        if relative == ".":
            raise PathError("the checkout root is a directory, not a file")
        used = await asyncio.to_thread(disk_usage, self._base)
        if used + len(data) > self._options.disk_quota_bytes:
            raise SandboxFileError(
                f"{relative}: cannot write {len(data)} bytes; the sandbox uses {used} of its "
                f"{self._options.disk_quota_bytes} bytes of disk"
            )
        try:
            await asyncio.to_thread(_write, target, data)
        except OSError as error:
            raise SandboxFileError(f"{relative}: cannot write ({error.strerror})") from error

    async def list_files(self) -> list[str]:
        """Return every file's relative path, sorted, without `.git` or the environment."""
        skip = self._attached.dirs if self._attached is not None else ()
        return await asyncio.to_thread(walk_files, self._root, skip)

    def _argv(self, command: str, relative: str) -> list[str]:
        blocks = str(math.ceil(self._options.disk_quota_bytes / 512))
        if self._bwrap is None:
            return ["/bin/sh", "-c", _WITH_FILE_LIMIT, "sh", blocks, command]
        binds: list[tuple[Path, str]] = []
        layers = None
        if self._attached is not None:
            for name in self._attached.dirs:
                self._mount_point(name)
                binds.append((self._attached.source / name, f"{self.checkout}/{name}"))
            # Where each command's throwaway layers over the environment live (bwrap_argv).
            layers = self._base / LAYERS
            layers.mkdir(exist_ok=True)
        proxy_dir = None
        if self._proxy is not None:
            proxy_dir, command = self._proxy.directory, with_forwarder(command)
        inside = self.checkout if relative == "." else f"{self.checkout}/{relative}"
        prefix = bwrap_argv(
            self._bwrap,
            writable=self._base,
            cwd=inside,
            read_only=self._options.read_only,
            binds=binds,
            proxy_dir=proxy_dir,
            tmp_bytes=self._options.tmp_bytes,
            layers=layers,
        )
        return [*prefix, "/bin/sh", "-c", _WITH_FILE_LIMIT, "sh", blocks, command]

    async def exec(
        self,
        command: str,
        timeout: float,  # noqa: ASYNC109 - the command's own limit: it is killed, we are not
        cwd: str = ".",
    ) -> ExecResult:
        """Run `sh -c command` in `cwd` with the scrubbed environment, killed after `timeout`."""
        relative, directory = resolve_inside(self._root, cwd)
        if not directory.is_dir():
            raise SandboxFileError(f"{cwd}: no such directory in the checkout")
        quota = self._options.disk_quota_bytes
        argv = self._argv(command, relative)
        started = time.monotonic()
        process = run_process(
            argv, cwd=directory, env=self._env, time_limit=timeout,
            output_cap=self._options.output_cap,
        )  # fmt: skip
        running = asyncio.create_task(process)
        watching = asyncio.create_task(self._quota_passed())
        try:
            await asyncio.wait({running, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancelling the command kills its process group (and on our own cancellation too).
            for task in (running, watching):
                task.cancel()
            await asyncio.gather(running, watching, return_exceptions=True)
        used = await asyncio.to_thread(disk_usage, self._base)
        if watching.done() and not watching.cancelled():
            used = max(used, watching.result())  # what stopped the command
        result = None if running.cancelled() else running.result()
        if result is not None and used <= quota:
            return result
        return _over_quota(result, used, quota, time.monotonic() - started)

    async def _quota_passed(self) -> int:
        """Return the sandbox's disk use once it is over the quota (measured until then)."""
        while True:
            started = time.monotonic()
            used = await asyncio.to_thread(disk_usage, self._base)
            if used > self._options.disk_quota_bytes:
                return used
            # A large tree takes longer to measure: poll less often than spend a core on it.
            await asyncio.sleep(max(QUOTA_POLL_SECONDS, 4 * (time.monotonic() - started)))

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


def _over_quota(result: ExecResult | None, used: int, quota: int, duration: float) -> ExecResult:
    """Say that a command was stopped (None: before it ended) with the sandbox over its quota."""
    note = f"stopped: the sandbox uses {used} bytes of disk, over its quota of {quota} bytes"
    if result is None:
        return ExecResult(
            exit_code=-1, stdout="", stderr=note, timed_out=False, truncated=False,
            duration=duration,
        )  # fmt: skip
    stderr = f"{result.stderr}\n{note}".lstrip("\n")
    return replace(result, exit_code=result.exit_code or 1, stderr=stderr)


def disk_usage(root: Path) -> int:
    """Return the bytes the tree under `root` takes on disk (links are not followed).

    A directory the sandbox made unreadable cannot be measured, so it counts as over any quota.
    """
    total = 0
    pending = [root]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    with contextlib.suppress(FileNotFoundError):  # removed while measured
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(Path(entry.path))
        except FileNotFoundError:
            continue
        except PermissionError:
            return UNMEASURABLE
    return total
