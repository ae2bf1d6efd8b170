"""Pins from Python lockfiles and requirement files, as lines of a pip constraints file.

uv and poetry keep the versions a project is known to pass with in `uv.lock` / `poetry.lock`
(both TOML, one `[[package]]` per name and version). Townhall installs with plain pip, so no
uv or poetry binary is needed: the lockfile's registry pins become `-c` constraints. Packages
from git, a path or a URL (the project itself among them) are left out, since a version pin
cannot name them. A name locked at several versions (uv forks the resolution by Python
version) keeps each pin under the markers its lockfile gives it; without markers no single pin
is right, so that name is left unconstrained rather than pinned wrongly.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

LOCKFILES = ("uv.lock", "poetry.lock")

_NAME_NORMALIZE = re.compile(r"[-_.]+")
_EXACT_PIN = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*(?P<version>[A-Za-z0-9.+!_-]+)\s*(;.*)?$"
)


class LockfileError(ValueError):
    """A lockfile cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Pin:
    """One `name==version`, valid where `marker` holds ("" = everywhere)."""

    name: str
    version: str
    marker: str = ""

    def constraint(self) -> str:
        """Return the pin as a line of a pip constraints file."""
        line = f"{self.name}=={self.version}"
        return f"{line} ; {self.marker}" if self.marker else line


def normalize_name(name: str) -> str:
    """Return a distribution name in PEP 503 form (`Typing_Extensions` → `typing-extensions`)."""
    return _NAME_NORMALIZE.sub("-", name).lower()


def lockfile_pins(filename: str, text: str) -> tuple[Pin, ...]:
    """Return the registry pins of a `uv.lock` or `poetry.lock`, sorted by name."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LockfileError(f"{filename} is not valid TOML: {error}") from error
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise LockfileError(f"{filename}: `package` is not an array of tables")
    by_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in packages:
        if not isinstance(entry, dict) or not _from_registry(filename, entry):
            continue
        name, version = entry.get("name"), entry.get("version")
        if isinstance(name, str) and isinstance(version, str):
            by_name[normalize_name(name)].append((version, _marker(filename, entry)))
    pins: list[Pin] = []
    for name in sorted(by_name):
        versions = by_name[name]
        if len(versions) == 1:
            pins.append(Pin(name, versions[0][0]))
        elif all(marker for _, marker in versions):
            pins.extend(Pin(name, version, marker) for version, marker in versions)
    return tuple(pins)


def requirement_pins(text: str) -> tuple[Pin, ...]:
    """Return the exact `name==version` pins of a requirements file (other lines are ignored)."""
    pins: list[Pin] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        match = _EXACT_PIN.match(line)
        if match and not line.startswith("-"):
            pins.append(Pin(normalize_name(match["name"]), match["version"]))
    return tuple(pins)


def pinned_version(pins: tuple[Pin, ...], name: str) -> str:
    """Return the one unconditional version `pins` give `name`, or ""."""
    wanted = normalize_name(name)
    found = {pin.version for pin in pins if pin.name == wanted and not pin.marker}
    return found.pop() if len(found) == 1 else ""


def _from_registry(filename: str, entry: dict[str, Any]) -> bool:
    source = entry.get("source")
    if filename == "uv.lock":
        return isinstance(source, dict) and "registry" in source
    # poetry.lock: no `source` table means PyPI; "legacy" is another package index.
    return source is None or (isinstance(source, dict) and source.get("type") == "legacy")


def _marker(filename: str, entry: dict[str, Any]) -> str:
    """Return where this locked version applies, as one PEP 508 marker ("" = unknown)."""
    if filename == "uv.lock":
        markers = entry.get("resolution-markers", [])
        if isinstance(markers, list) and markers and all(isinstance(m, str) for m in markers):
            return " or ".join(f"({marker})" for marker in markers)
        return ""
    marker = entry.get("markers")
    return marker if isinstance(marker, str) else ""
