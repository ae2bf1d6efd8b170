"""Read the build and test commands from a repository's `.townhall.toml`, if it has one."""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.codemap.symbols import Commands

CONFIG_NAME = ".townhall.toml"


def read_commands(root: Path) -> Commands:
    """Return `[commands]` build and test from root's .townhall.toml; empty when absent."""
    try:
        text = (root / CONFIG_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Commands()
    except (OSError, UnicodeDecodeError) as error:
        return Commands(error=f"{CONFIG_NAME} could not be read: {error.__class__.__name__}")
    return parse_commands(text)


def parse_commands(text: str) -> Commands:
    """Return the build and test commands in a .townhall.toml text, or the reason it is invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return Commands(error=f"{CONFIG_NAME} is invalid: {error}")
    section = data.get("commands", {})
    if not isinstance(section, dict):
        return Commands(error=f"{CONFIG_NAME}: [commands] must be a table")
    found: dict[str, str] = {}
    for key in ("build", "test"):
        value = section.get(key, "")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = " && ".join(value)
        if not isinstance(value, str):
            return Commands(error=f"{CONFIG_NAME}: commands.{key} must be a string")
        found[key] = value.strip()
    return Commands(build=found["build"], test=found["test"])
