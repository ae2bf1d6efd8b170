"""The dashboard, API, health check, CLI and logs after a scripted end-to-end run."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.clock import SystemClock
from app.logs import REDACTED
from app.serving import ServerThread
from app.store import Store, open_store
from app.web import WebConfig, create_web_app
from tests.dashboard.scenario import HOSTILE_TITLE, WEBHOOK_SECRET, Run, run_scenario

TOWNHALL = str(Path(sys.executable).parent / "townhall")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Run the scenario once for the module; put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield run_scenario(tmp_path_factory.mktemp("scripted-run"))
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


@dataclass
class Served:
    url: str
    store: Store


@pytest.fixture(scope="module")
def served(run: Run) -> Iterator[Served]:
    """The real web app over the run's store, served by uvicorn on loopback."""
    store = open_store(str(run.db))
    app = create_web_app(
        WebConfig(
            store=store,
            clock=SystemClock(),
            webhook_secret=WEBHOOK_SECRET,
            max_body_bytes=1 << 20,
            processor=None,
            daily_budget_usd=1.0,
        )
    )
    with ServerThread(app) as server:
        yield Served(server.url, store)
    store.close_sync()


def test_the_run_recorded_two_attempts_a_merge_and_a_stuck_task(served: Served) -> None:
    tasks = served.store.run_sync(lambda tx: tx.fetchall("SELECT id, state FROM tasks"))
    assert {row["id"]: row["state"] for row in tasks} == {
        1: "merged",
        2: "queued",
        3: "needs_human",
    }
    outcomes = served.store.run_sync(
        lambda tx: tx.fetchall("SELECT task_id, number, outcome FROM attempts ORDER BY rowid")
    )
    assert [(row["task_id"], row["number"], row["outcome"]) for row in outcomes] == [
        (1, 1, "build_failed"),
        (1, 2, "verified"),
        (3, 1, "limit_reached"),
    ]


def test_dashboard_page_shows_every_section_with_the_run(served: Served) -> None:
    response = httpx.get(f"{served.url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]  # none allowed
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    for section in (
        'id="budget"',
        'id="health"',
        'id="leaderboard"',
        'id="queue"',
        'id="running"',
        'id="pulls"',
        'id="failures"',
        'id="needs-human"',
        'id="outcomes"',
        'id="cost-chart"',
        'id="throughput-chart"',
        'id="costs"',
        'id="steps"',
    ):
        assert section in page, section
    assert "octo/calc#2" in page  # the pull request the second attempt opened
    assert "build_failed" in page and "limit_reached" in page
    assert "waits for calc/core.py (claimed by #1)" in page
    assert "attempt 1 of 1 failed: limit_reached" in page  # why task 3 needs a person
    assert "<svg" in page and "<rect" in page
    assert "Rewrite everything in Rust" in page


def test_an_issue_title_with_markup_is_escaped_not_rendered(served: Served) -> None:
    page = httpx.get(f"{served.url}/", timeout=10).text
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &lt;img" in page
    api = httpx.get(f"{served.url}/api/status", timeout=10).json()
    assert HOSTILE_TITLE in [issue["title"] for issue in api["leaderboard"]]


def test_api_status_returns_the_same_data_as_json(served: Served) -> None:
    response = httpx.get(f"{served.url}/api/status", timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["tasks_by_state"]["merged"] == 1 and data["total"] == 3
    assert [issue["number"] for issue in data["leaderboard"]] == [2, 1, 3]  # by votes
    assert data["leaderboard"][0]["voters"] == 9
    assert [row["task_id"] for row in data["queue"]["rows"]] == [2]
    pull = data["pull_requests"][0]
    assert (pull["pr_number"], pull["task_state"]) == (2, "merged")
    assert 0 < pull["to_pr_seconds"] <= pull["to_merge_seconds"]
    spent = served.store.run_sync(
        lambda tx: tx.scalar("SELECT SUM(cost_usd) FROM llm_calls WHERE task_id = 1")
    )
    assert spent > 0.04 and pull["cost_usd"] == pytest.approx(spent)
    roles = {row["key"]: row for row in data["costs"]["by_role"]}
    assert set(roles) == {"developer", "review"}
    assert roles["review"]["cost_usd"] == pytest.approx(0.04)
    assert data["costs"]["by_day"][-1]["cost_usd"] == pytest.approx(
        data["budget"]["spent_today_usd"]
    )
    outcomes = data["outcomes"]
    assert (outcomes["attempts_ended"], outcomes["attempts_with_pr"]) == (3, 1)
    assert (outcomes["tasks_merged"], outcomes["tasks_given_up"]) == (1, 1)
    assert outcomes["merge_rate"] == 0.5
    assert outcomes["to_merge_median_seconds"] == pytest.approx(pull["to_merge_seconds"])
    assert data["throughput"][-1] == {
        "day": data["throughput"][-1]["day"],
        "opened": 1,
        "merged": 1,
    }
    steps = {step["step"]: (step["runs"], step["failures"]) for step in data["steps"]}
    assert steps["fetch"] == (2, 0) and steps["publish"] == (1, 0)  # the worker's own records
    assert steps["agent_and_verify"] == (2, 1)  # attempt 1 failed its checks
    assert data["health"]["healthy"] is True


def test_healthz_is_ok_after_the_tick(served: Served) -> None:
    response = httpx.get(f"{served.url}/healthz", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["last_successful_tick"] is not None


def test_no_secret_reaches_the_logs_of_the_run(run: Run) -> None:
    lines = [json.loads(line) for line in run.logs.splitlines()]
    assert len(lines) > 20  # DEBUG logs of HTTP, git and the model client were captured
    for secret in run.secrets:
        assert secret not in run.logs
        for part in secret.splitlines():
            if len(part) >= 16 and "-----" not in part:
                assert part not in run.logs
    assert any(secret.startswith("ghs_") for secret in run.secrets)
    careless = [line for line in lines if line["logger"] == "townhall.careless"]
    assert careless == [careless[0]] and careless[0]["message"].count(REDACTED) == 3


def test_lines_logged_during_an_attempt_carry_its_task_and_attempt(run: Run) -> None:
    lines = [json.loads(line) for line in run.logs.splitlines()]
    tagged = {(line.get("task"), line.get("attempt")) for line in lines}
    assert {(1, 1), (1, 2)} <= tagged
    model_calls = [
        line
        for line in lines
        if "/v1/messages" in line["message"] and "HTTP Request" in line["message"]
    ]
    assert model_calls and all(line.get("task") == 1 for line in model_calls)


def cli(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
    env |= {"TOWNHALL_DB_URL": str(db), "TOWNHALL_DAILY_BUDGET_USD": "1", "COLUMNS": "200"}
    return subprocess.run(
        [TOWNHALL, *args], cwd=db.parent, env=env, capture_output=True, text=True, timeout=60
    )


def test_status_prints_the_sections_and_json_matches_the_api(run: Run, served: Served) -> None:
    table = cli(["status"], run.db)
    assert table.returncode == 0, table.stderr
    for heading in ("Leaderboard", "Queue", "Recent pull requests", "Failed attempts"):
        assert heading in table.stdout
    assert "Spent today" in table.stdout and "of $1.00" in table.stdout
    assert "<script>" in table.stdout  # shown as text in a terminal...
    assert "\x1b" not in table.stdout and "[bold red]x[/]" in table.stdout  # ...never as markup
    as_json = json.loads(cli(["status", "--json"], run.db).stdout)
    api = httpx.get(f"{served.url}/api/status", timeout=10).json()
    for key in ("tasks_by_state", "leaderboard", "pull_requests", "failures", "costs"):
        assert as_json[key] == api[key], key


def test_costs_prints_spend_per_day_role_model_and_task(run: Run) -> None:
    result = cli(["costs", "--days", "7"], run.db)
    assert result.returncode == 0, result.stderr
    for heading in ("Per day", "Per role", "Per model", "Costliest tasks"):
        assert heading in result.stdout
    assert "claude-opus-5-5" in result.stdout and "developer" in result.stdout
    data = json.loads(cli(["costs", "--json"], run.db).stdout)
    assert data["by_task"][0]["key"] == "task 1 (octo/calc#1)"


def test_task_shows_its_whole_history(run: Run) -> None:
    result = cli(["task", "1", "--log-lines", "0"], run.db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Attempt 1: build_failed" in out and "Attempt 2: verified" in out
    assert "agent_and_verify" in out  # the steps
    assert "python3 -m unittest -q" in out  # the attempt's log
    assert "merged" in out and "reviewer" in out  # events
    assert "review" in out and "claude-opus-5-5" in out  # model calls
    assert "every blocking criterion passed" in out and "5eed5eed5e" in out  # the review
    by_issue = json.loads(cli(["task", "2", "--issue", "--json"], run.db).stdout)
    assert by_issue["task"]["title"] == HOSTILE_TITLE
    assert [event["to_state"] for event in by_issue["events"]] == ["approved", "planned", "queued"]
    missing = cli(["task", "99"], run.db)
    assert missing.returncode == 1 and "no task 99" in missing.stderr
