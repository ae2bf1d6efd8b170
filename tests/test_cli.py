"""The `townhall` command line, run as the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import Tx, open_store
from app.store.tasks import create_task_tx

TOWNHALL = str(Path(sys.executable).parent / "townhall")


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    clean.update({"TOWNHALL_DB_URL": str(tmp_path / "cli.db"), **env})
    return subprocess.run(
        [TOWNHALL, *args], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60
    )


def test_version(tmp_path: Path) -> None:
    result = run(["version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("townhall ")


# Loading any of these takes a second or more; `version` and `--help` must not pay for them.
HEAVY_MODULES = ("anthropic", "githubkit", "modal", "uvicorn", "starlette", "rich", "tree_sitter")


def test_version_loads_no_heavy_sdk(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "status = main(['version'])\n"
        f"print(sorted(set({HEAVY_MODULES!r}) & set(sys.modules)))\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    version, loaded = result.stdout.splitlines()
    assert version.startswith("townhall ")
    assert loaded == "[]"


def test_status_counts_tasks_by_state(tmp_path: Path) -> None:
    from app.clock import SystemClock

    store = open_store(str(tmp_path / "cli.db"))

    def seed(tx: Tx) -> None:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        for issue in (1, 2):
            create_task_tx(
                tx,
                SystemClock(),
                repo_id=1,
                issue_number=issue,
                max_attempts=3,
                priority=0,
                actor="test",
                reason="seed",
            )

    store.run_sync(seed)
    store.close_sync()
    result = run(["status", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tasks_by_state"]["approved"] == 2
    assert data["total"] == 2
    table = run(["status"], tmp_path)
    assert "approved" in table.stdout and "2" in table.stdout


def test_db_migrate_reports_the_schema_version(tmp_path: Path) -> None:
    result = run(["db", "migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    from app.store.migrations import MIGRATIONS

    assert f"schema version {MIGRATIONS[-1][0]}" in result.stdout
    assert (tmp_path / "cli.db").exists()


def test_check_config_lists_every_missing_setting(tmp_path: Path) -> None:
    result = run(["check-config", "--for", "all"], tmp_path)
    assert result.returncode == 1
    for name in ("TOWNHALL_GITHUB_APP_ID", "TOWNHALL_WEBHOOK_SECRET", "ANTHROPIC_API_KEY"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_validates_a_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / ".townhall.toml"
    policy.write_text("[votes]\nthreshold = 'many'\n")
    result = run(["check-config", "--repo-config", str(policy)], tmp_path)
    assert result.returncode == 1
    assert "votes.threshold: expected a number" in result.stderr
    policy.write_text("[votes]\nthreshold = 4\n")
    assert run(["check-config", "--repo-config", str(policy)], tmp_path).returncode == 0


def test_malformed_settings_exit_2_without_a_traceback(tmp_path: Path) -> None:
    result = run(["status"], tmp_path, TOWNHALL_SANDBOX_BACKEND="docker")
    assert result.returncode == 2
    assert "TOWNHALL_SANDBOX_BACKEND" in result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TOWNHALL_SANDBOX_BACKEND=docker\n")
    result = run(["status"], tmp_path)
    assert result.returncode == 2
    assert "TOWNHALL_SANDBOX_BACKEND" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["check-config", "--help"]])
def test_help(args: list[str], tmp_path: Path) -> None:
    result = run(args, tmp_path)
    assert result.returncode == 0
    assert "usage: townhall" in result.stdout


def test_map_is_delegated_to_the_codemap_command(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(
        '"""Say hello."""\n\n\ndef greet(name: str) -> str:\n    return name\n'
    )
    result = run(["map", str(tmp_path), "--out", "-"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello.py" in result.stdout and "greet" in result.stdout
    assert run(["map", str(tmp_path), "--check"], tmp_path).returncode == 1
    assert run(["map", str(tmp_path)], tmp_path).returncode == 0
    assert run(["map", str(tmp_path), "--check"], tmp_path).returncode == 0
