"""Decide which adapters apply to a repository from its file list and configuration files."""

from __future__ import annotations

import configparser
import json
import tomllib
from collections.abc import Callable, Collection
from pathlib import PurePosixPath
from typing import Any

from app.policy import CommandPolicy
from reviewer.static.adapters import (
    Adapter,
    command_adapter,
    eslint_adapter,
    mypy_adapter,
    pyright_adapter,
    pytest_adapter,
    ruff_adapter,
    tsc_adapter,
)

ReadText = Callable[[str], str | None]

_RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
_MYPY_CONFIGS = ("mypy.ini", ".mypy.ini")
_ESLINT_CONFIGS = tuple(
    f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts")
) + tuple(f".eslintrc{ext}" for ext in ("", ".js", ".cjs", ".json", ".yml", ".yaml"))


def detect_adapters(
    files: Collection[str], read_text: ReadText, commands: CommandPolicy
) -> list[Adapter]:
    """Return the adapters to run: tools the repo evidently uses, then its configured commands.

    `files` are repo-relative paths; `read_text` returns a root config file's text (or None).
    """
    paths = set(files)
    adapters: list[Adapter] = []
    pyproject = _toml(read_text("pyproject.toml")) if "pyproject.toml" in paths else {}
    tool_config = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    has_python = any(path.endswith((".py", ".pyi")) for path in paths)
    if has_python or any(config in paths for config in _RUFF_CONFIGS):
        adapters.append(ruff_adapter())
    mypy_files = _mypy_files_configured(paths, tool_config, read_text)
    if mypy_files is not None:
        adapters.append(mypy_adapter(files_configured=mypy_files))
    if "pyrightconfig.json" in paths or "pyright" in tool_config:
        adapters.append(pyright_adapter())
    if any(_is_python_test(path) for path in paths):
        adapters.append(pytest_adapter())
    if "tsconfig.json" in paths:
        adapters.append(tsc_adapter())
    if any(config in paths for config in _ESLINT_CONFIGS) or _package_has_eslint_config(
        paths, read_text
    ):
        adapters.append(eslint_adapter())
    for name, command in (("build", commands.build), ("test", commands.test)):
        if command.strip():
            adapters.append(command_adapter(name, command))
    return adapters


def _mypy_files_configured(
    paths: set[str], tool_config: dict[str, Any], read_text: ReadText
) -> bool | None:
    """Return None when mypy is not configured, else whether its config names `files`."""
    if isinstance(tool_config.get("mypy"), dict):
        return "files" in tool_config["mypy"]
    for name in (*_MYPY_CONFIGS, "setup.cfg"):
        if name not in paths:
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read_string(read_text(name) or "")
        except configparser.Error:
            continue
        if parser.has_section("mypy"):
            return parser.has_option("mypy", "files")
    return None


def _is_python_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _package_has_eslint_config(paths: set[str], read_text: ReadText) -> bool:
    if "package.json" not in paths:
        return False
    try:
        package = json.loads(read_text("package.json") or "{}")
    except json.JSONDecodeError:
        return False
    return isinstance(package, dict) and "eslintConfig" in package


def _toml(text: str | None) -> dict[str, Any]:
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        # ruff still runs and reports the broken file; detection just sees no tool tables.
        return {}
