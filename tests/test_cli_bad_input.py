"""Every command, given bad input, says what is wrong in a line or two: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import open_store

TOWNHALL = str(Path(sys.executable).parent / "townhall")

# (command line, extra environment): each one is wrong in a way a person could make it.
BAD_INPUTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "unknown command": (["frobnicate"], {}),
    "check-config unknown purpose": (["check-config", "--for", "nope"], {}),
    "check-config missing policy": (["check-config", "--repo-config", "missing.toml"], {}),
    "check-config broken key": (
        ["check-config", "--for", "serve"],
        {
            "TOWNHALL_GITHUB_APP_ID": "1",
            "TOWNHALL_GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n"
            "-----END RSA PRIVATE KEY-----",
            "TOWNHALL_WEBHOOK_SECRET": "s",
        },
    ),
    "doctor without a store": (["doctor", "--offline"], {"TOWNHALL_DB_URL": "nowhere/x.db"}),
    "db migrate on an unreachable server": (
        ["db", "migrate"],
        {"TOWNHALL_DB_URL": "http://127.0.0.1:9", "TOWNHALL_DB_AUTH_TOKEN": "t"},
    ),
    "status without a store": (["status"], {"TOWNHALL_DB_URL": "absent.db"}),
    "costs without a store": (["costs"], {"TOWNHALL_DB_URL": "absent.db"}),
    "task not a number": (["task", "abc"], {}),
    "task unknown": (["task", "999"], {}),
    "votes without a store": (["votes", "1"], {"TOWNHALL_DB_URL": "absent.db"}),
    "votes bad reference": (["votes", "not-an-issue"], {}),
    "serve without settings": (["serve"], {}),
    "tick without settings": (["tick"], {}),
    "dev without settings": (["dev"], {}),
    "demo on a remote store": (["demo"], {"TOWNHALL_DB_URL": "libsql://example.turso.io"}),
    "demo real model without key": (["demo", "--real-model"], {}),
    "app-manifest without url": (["app-manifest"], {}),
    "map bad option": (["map", "--no-such-option"], {}),
    "localhub bad port": (["localhub", "--port", "http"], {}),
    "model-server missing script": (["model-server", "--script", "missing.json"], {}),
    "setup bad port": (["setup", "--port", "x"], {}),
    "setup unwritable env file": (["setup", "--env-file", "/proc/townhall/.env"], {}),
    "malformed setting": (["status"], {"TOWNHALL_SANDBOX_BACKEND": "docker"}),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-bad-input")
    open_store(str(root / "cli.db")).close_sync()
    return root


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_line_not_a_traceback(case: str, folder: Path) -> None:
    args, extra = BAD_INPUTS[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    env.update({"TOWNHALL_DB_URL": str(folder / "cli.db"), **extra})
    result = subprocess.run(
        [TOWNHALL, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    # doctor reports on stdout (it is its output); every other command on stderr.
    said = result.stdout if args[0] == "doctor" else result.stderr
    assert "FAIL" in said if args[0] == "doctor" else said.strip(), output
    assert len(said.strip().splitlines()) <= 12, said
    assert not (folder / "absent.db").exists(), "a read-only command created a store"


@pytest.mark.parametrize("args", [["status"], ["costs"], ["votes", "1"], ["--help"]])
def test_a_closed_pipe_ends_quietly(args: list[str], folder: Path) -> None:
    # `townhall status | head -1`: the reader goes away before the output is written. With
    # the read end closed first, every write fails (EPIPE), however short the output.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    env["TOWNHALL_DB_URL"] = str(folder / "cli.db")
    process = subprocess.Popen(
        [TOWNHALL, *args], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
