"""The GitHub App manifest printed by `townhall app-manifest`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.github.manifest import app_manifest


def test_manifest_asks_for_the_minimal_permissions() -> None:
    manifest = app_manifest("Townhall", "https://townhall.example.com/")
    assert manifest["hook_attributes"]["url"] == "https://townhall.example.com/webhook"
    assert manifest["default_permissions"] == {
        "contents": "write",
        "issues": "write",
        "pull_requests": "write",
        "checks": "read",
        "statuses": "read",
        "metadata": "read",
    }
    assert {"issues", "issue_comment", "pull_request", "pull_request_review"} <= set(
        manifest["default_events"]
    )


def test_cli_prints_the_manifest_as_json(tmp_path: Path) -> None:
    townhall = str(Path(sys.executable).parent / "townhall")
    result = subprocess.run(
        [townhall, "app-manifest", "--name", "My Townhall", "--url", "https://x.example"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "My Townhall"
    missing = subprocess.run(
        [townhall, "app-manifest"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 2
    assert "TOWNHALL_PUBLIC_URL" in missing.stderr
