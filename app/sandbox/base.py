"""The sandbox interface: files inside one checkout, and commands run next to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    """What one command did. Output is capped; `truncated` says whether bytes were dropped."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    duration: float


class SandboxError(Exception):
    """A sandbox operation failed (the sandbox could not be set up, or a file op failed)."""


class SandboxFileError(SandboxError):
    """A file is missing, is a directory, or is too large to read."""


class Sandbox(Protocol):
    """A checkout the agent may change, isolated from every secret of the trusted side.

    Paths are relative to the checkout; backends reject anything that leaves it.
    """

    @property
    def backend(self) -> str:
        """Return the backend's name ("local" or "modal")."""
        ...

    @property
    def checkout(self) -> str:
        """Return the checkout's absolute path as commands inside the sandbox see it."""
        ...

    async def resolve(self, path: str) -> str:
        """Return `path` relative to the checkout after symlinks; raise PathError if it escapes."""
        ...

    async def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return a file's bytes; raise SandboxFileError if missing or larger than `max_bytes`."""
        ...

    async def write_file(self, path: str, data: bytes) -> None:
        """Create or replace a file, creating its parent directories."""
        ...

    async def list_files(self) -> list[str]:
        """Return every file's relative path, sorted, without `.git`."""
        ...

    async def exec(
        self,
        command: str,
        timeout: float,  # noqa: ASYNC109 - the command's own limit: it is killed, we are not
        cwd: str = ".",
    ) -> ExecResult:
        """Run a shell command in `cwd` (relative to the checkout), killed after `timeout`."""
        ...

    async def close(self) -> None:
        """Stop everything still running and delete the sandbox."""
        ...
