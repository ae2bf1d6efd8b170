"""`townhall status`, `costs` and `task N` say what is wrong where an operator looks.

A real libSQL file store, filled with synthetic tasks, then given the failures an operator has
to see: an invalid policy, a failed tick, a model that keeps failing, a pending issue whose
window ended, and an attempt whose log ends with the worker's transcript.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.dashboard.cli import costs_command, status_command, task_command
from app.dashboard.transcript import readable_log
from app.settings import Settings
from app.store import Tx, open_store
from app.store.times import to_db
from app.store.timings import TickTiming, record_tick_tx, tick_detail
from tests.dashboard.fill import fill

NOW = datetime.now(UTC).replace(microsecond=0)
POLICY_ERROR = ".townhall.toml is invalid (1 problem):\n  - votes.threshold: expected a number"
TICK_ERROR = "octo/shop: RequestFailed: Response(401 Unauthorized)"
MODEL_ERROR = "planning postponed (2 failed in a row): APIStatusError 529: Overloaded"
TRANSCRIPT = {
    "system": "You are the developer.\nWork carefully.",
    "messages": [
        {"role": "user", "content": "Fix add() so that 2 + 3 is 5."},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I will read the code first."},
                {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.py"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "def add(a, b):\n  ..."}
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "t2",
                    "name": "run",
                    "input": {"command": "pytest -q"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t2",
                    "content": "1 failed",
                    "is_error": True,
                }
            ],
        },
    ],
    "turns": 2,
    "output_tokens": 321,
    "dollars": 0.0123,
}


@pytest.fixture
def stored(tmp_path: Path) -> Settings:
    db = tmp_path / "townhall.db"
    store = open_store(str(db))
    try:
        fill(store, NOW, 30)
        store.run_sync(_failures)
    finally:
        store.close_sync()
    return Settings(db_url=str(db), daily_budget_usd=5.0)


def _failures(tx: Tx) -> None:
    tx.execute("UPDATE repos SET policy_error = ?", (POLICY_ERROR,))
    record_tick_tx(
        tx,
        TickTiming(
            NOW - timedelta(seconds=70),
            NOW - timedelta(seconds=30),
            False,
            tick_detail(0, [TICK_ERROR]),
        ),
    )
    approved = tx.scalar("SELECT MIN(id) FROM tasks WHERE state = 'queued'")
    tx.execute(
        "UPDATE tasks SET state = 'approved', waiting_reason = ? WHERE id = ?",
        (MODEL_ERROR, approved),
    )
    # An issue still pending though its window is over (too few votes so far).
    tx.execute(
        "INSERT INTO issues (repo_id, number, title, body, author, state, decision,"
        " decision_reason, score, created_at, updated_at)"
        " VALUES (1, 9001, 'Dark mode', '', 'ann', 'open', 'pending', ?, 99, ?, ?)",
        ("net score 1 is below the threshold 3", to_db(NOW), to_db(NOW)),
    )
    tx.execute(
        "INSERT INTO vote_snapshots (sweep_id, repo_id, issue_number, taken_at, decision,"
        " score, body_hash, explanation) VALUES (1, 1, 9001, ?, 'pending', 99, '', ?)",
        (to_db(NOW), json.dumps({"window_ends": to_db(NOW - timedelta(hours=1))})),
    )
    task = tx.scalar("SELECT MIN(task_id) FROM attempts WHERE ended_at IS NOT NULL")
    tx.execute(
        "UPDATE attempts SET log = ? WHERE task_id = ?",
        ("agent started\n\n" + json.dumps(TRANSCRIPT), task),
    )


def _status(settings: Settings) -> str:
    out = io.StringIO()
    assert status_command(settings, as_json=False, rows=50, out=out) == 0
    return out.getvalue()


def test_status_names_the_store_and_shows_the_policy_and_tick_errors(stored: Settings) -> None:
    shown = _status(stored)
    # The header panel may wrap a long temporary path: compare without spaces and borders.
    assert f"store{Path(stored.db_url).resolve()}" in "".join(shown.replace("│", "").split())
    assert "Repositories (1)" in shown
    assert "invalid: .townhall.toml is invalid (1 problem):" in shown
    assert "votes.threshold: expected a number" in shown
    assert "its .townhall.toml is invalid" in shown  # needs the operator
    assert "s ago: failed (0 dispatched, 1 error)" in shown and "Last tick " in shown
    assert TICK_ERROR in shown
    assert "1 errors" not in shown and "1 problems" not in shown
    # Cells wrap at the table's width: look for the start of each.
    assert "planning postponed (2" in shown  # why it waits
    assert "ended, not decided" in shown and "pending: net score 1" in shown
    assert "closed" not in shown


def test_status_json_has_the_repositories_and_the_last_tick(stored: Settings) -> None:
    out = io.StringIO()
    assert status_command(stored, as_json=True, rows=50, out=out) == 0
    body = json.loads(out.getvalue())
    [repo] = body["repos"]
    assert repo["policy_valid"] is False and repo["policy_error"] == POLICY_ERROR
    assert repo["needs_operator"].startswith("its .townhall.toml is invalid")
    assert body["last_tick"]["ok"] is False and TICK_ERROR in body["last_tick"]["detail"]
    assert [row for row in body["queue"]["rows"] if row["waiting_reason"] == MODEL_ERROR]


def test_costs_leaves_out_days_without_calls(stored: Settings) -> None:
    out = io.StringIO()
    assert costs_command(stored, as_json=False, days=30, rows=25, out=out) == 0
    shown = out.getvalue()
    assert "store " in shown and "per merged task" in shown
    day_rows = [line for line in shown.splitlines() if line.startswith("│ 20")]
    assert day_rows and all("│ 0 " not in line for line in day_rows)
    as_json = io.StringIO()
    costs_command(stored, as_json=True, days=30, rows=25, out=as_json)
    merged = json.loads(as_json.getvalue())["merged_tasks"]
    assert merged["merged_tasks"] > 0 and merged["per_merged_task_usd"] > 0


def test_task_shows_the_transcript_readably_and_json_keeps_it_raw(stored: Settings) -> None:
    store = open_store(stored.db_url)
    try:
        task = store.run_sync(
            lambda tx: tx.scalar("SELECT MIN(task_id) FROM attempts WHERE log LIKE '%messages%'")
        )
    finally:
        store.close_sync()
    out = io.StringIO()
    assert task_command(stored, int(task), by_issue=False, as_json=False, log_lines=0, out=out) == 0
    shown = out.getvalue()
    assert '"messages"' not in shown  # no raw JSON
    assert "user: Fix add() so that 2 + 3 is 5." in shown
    assert "assistant: I will read the code first." in shown
    assert '→ read_file(path="a.py")' in shown
    assert "← def add(a, b): (+1 lines)" in shown
    assert '→ run(command="pytest -q")' in shown and "✗ 1 failed" in shown
    raw = io.StringIO()
    task_command(stored, int(task), by_issue=False, as_json=True, log_lines=0, out=raw)
    [attempt] = [a for a in json.loads(raw.getvalue())["attempts"] if "messages" in a["log"]]
    assert json.dumps(TRANSCRIPT) in attempt["log"]


def test_readable_log_keeps_other_lines_and_cuts_long_calls() -> None:
    long_call = {
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "name": "write_file", "input": {"text": "x" * 500}}
                ],
            }
        ]
    }
    shown = readable_log("line one\n{not json\n" + json.dumps(long_call)).splitlines()
    assert shown[:2] == ["line one", "{not json"]
    [call] = [line for line in shown if "write_file" in line]
    assert len(call) < 200 and call.endswith("…)")
