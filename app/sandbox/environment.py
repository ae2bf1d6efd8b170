"""Environments: a plan's setup, run once per key and reused by every later sandbox of a tree.

The key covers everything that shapes what setup leaves behind (toolchain, system packages,
setup commands, environment variables, the bytes of manifests and lockfiles, the backend), so
a changed lockfile makes a new environment and an unchanged one reuses the cached result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.pathrules import PathError, normalize_path
from app.sandbox.base import SandboxError

if TYPE_CHECKING:
    from app.stacks import EnvironmentPlan

# Bumped when what an environment directory holds (its layout, the checkout path) changes.
KEY_VERSION = 1
# How much of a failed command's output an EnvironmentFailed carries.
LOG_TAIL = 12_000


@dataclass(frozen=True)
class Environment:
    """A prepared environment: what `SandboxFactory.create` starts sandboxes on."""

    key: str
    plan: EnvironmentPlan
    reused: bool  # served from the cache
    seconds: float  # time prepare() took
    location: str  # the backend's handle: a local cache directory, or a Modal image id


class EnvironmentFailed(SandboxError):
    """A setup command failed: the environment cannot be built (and nothing was cached)."""

    def __init__(self, command: str, exit_code: int, log_tail: str) -> None:
        self.command = command
        self.exit_code = exit_code
        self.log_tail = log_tail[-LOG_TAIL:]
        super().__init__(
            f"environment setup failed: `{command}` exited with {exit_code}"
            + (f"\n{self.log_tail.strip()}" if self.log_tail.strip() else "")
        )


def key_file_bytes(tree: Path, name: str) -> bytes | None:
    """Return a key file's bytes, or None when the tree has no such regular file."""
    relative = normalize_path(name)
    path = tree / relative
    # A symlinked lockfile is not followed: it could name a host file outside the tree.
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes()


def environment_key(plan: EnvironmentPlan, tree: Path, backend_tag: str) -> str:
    """Return the hex digest naming the environment `plan` builds for `tree` on a backend."""
    described = {
        "version": KEY_VERSION,
        "backend": backend_tag,
        "image": plan.image,
        "python": plan.python,
        "node": plan.node,
        "system_packages": list(plan.system_packages),
        "package_manager": plan.package_manager,
        "setup": list(plan.setup),
        "env": [list(pair) for pair in plan.env],
        "env_dirs": list(plan.env_dirs),
        "path_dirs": list(plan.path_dirs),
        "key_files": list(plan.key_files),
    }
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    for name in sorted(set(plan.key_files)):
        content = key_file_bytes(tree, name)
        # Length-prefixed, so no two different sets of files hash the same bytes.
        digest.update(f"\0{name}\0".encode())
        digest.update(b"-" if content is None else f"{len(content)}:".encode() + content)
    return digest.hexdigest()[:32]


def env_dirs_of(plan: EnvironmentPlan) -> tuple[str, ...]:
    """Return the plan's environment directories, checked to be plain relative paths."""
    dirs: list[str] = []
    for name in plan.env_dirs:
        try:
            clean = normalize_path(name)
        except PathError as error:
            raise SandboxError(f"environment directory {name!r}: {error}") from error
        if clean in (".", ".git") or clean.startswith(".git/"):
            raise SandboxError(f"environment directory {name!r} cannot hold the environment")
        dirs.append(clean)
    return tuple(dirs)
