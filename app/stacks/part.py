"""What one detected stack contributes to an environment plan, and the helpers both stacks use."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

ReadText = Callable[[str], str | None]

# Where Townhall installs its own tools (the review analysers, a pinned pnpm/yarn): a directory
# of the checkout that belongs to the environment, never to the change.
TOOLS_DIR = ".townhall-tools"

# A shell command passed as one argument must stay under Linux's 128 KiB per-argument limit.
_MAX_COMMAND_CHARS = 32_000


@dataclass(frozen=True)
class StackPart:
    """One stack's share of the plan.

    `setup` is the detected installation; `tool_setup` installs Townhall's analysers and is
    kept even when `[sandbox].setup` replaces `setup`; `analysers` lists the tools `setup`
    installs, `tool_analysers` those `tool_setup` installs.
    """

    stack: str
    package_manager: str
    lockfile: str
    version: str
    setup: tuple[str, ...]
    tool_setup: tuple[str, ...]
    build: str
    test: str
    analysers: tuple[str, ...]
    tool_analysers: tuple[str, ...]
    env_dirs: tuple[str, ...]
    path_dirs: tuple[str, ...]
    key_files: tuple[str, ...]


def write_file_commands(path: str, lines: Iterable[str]) -> tuple[str, ...]:
    """Return shell commands that write `lines` to `path` (creating its directory), in chunks."""
    parent = path.rsplit("/", 1)[0] if "/" in path else "."
    commands: list[str] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        quoted = shlex.quote(line)
        if chunk and size + len(quoted) > _MAX_COMMAND_CHARS:
            commands.append(_printf(chunk, path, append=bool(commands)))
            chunk, size = [], 0
        chunk.append(quoted)
        size += len(quoted) + 1
    commands.append(_printf(chunk, path, append=bool(commands)))
    return (f"mkdir -p {shlex.quote(parent)} && {commands[0]}", *commands[1:])


def _printf(quoted_lines: list[str], path: str, *, append: bool) -> str:
    arguments = " ".join(quoted_lines) if quoted_lines else "''"
    return f"printf '%s\\n' {arguments} {'>>' if append else '>'} {shlex.quote(path)}"


def version_file(read_text: ReadText, files: set[str], names: Iterable[str]) -> tuple[str, str]:
    """Return (file, version) from the first of `names` present, e.g. `.python-version`."""
    for name in names:
        if name in files:
            text = (read_text(name) or "").strip().splitlines()
            version = text[0].strip().removeprefix("v") if text else ""
            if version and all(part.isdigit() for part in version.split(".")):
                return name, version
    return "", ""
