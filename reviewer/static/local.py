"""Run commands as local subprocesses: the runner used by tests and offline development."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping

from reviewer.static.adapters import Command
from reviewer.static.runner import NOT_INSTALLED

TIMED_OUT = 124
DEFAULT_TIMEOUT = 900.0


def run_locally(
    command: Command,
    cwd: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, str, str]:
    """Run `command` in `cwd` and return (exit code, stdout, stderr); 127 if not installed."""
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            # Configured build and test commands are shell lines by design (.townhall.toml).
            shell=isinstance(command, str),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        return NOT_INSTALLED, "", f"{error.filename}: command not found"
    except subprocess.TimeoutExpired as error:
        stdout = _text(error.stdout)
        return TIMED_OUT, stdout, f"{_text(error.stderr)}\ntimed out after {timeout:g} seconds"
    return completed.returncode, completed.stdout, completed.stderr


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""
