"""A scripted end-to-end run whose records fill the dashboard: real worker attempts against
localhub and the scripted model, then a review merge, a tick, a queued and a stuck task.

Every row is written by the code that writes it in production (worker, task transitions,
upserts, the LLM recorder, the CEO's tick event); only votes are inserted by hand.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from app.clock import SystemClock
from app.llm import CallContext, CallRecord, store_recorder
from app.logs import configure_logging, log_context
from app.settings import DEFAULT_MODELS
from app.standins.scripted_model import Script, ScriptedModel, ToolUse, Turn
from app.store import Store, Tx, open_store
from app.store.attempts import fail_attempt_tx, start_attempt_tx
from app.store.issues import IssueRecord, upsert_issue_tx
from app.store.reviews import ReviewRecord, insert_review_tx
from app.store.tasks import create_task_tx, record_event, transition_tx
from app.store.timings import TickTiming, record_tick
from app.taskstate import TaskState
from tests.stands import calc_repository, running_stands
from workers.attempt import WorkerDeps, run_attempt

OWNER, REPO = "octo", "calc"
APP_ID = 77
POLICY = '[commands]\ntest = "python3 -m unittest -q"\n[limits]\nmax_attempts = 3\nfix_rounds = 1\n'
CORE = "def add(a, b):\n    return a - b\n"
TESTS = (
    "import unittest\nfrom calc.core import add\n\n\n"
    "class AddTest(unittest.TestCase):\n    def test_add(self):\n"
    "        self.assertEqual(add(2, 3), 5)\n"
)
HOSTILE_TITLE = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)> [bold red]x[/]'
API_KEY = "sk-ant-api03-dashboard-e2e-key-0123456789abcdefghijklmnop"
WEBHOOK_SECRET = "whsec-dashboard-e2e-0123456789"

WRONG = Turn(
    # A syntax error: it fails differently from the base (whose test_add already fails), so
    # the attempt is blamed rather than excused as "already failing at base".
    [ToolUse("edit_file", {"path": "calc/core.py", "old_text": "a - b", "new_text": "a -* b"})]
)
FIX = Turn(
    [ToolUse("edit_file", {"path": "calc/core.py", "old_text": "a - b", "new_text": "a + b"})]
)
RUN_TESTS = Turn([ToolUse("run", {"command": "python3 -m unittest -q"})])
FINISH = Turn([ToolUse("finish", {"summary": "add() now adds; the unit test passes."})])


@dataclass
class Run:
    """What the scripted run left behind."""

    db: Path
    logs: str
    secrets: list[str] = field(default_factory=list)
    fixed_task: int = 1
    queued_task: int = 2
    stuck_task: int = 3


def run_scenario(workdir: Path) -> Run:
    """Run the whole scenario in `workdir`; return the store file, the logs and the secrets."""
    stream = io.StringIO()
    db = workdir / "townhall.db"
    store = open_store(str(db))
    files = {**calc_repository(POLICY), "calc/core.py": CORE, "test_core.py": TESTS}
    try:
        with running_stands(workdir, store, files, app_id=APP_ID, api_key=API_KEY) as stands:
            secrets = [stands.keys.private_key_pem, API_KEY, WEBHOOK_SECRET]
            configure_logging("DEBUG", secrets=secrets, stream=stream)
            clock = SystemClock()
            deps = WorkerDeps(store, clock, stands.access, stands.llm)
            head = stands.main_sha()
            store.run_sync(
                lambda tx: _seed(tx, clock, stands.installation_id, stands.issue_number, head)
            )
            token = asyncio.run(_attempts(deps, stands.model, head, stands.installation_id))
            secrets.append(token)
            asyncio.run(_after_attempts(store, clock, head))
    finally:
        store.close_sync()
    return Run(db=db, logs=stream.getvalue(), secrets=secrets)


def _seed(tx: Tx, clock: SystemClock, installation_id: int, number: int, head: str) -> None:
    tx.execute(
        "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, '')",
        (installation_id, OWNER),
    )
    tx.execute(
        "INSERT INTO repos (id, installation_id, full_name, default_branch, private, created_at,"
        " updated_at) VALUES (1, ?, ?, 'main', 0, '', '')",
        (installation_id, f"{OWNER}/{REPO}"),
    )
    issues = [
        (number, "add() subtracts", "2 + 3 should be 5", 6),
        (number + 1, HOSTILE_TITLE, "<b>body</b>", 9),
        (number + 2, "Rewrite everything in Rust", "please", 4),
    ]
    for issue_number, title, body, score in issues:
        upsert_issue_tx(
            tx,
            clock,
            1,
            IssueRecord(number=issue_number, title=title, body=body, author="alice"),
        )
        tx.execute(
            "UPDATE issues SET decision = 'approved', score = ? WHERE repo_id = 1 AND number = ?",
            (score, issue_number),
        )
        for voter in range(int(score)):
            tx.execute(
                "INSERT INTO votes (repo_id, issue_number, login, content, reacted_at)"
                " VALUES (1, ?, ?, '+1', '')",
                (issue_number, f"voter{voter}"),
            )
        task = create_task_tx(
            tx,
            clock,
            repo_id=1,
            issue_number=issue_number,
            max_attempts=1 if issue_number == number + 2 else 3,
            priority=score,
            actor="townhall-votes",
            reason="approved by votes",
        )
        transition_tx(
            tx,
            clock,
            task.id,
            TaskState.PLANNED,
            actor="ceo",
            reason="planned",
            role="developer",
            brief="Make add() add.",
            complexity="small",
            predicted_files=["calc/core.py"],
        )
        transition_tx(
            tx,
            clock,
            task.id,
            TaskState.QUEUED,
            actor="ceo",
            reason="queued",
            waiting_reason="waits for calc/core.py (claimed by #1)"
            if issue_number == number + 1
            else None,
        )
    start_attempt_tx(tx, clock, 1, head, "ceo", "worker-1")


async def _attempts(deps: WorkerDeps, model: ScriptedModel, head: str, installation: int) -> str:
    """Run attempt 1 (fails verification) and attempt 2 (opens a PR); return a minted token."""
    model.load([Script("worker", [WRONG, FINISH, FINISH])])
    with log_context(task=1, attempt=1):
        await run_attempt(deps, 1, 1, "worker-1")
    await deps.store.run(lambda tx: start_attempt_tx(tx, deps.clock, 1, head, "ceo", "worker-1"))
    model.load([Script("worker", [FIX, RUN_TESTS, FINISH])])
    with log_context(task=1, attempt=2):
        await run_attempt(deps, 1, 2, "worker-1")
    token = await deps.github.installation_token(installation, [REPO])
    # A careless line, as a handler might write one: the redactor must catch it.
    logging.getLogger("townhall.careless").info(
        "token=%s key=%s header=Bearer %s", token.token, API_KEY, token.token
    )
    return token.token


async def _after_attempts(store: Store, clock: SystemClock, head: str) -> None:
    """Review and merge task 1, give up on task 3, record a completed tick."""
    recorder = store_recorder(store, clock)
    await recorder(
        CallRecord(
            CallContext("review", 1, 2, None), DEFAULT_MODELS["deep"], 5000, 400, 0, 0, 0.04, 900.0
        )
    )

    def merge_and_stall(tx: Tx) -> None:
        transition_tx(tx, clock, 1, TaskState.REVIEWING, actor="reviewer", reason="review")
        insert_review_tx(
            tx,
            clock,
            ReviewRecord(
                task_id=1,
                attempt=2,
                repo_id=1,
                pr_number=2,
                head_sha=str(tx.scalar("SELECT head_sha FROM tasks WHERE id = 1")),
                base_sha=head,
                decision="approve",
                outcome="merged",
                reasons=("every blocking criterion passed",),
                model_decision="approve",
                merge_sha="5eed" * 10,
            ),
            head_reviewed=True,
        )
        transition_tx(tx, clock, 1, TaskState.MERGED, actor="reviewer", reason="approved")
        start_attempt_tx(tx, clock, 3, head, "ceo", "worker-2")
        fail_attempt_tx(tx, clock, 3, 1, outcome="limit_reached", log="turn limit reached\nno diff")
        record_event(tx, clock, actor="ceo", kind="tick_completed", reason="1 repositories")

    await store.run(merge_and_stall)
    now = clock.now()
    await record_tick(store, TickTiming(now - timedelta(seconds=3), now, True, "1 repositories"))
