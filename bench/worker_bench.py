"""Worker overhead: dispatch to PR opened for a scripted task on a 200-file repository.

localhub (real git), the scripted model (so the agent itself takes ~no time) and a local
sandbox; the attempt's recorded steps split the time into fetch, codebase map, sandbox setup,
agent + verification, and publish. Prints the figures and exits 0 (not a test).
Run: .venv/bin/python bench/worker_bench.py [--files N] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import anthropic

from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, GitHubAppCredentials
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import Script, ScriptedModel, ToolUse, Turn
from app.store import Store, Tx, open_store
from app.store.attempts import start_attempt_tx
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState
from workers.attempt import WorkerDeps, run_attempt

OWNER, REPO, APP_ID = "bench", "big", 7
STEPS = ("fetch", "codebase_map", "sandbox_setup", "agent_and_verify", "publish")


def write_repo(root: Path, files: int) -> None:
    """A Python package of `files` modules and a passing test, plus its policy."""
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    for n in range(files - 4):
        (root / "pkg" / f"mod_{n:03}.py").write_text(
            f'"""Module {n}."""\n\n\ndef value_{n}() -> int:\n    return {n}\n'
        )
    (root / "test_pkg.py").write_text(
        "import unittest\nfrom pkg.mod_000 import value_0\n\n\n"
        "class T(unittest.TestCase):\n    def test(self):\n        self.assertEqual(value_0(), 0)\n"
    )
    (root / "README.md").write_text("# big\n")
    (root / ".townhall.toml").write_text('[commands]\ntest = "python3 -m unittest -q"\n')


def seed(store: Store, installation_id: int, head: str, run: int) -> None:
    clock = SystemClock()

    def work(tx: Tx) -> None:
        if run == 0:
            tx.execute(
                "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, '')",
                (installation_id, OWNER),
            )
            tx.execute(
                "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
                " VALUES (1, ?, ?, '', '')",
                (installation_id, f"{OWNER}/{REPO}"),
            )
        number = run + 1
        tx.execute(
            "INSERT INTO issues (repo_id, number, title, body, author, created_at, updated_at)"
            " VALUES (1, ?, 'Docs', 'Say hello', 'alice', '', '')",
            (number,),
        )
        task = create_task_tx(
            tx,
            clock,
            repo_id=1,
            issue_number=number,
            max_attempts=2,
            priority=1,
            actor="bench",
            reason="seed",
        )
        transition_tx(
            tx,
            clock,
            task.id,
            TaskState.PLANNED,
            actor="bench",
            reason="p",
            role="developer",
            brief="Add a line to README.md",
            complexity="small",
            predicted_files=["README.md"],
        )
        transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="bench", reason="q")
        start_attempt_tx(tx, clock, task.id, head, "bench", "bench")

    store.run_sync(work)


async def measure(files: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_repo(root / "source", files)
        keys = generate_app_keypair()
        hub = LocalHub(root / "hub", token_ttl=timedelta(hours=1))
        model = ScriptedModel()
        edit = Turn(
            [
                ToolUse(
                    "edit_file",
                    {"path": "README.md", "old_text": "# big\n", "new_text": "# big\n\nHello.\n"},
                )
            ]
        )
        finish = Turn([ToolUse("finish", {"summary": "Said hello."})])
        with (
            ServerThread(hub.create_app(), log_level="error") as hub_server,
            ServerThread(model.create_app(), log_level="error") as model_server,
            LocalHubControl(hub_server.url) as ctl,
        ):
            ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="t")
            repo = ctl.create_repo_from_dir(OWNER, REPO, root / "source")
            installation = int(ctl.create_installation(APP_ID, OWNER)["id"])
            head = subprocess.run(
                ["git", "-C", repo["path"], "rev-parse", "main"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            store = open_store(str(root / "bench.db"))
            clock = SystemClock()
            access = GitHubAccess(
                hub_server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock
            )
            llm = LLM(
                anthropic.AsyncAnthropic(api_key="k", base_url=model_server.url, max_retries=0),
                DEFAULT_MODELS,
                DEFAULT_PRICES,
                store_recorder(store, clock),
            )
            deps = WorkerDeps(store, clock, access, llm)
            totals: list[float] = []
            for run in range(runs):
                model.load([Script("w", [edit, finish])])  # replaces the script per run
                seed(store, installation, head, run)
                started = time.perf_counter()
                await run_attempt(deps, run + 1, 1)
                totals.append(time.perf_counter() - started)
            rows = await store.fetchall("SELECT step, duration_ms FROM attempt_steps ORDER BY id")
            outcomes = await store.fetchall("SELECT outcome, log FROM attempts")
            await store.close()
    by_step: dict[str, list[float]] = {}
    for row in rows:
        by_step.setdefault(row["step"], []).append(row["duration_ms"] / 1000)
    print(f"worker benchmark: {files}-file repository, {runs} scripted attempts, local sandbox")
    print(f"  outcomes: {sorted({row['outcome'] for row in outcomes})}")
    for step in STEPS:
        values = by_step.get(step, [0.0])
        print(f"  {step:<18} median {statistics.median(values):6.2f} s")
    agent = statistics.median(by_step.get("agent_and_verify", [0.0]))
    total = statistics.median(totals)
    print(f"  dispatch → PR      median {total:6.2f} s")
    print(f"  overhead (all but agent + verification): {total - agent:.2f} s (goal: under 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(measure(args.files, args.runs))


if __name__ == "__main__":
    sys.exit(main())
