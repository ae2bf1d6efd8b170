"""`serve()` runs localhub as its own process, announces its URL, and persists on shutdown."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.serving import free_port
from app.standins.localhub import LocalHubControl

ROOT = Path(__file__).resolve().parents[2]


def test_serve_runs_a_standalone_hub(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    script = (
        "from pathlib import Path; from app.standins.localhub import serve; "
        f"serve('127.0.0.1', {port}, Path({str(data_dir)!r}), log_level='warning')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/_localhub/counters", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "hub did not start"
            time.sleep(0.05)
        with LocalHubControl(url) as ctl:
            ctl.create_user("fran", token="fran-token")
        answer = httpx.get(url + "/users/fran", headers={"Authorization": "token fran-token"})
        assert answer.json()["login"] == "fran"
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert f"serving the GitHub API on {url}/" in output
    saved = json.loads((data_dir / "state.json").read_text())
    assert "fran" in saved["users"] and saved["user_tokens"] == {"fran-token": "fran"}
