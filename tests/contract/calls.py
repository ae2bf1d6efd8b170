"""Find every REST operation Townhall calls, by reading its source.

Townhall calls GitHub through githubkit's generated methods, `client.rest.<group>.async_<name>`
(sometimes through a local alias: `git = client.rest.git`), and through raw `arequest` for
GraphQL only. githubkit names each method after the description's operation id
(`pulls/list-files` -> `pulls.async_list_files`), so the source names the operations.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("app", "workers", "reviewer")
EXCLUDED = ("app/standins",)  # the stand-ins answer GitHub's API; they do not call it

_DIRECT = re.compile(r"\.rest\.(\w+)\.(?:async_)?(\w+)\(")
_ALIAS = re.compile(r"\b(\w+) = [\w.()]*\.rest\.(\w+)\s*$", re.MULTILINE)
_RAW = re.compile(r"\.a?request\(\s*\"(\w+)\",\s*\"([^\"]+)\"")


def source_files() -> list[Path]:
    """Return Townhall's own Python files that may call GitHub."""
    found = []
    for name in SOURCE_DIRS:
        for path in sorted((ROOT / name).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(EXCLUDED):
                found.append(path)
    return found


def operation_id(group: str, method: str) -> str:
    """Return the description's operation id for githubkit's `rest.<group>.<method>`."""
    return f"{group.replace('_', '-')}/{method.removeprefix('async_').replace('_', '-')}"


def rest_operations() -> dict[str, set[str]]:
    """Return each operation id Townhall calls, with the files that call it."""
    calls: dict[str, set[str]] = {}
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        pairs = [(m[1], m[2]) for m in _DIRECT.finditer(text)]
        for alias, group in _ALIAS.findall(text):
            pairs += [(group, name) for name in re.findall(rf"\b{alias}\.(async_\w+)\b", text)]
        for group, method in pairs:
            calls.setdefault(operation_id(group, method), set()).add(
                path.relative_to(ROOT).as_posix()
            )
    return calls


def raw_requests() -> set[tuple[str, str]]:
    """Return the (method, path) of every raw `request`/`arequest` call."""
    found: set[tuple[str, str]] = set()
    for path in source_files():
        found |= {(m[1], m[2]) for m in _RAW.finditer(path.read_text(encoding="utf-8"))}
    return found
