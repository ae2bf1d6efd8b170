"""`townhall demo` as a user runs it: a subprocess, then its store and git repository checked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from app.store import open_store

TOWNHALL = str(Path(sys.executable).parent / "townhall")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_demo_merges_what_voters_approved_and_nothing_else(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    # A model key in the environment is not used without --real-model: were it used, every
    # call would fail against this closed port and nothing would merge.
    env["ANTHROPIC_API_KEY"] = "sk-ant-demo-must-not-use-this"
    env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{_closed_port()}"
    result = subprocess.run(
        [TOWNHALL, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "scripted model server (offline)" in result.stdout
    assert "ANTHROPIC_API_KEY is set but not used: pass --real-model" in result.stdout
    assert "Summary" in result.stdout
    # The summary says why each issue that was not worked on ended as it did.
    assert "Delete the tests, they slow us down: rejected (" in result.stdout
    assert "Rewrite everything in Rust: pending (" in result.stdout
    assert "dollars per merged task: $" in result.stdout

    store = open_store(str(tmp_path / "townhall.db"))
    try:
        issues = store.run_sync(
            lambda tx: tx.fetchall(
                "SELECT i.number, i.title, i.decision, t.state FROM issues i LEFT JOIN tasks t"
                " ON t.repo_id = i.repo_id AND t.issue_number = i.number"
                " WHERE i.is_pull_request = 0 ORDER BY i.number"
            )
        )
        by_title = {row["title"]: row for row in issues}
        for title in (
            "Add a multiply function",
            "Add a power function",
            "Document how to use calc",
        ):
            assert by_title[title]["state"] == "merged", by_title[title]
        assert by_title["Delete the tests, they slow us down"]["decision"] == "rejected"
        assert by_title["Delete the tests, they slow us down"]["state"] is None
        assert by_title["Rewrite everything in Rust"]["state"] is None
        assert by_title["Rewrite everything in Rust"]["decision"] != "approved"

        # The two issues that change calc/ops.py ran one after the other, never together.
        moves = store.run_sync(
            lambda tx: tx.fetchall(
                "SELECT e.id, t.issue_number, e.to_state FROM events e JOIN tasks t"
                " ON t.id = e.task_id WHERE e.to_state IN ('running', 'merged') ORDER BY e.id"
            )
        )
    finally:
        store.close_sync()
    pair = {
        by_title["Add a multiply function"]["number"],
        by_title["Add a power function"]["number"],
    }
    sequence = [(m["issue_number"], m["to_state"]) for m in moves if m["issue_number"] in pair]
    first = sequence[0][0]
    second = (pair - {first}).pop()
    assert sequence.index((first, "merged")) < sequence.index((second, "running")), sequence

    bare = tmp_path / ".townhall-demo" / "hub" / "repos" / "demo-org" / "calc.git"

    def on_main(path: str) -> str:
        shown = subprocess.run(
            ["git", "-C", str(bare), "show", f"main:{path}"],
            capture_output=True,
            text=True,
            check=True,
        )
        return shown.stdout

    ops, readme, tests = on_main("calc/ops.py"), on_main("README.md"), on_main("tests/test_ops.py")
    assert "def multiply" in ops and "def power" in ops
    assert "## Usage" in readme
    assert "class OpsTest" in tests  # the vetoed issue wanted the tests deleted
