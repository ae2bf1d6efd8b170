"""Fill a store with many synthetic tasks, row by row the way the real code writes them."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import ManualClock
from app.serving import ServerThread
from app.store import Store, Tx
from app.store.times import to_db
from app.web import WebConfig, create_web_app

REPO_ID = 1
REPO = "octo/big"
MODELS = ("claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5")
ROLES = ("developer", "tests", "docs")
STEPS = ("fetch", "sandbox", "agent_turn", "verify", "publish")

Execute = Callable[[str, tuple[object, ...]], None]

# How the synthetic tasks are spread over the states (fractions of the total).
STATE_MIX = (
    ("merged", 0.60),
    ("queued", 0.15),
    ("pr_open", 0.05),
    ("reviewing", 0.02),
    ("needs_human", 0.05),
    ("cancelled", 0.03),
    ("approved", 0.04),
    ("planned", 0.03),
    ("running", 0.03),
)


@dataclass(frozen=True)
class Filled:
    """What was written, for the tests to check against."""

    tasks: int
    by_state: dict[str, int]
    rows: int


def fill(store: Store, now: datetime, tasks: int, seed: int = 11) -> Filled:
    """Write `tasks` tasks with their issues, votes, events, attempts, calls, steps and PRs."""
    rng = random.Random(seed)
    states: list[str] = []
    for state, share in STATE_MIX:
        states += [state] * round(tasks * share)
    states = (states + ["queued"] * tasks)[:tasks]
    rng.shuffle(states)
    counter = {"rows": 0}

    def write(tx: Tx) -> None:
        def run(sql: str, params: tuple[object, ...]) -> None:
            tx.execute(sql, params)
            counter["rows"] += 1

        run(
            "INSERT INTO installations (id, account_login, created_at) VALUES (1, 'octo', ?)",
            (to_db(now),),
        )
        run(
            "INSERT INTO repos (id, installation_id, full_name, default_branch, private,"
            " created_at, updated_at) VALUES (?, 1, ?, 'main', 0, ?, ?)",
            (REPO_ID, REPO, to_db(now), to_db(now)),
        )
        run(
            "INSERT INTO vote_sweeps (id, repo_id, scope, started_at) VALUES (1, ?, 'all', ?)",
            (REPO_ID, to_db(now)),
        )
        for number, state in enumerate(states, start=1):
            _one_task(run, rng, now, number, state)
        for minutes in (30, 20, 10, 5):
            ended = now - timedelta(minutes=minutes)
            run(
                "INSERT INTO ticks (started_at, ended_at, ok, detail) VALUES (?, ?, 1, '')",
                (to_db(ended - timedelta(seconds=40)), to_db(ended)),
            )

    store.run_sync(write)
    by_state: dict[str, int] = {}
    for state in states:
        by_state[state] = by_state.get(state, 0) + 1
    return Filled(tasks, by_state, counter["rows"])


def _one_task(execute: Execute, rng: random.Random, now: datetime, number: int, state: str) -> None:
    approved = now - timedelta(days=rng.uniform(0.2, 45), seconds=number)
    score = rng.randint(3, 40)
    is_open = state not in {"merged", "cancelled"}
    execute(
        "INSERT INTO issues (repo_id, number, title, body, author, state, decision, score,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?, ?)",
        (
            REPO_ID,
            number,
            f"Synthetic issue {number}: make feature {number % 97} better",
            "body",
            f"user{number % 50}",
            "open" if is_open else "closed",
            score,
            to_db(approved - timedelta(days=1)),
            to_db(approved),
        ),
    )
    if is_open:
        for voter in range(3):
            execute(
                "INSERT INTO votes (repo_id, issue_number, login, content, reacted_at)"
                " VALUES (?, ?, ?, '+1', ?)",
                (REPO_ID, number, f"voter{voter}", to_db(approved - timedelta(hours=2))),
            )
        window_ends = approved + timedelta(hours=rng.choice((-5, 2, 30)))
        execute(
            "INSERT INTO vote_snapshots (sweep_id, repo_id, issue_number, taken_at, decision,"
            " score, body_hash, explanation) VALUES (1, ?, ?, ?, 'approved', ?, '', ?)",
            (
                REPO_ID,
                number,
                to_db(approved),
                score,
                json.dumps({"window_ends": window_ends.strftime("%Y-%m-%dT%H:%M:%SZ")}),
            ),
        )
    path = ["approved", "planned", "queued", "running", "pr_open", "reviewing", "merged"]
    if state in {"needs_human", "cancelled"}:
        path = ["approved", "planned", "queued", "running", state]
    else:
        path = path[: path.index(state) + 1]
    moment = approved
    attempt = 0
    previous: str | None = None
    role = rng.choice(ROLES)
    for target in path:
        if target == "running":
            attempt += 1
        execute(
            "INSERT INTO events (task_id, repo_id, issue_number, actor, kind, from_state,"
            " to_state, reason, created_at) VALUES (?, ?, ?, 'ceo', ?, ?, ?, ?, ?)",
            (
                number,
                REPO_ID,
                number,
                "task_created" if previous is None else "transition",
                previous,
                target,
                f"moved to {target}",
                to_db(moment),
            ),
        )
        previous = target
        moment += timedelta(minutes=rng.uniform(5, 240))
    pr_number = 10_000 + number if state in {"pr_open", "reviewing", "merged"} else None
    execute(
        "INSERT INTO tasks (id, repo_id, issue_number, state, role, brief, predicted_files,"
        " complexity, priority, attempt, max_attempts, pr_number, branch, waiting_reason,"
        " cost_usd, approved_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'brief', ?, 'medium', ?, ?, 3, ?, ?, ?, ?, ?, ?, ?)",
        (
            number,
            REPO_ID,
            number,
            state,
            role,
            json.dumps([f"src/module_{number % 300}.py", f"tests/test_{number % 300}.py"]),
            score,
            attempt,
            pr_number,
            f"townhall/issue-{number}" if pr_number else None,
            "waits for src/module_1.py (claimed by #3)" if state == "queued" else None,
            0.0,
            to_db(approved),
            to_db(approved),
            to_db(moment),
        ),
    )
    if pr_number is not None:
        execute(
            "INSERT INTO pull_requests (repo_id, number, task_id, head_ref, head_sha, base_ref,"
            " state, merged, updated_at) VALUES (?, ?, ?, ?, 'abc', 'main', ?, ?, ?)",
            (
                REPO_ID,
                pr_number,
                number,
                f"townhall/issue-{number}",
                "merged" if state == "merged" else "open",
                1 if state == "merged" else 0,
                to_db(moment),
            ),
        )
    if attempt:
        started = approved + timedelta(minutes=30)
        ended = None if state == "running" else started + timedelta(minutes=rng.uniform(2, 40))
        outcome = {"running": None, "needs_human": "build_failed"}.get(state, "verified")
        if state == "cancelled":
            outcome = "cancelled"
        execute(
            "INSERT INTO attempts (task_id, number, state, worker, started_at, ended_at, outcome,"
            " log) VALUES (?, ?, ?, 'worker-1', ?, ?, ?, 'log')",
            (
                number,
                attempt,
                "running" if ended is None else "ended",
                to_db(started),
                None if ended is None else to_db(ended),
                outcome,
            ),
        )
        clock = started
        for step in STEPS:
            took = timedelta(seconds=rng.uniform(1, 120))
            execute(
                "INSERT INTO attempt_steps (task_id, attempt, step, started_at, ended_at,"
                " duration_ms, ok, detail, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?)",
                (
                    number,
                    attempt,
                    step,
                    to_db(clock),
                    to_db(clock + took),
                    took.total_seconds() * 1000,
                    0 if (step == "verify" and state == "needs_human") else 1,
                    to_db(clock + took),
                ),
            )
            clock += took
        for call in range(3):
            model = MODELS[(number + call) % len(MODELS)]
            execute(
                "INSERT INTO llm_calls (task_id, attempt, role, phase, model, input_tokens,"
                " output_tokens, cost_usd, latency_ms, created_at)"
                " VALUES (?, ?, ?, 'agent', ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    attempt,
                    role,
                    model,
                    rng.randint(1000, 20000),
                    rng.randint(100, 3000),
                    round(rng.uniform(0.001, 0.2), 5),
                    rng.uniform(300, 9000),
                    to_db(started + timedelta(minutes=call)),
                ),
            )


@contextlib.contextmanager
def serving(store: Store, now: datetime) -> Iterator[str]:
    """Serve the web app (no processing) over `store`, a minute after `now`; yield its URL."""
    app = create_web_app(
        WebConfig(
            store=store,
            clock=ManualClock(now + timedelta(minutes=1)),
            webhook_secret="webhook-secret-123",
            max_body_bytes=1 << 20,
            processor=None,
            daily_budget_usd=5.0,
        )
    )
    with ServerThread(app) as server:
        yield server.url
