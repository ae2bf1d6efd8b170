"""`townhall demo --keep`: after the demo, a person files and votes by hand and Townhall acts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOWNHALL = str(Path(sys.executable).parent / "townhall")
WAIT_SECONDS = 150.0


def _read_until(process: subprocess.Popen[str], marker: str, deadline: float) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never printed:\n" + "".join(seen)[-3000:])


def test_kept_demo_acts_on_an_issue_filed_and_voted_by_hand(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [TOWNHALL, "demo", "--keep"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        printed = _read_until(process, "Ticks run every few seconds", deadline)
        match = re.search(r"localhub\s+(http://127\.0\.0\.1:\d+)", printed)
        assert match, printed[-2000:]
        hub = match[1]
        control = f"{hub}/_localhub/repos/demo-org/calc"
        with httpx.Client(timeout=10) as http:
            issue = http.post(
                f"{control}/issues", json={"author": "erin", "title": "Add a CHANGELOG"}
            ).json()
            for voter in ("alice", "bob", "carol"):
                http.post(
                    f"{control}/issues/{issue['number']}/reactions",
                    json={"user": voter, "content": "+1"},
                ).raise_for_status()
            # The kept ticks plan it, a worker writes the note, the reviewer merges it.
            while time.monotonic() < deadline:
                pulls = http.get(f"{hub}/repos/demo-org/calc/pulls?state=closed").json()
                merged = [p for p in pulls if "CHANGELOG" in p["title"] and p.get("merged_at")]
                if merged:
                    break
                time.sleep(2)
            else:
                raise AssertionError("the hand-filed issue was never merged")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert "Traceback" not in rest, rest[-3000:]
    assert "stopped; the store and the scratch directory are kept" in rest
