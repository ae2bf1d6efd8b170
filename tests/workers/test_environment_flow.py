"""An attempt on its environment: setup once before the agent, its failure told to people,
and a check that already failed at the base commit not blamed on the change.

localhub (real git), the scripted model, local sandboxes under bubblewrap whose setup runs
offline (tests/workers/offline_env.py), and a libSQL file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from app.clock import SystemClock
from app.github.policy import policy_from_tree
from app.policy import Policy
from app.sandbox import LocalSandboxes
from app.sandbox.baseline import base_checks
from app.sandbox.environment import Environment, environment_key
from app.standins.scripted_model import Script, ToolUse, Turn
from app.store import Store
from app.store.attempts import start_attempt_tx
from app.store.baselines import read_baseline
from app.taskstate import TaskState
from tests.stands import calc_repository, running_stands, seed_running_task
from tests.workers.offline_env import offline_options
from workers.attempt import WorkerDeps, run_attempt
from workers.environment import plan_for_tree

FIX = Turn(
    [ToolUse("edit_file", {"path": "calc/core.py", "old_text": "a - b", "new_text": "a + b"})]
)
WRONG = Turn(
    [ToolUse("edit_file", {"path": "calc/core.py", "old_text": "a - b", "new_text": "a * b("})]
)
README = Turn([ToolUse("write_file", {"path": "README.md", "content": "# calc\n\nAdds.\n"})])
FINISH = Turn([ToolUse("finish", {"summary": "Done."})])
# Setup leaves one line per run in the environment (under .venv, an environment directory).
COUNTING = '[sandbox]\nsetup = ["mkdir -p .venv && echo ran >> .venv/setup-runs"]\nanalysers = []\n'
TEST = '[commands]\ntest = "python3 -m unittest -q"\n'


def sandboxes(tmp_path: Path) -> LocalSandboxes:
    return LocalSandboxes(offline_options(cache_dir=tmp_path / "environments"))


async def steps(store: Store, name: str) -> list[str]:
    rows = await store.fetchall(
        "SELECT detail FROM attempt_steps WHERE step = ? ORDER BY id", (name,)
    )
    return [str(row["detail"]) for row in rows]


async def test_a_failed_setup_goes_to_a_person_without_spending_an_attempt(
    tmp_path: Path, store: Store
) -> None:
    policy = TEST + '[sandbox]\nsetup = ["echo registry unreachable >&2; exit 3"]\n'
    with running_stands(tmp_path, store, calc_repository(policy)) as stands:
        seed_running_task(store, stands, title="add() subtracts", body="2 + 3 should be 5")
        stands.model.load([Script("worker", [FIX, FINISH])])
        deps = WorkerDeps(store, SystemClock(), stands.access, stands.llm, sandboxes(tmp_path))
        report = await run_attempt(deps, 1, 1)
        requests = list(stands.model.requests)
    assert report is not None and report.outcome == "environment_failed"
    assert requests == []  # no agent ran: nothing it could do fixes a setup command
    task = await store.fetchone("SELECT state, attempt, max_attempts, feedback FROM tasks")
    assert task == {"state": "needs_human", "attempt": 1, "max_attempts": 3, "feedback": None}
    event = await store.fetchone(
        "SELECT reason FROM events WHERE to_state = ? ORDER BY id DESC", (TaskState.NEEDS_HUMAN,)
    )
    assert event is not None
    # What the needs-human comment says: the command, its exit code, its output.
    assert "`echo registry unreachable >&2; exit 3`" in event["reason"]
    assert "exited with code 3" in event["reason"] and "registry unreachable" in event["reason"]
    note = await store.fetchone("SELECT kind, text FROM task_notes")
    assert note is not None and note["kind"] == "environment_failed"
    assert "registry unreachable" not in note["text"]  # later agents never read setup's log


async def test_setup_runs_once_for_all_fix_rounds_and_attempts(
    tmp_path: Path, store: Store
) -> None:
    # The test command fails unless the environment is there: verification runs on it.
    policy = (
        '[commands]\ntest = "test -f .venv/setup-runs && python3 -m unittest -q"\n'
        "[limits]\nfix_rounds = 2\n" + COUNTING
    )
    factory = sandboxes(tmp_path)
    with running_stands(tmp_path, store, calc_repository(policy)) as stands:
        seed_running_task(store, stands, title="add() subtracts", body="2 + 3 should be 5")
        deps = WorkerDeps(store, SystemClock(), stands.access, stands.llm, factory)
        stands.model.load([Script("worker", [WRONG, FINISH, FINISH, FINISH])])
        first = await run_attempt(deps, 1, 1)
        stands.model.load([Script("worker", [FIX, FINISH])])
        second_attempt = store.run_sync(
            lambda tx: start_attempt_tx(tx, SystemClock(), 1, stands.main_sha(), "ceo", "w")
        )
        second = await run_attempt(deps, 1, second_attempt.attempt)
    assert first is not None and first.outcome == "build_failed"  # after all its fix rounds
    assert second is not None and second.outcome == "verified"
    [entry] = [p for p in (tmp_path / "environments" / "envs").iterdir() if p.is_dir()]
    assert (entry / "checkout" / ".venv" / "setup-runs").read_text() == "ran\n"
    assert [detail.split(": ")[1][:6] for detail in await steps(store, "environment")] == [
        "set up",
        "reused",
    ]


async def test_a_failure_already_at_the_base_commit_is_not_blamed(
    tmp_path: Path, store: Store
) -> None:
    # add() subtracts at base, so its test fails there; the change only touches the README.
    factory = sandboxes(tmp_path)
    with running_stands(tmp_path, store, calc_repository(TEST)) as stands:
        seed_running_task(store, stands, title="Docs", body="Describe calc.")
        deps = WorkerDeps(store, SystemClock(), stands.access, stands.llm, factory)
        stands.model.load([Script("worker", [README, FINISH])])
        report = await run_attempt(deps, 1, 1)
        base_sha = stands.main_sha()
    assert report is not None
    assert report.outcome == "verified", report.log
    assert "already failing at the base commit" in report.log and base_sha[:12] in report.log
    [row] = await store.fetchall("SELECT repo, base_sha, passed, environment_key FROM baselines")
    key = row.pop("environment_key")
    assert row == {"repo": "octo/calc", "base_sha": base_sha, "passed": 0}
    recorded = await read_baseline(store, "octo/calc", base_sha, key)
    assert recorded is not None
    assert recorded.checks[0].failures == ("test_add (test_core.AddTest.test_add)",)


async def test_the_base_commit_is_checked_once_per_environment(
    tmp_path: Path, store: Store
) -> None:
    factory = sandboxes(tmp_path)
    tree = tmp_path / "tree"
    for path, text in calc_repository(TEST).items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
    plan = plan_for_tree(tree, policy_from_tree(tree))
    environment = await factory.prepare(plan, tree)
    # Recorded once: a second call with another command returns the first record.
    checks = [("test", "python3 -m unittest -q")]
    first = await base_checks(
        store, SystemClock(), factory, environment, tree, repo="o/r", base_sha="a" * 40,
        checks=checks,
    )  # fmt: skip
    again = await base_checks(
        store, SystemClock(), factory, environment, tree, repo="o/r", base_sha="a" * 40,
        checks=[("test", "exit 0")],
    )  # fmt: skip
    assert not first.passed and again == first  # recorded: the new command never ran
    other = await base_checks(
        store, SystemClock(), factory, _other(environment), tree, repo="o/r",
        base_sha="a" * 40, checks=[("test", "exit 0")],
    )  # fmt: skip
    assert other.passed  # another environment is checked on its own
    assert len(await store.fetchall("SELECT * FROM baselines")) == 2


def _other(environment: Environment) -> Environment:
    return replace(environment, key=environment.key + "-other")


async def test_a_base_that_fails_without_naming_a_test_goes_to_a_person(
    tmp_path: Path, store: Store
) -> None:
    # The test command breaks before any test runs, at base as after the change.
    policy = '[commands]\ntest = "echo conftest import failed >&2; exit 4"\n'
    with running_stands(tmp_path, store, calc_repository(policy)) as stands:
        seed_running_task(store, stands, title="Docs", body="Describe calc.")
        deps = WorkerDeps(store, SystemClock(), stands.access, stands.llm, sandboxes(tmp_path))
        stands.model.load([Script("worker", [README, FINISH])])
        report = await run_attempt(deps, 1, 1)
    assert report is not None and report.outcome == "environment_failed"
    assert "The base commit fails its own checks" in report.log
    assert "conftest import failed" in report.log
    task = await store.fetchone("SELECT state, max_attempts FROM tasks")
    assert task == {"state": "needs_human", "max_attempts": 3}


def _commit(tree: Path, when: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (tree / path).write_text(text)
    dated = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    for args in (
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "c"],
    ):
        subprocess.run(["git", *args], cwd=tree, env=dated, check=True, capture_output=True)


def test_unpinned_dependencies_resolve_as_of_the_last_manifest_change(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    manifest = '[project]\nname = "calc"\nversion = "1"\ndependencies = ["anyio"]\n'
    assert plan_for_tree(tree, Policy()).setup == ()  # nothing to install, nothing dated
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    _commit(tree, "2025-08-24T09:06:35+02:00", {"pyproject.toml": manifest})
    # A later commit that leaves the manifests alone keeps the date, and so the environment.
    _commit(tree, "2026-01-01T00:00:00Z", {"calc.py": "x = 1\n"})
    dated = plan_for_tree(tree, Policy())
    assert any("PIP_UPLOADED_PRIOR_TO=2025-08-24T07:06:35Z " in line for line in dated.setup)
    _commit(tree, "2026-02-03T04:05:06Z", {"pyproject.toml": manifest.replace("anyio", "idna")})
    newer = plan_for_tree(tree, Policy())
    assert any("PIP_UPLOADED_PRIOR_TO=2026-02-03T04:05:06Z " in line for line in newer.setup)
    # The date is part of what setup runs, so of the environment's key.
    keys = {environment_key(plan, tree, "local-bwrap") for plan in (dated, newer)}
    assert len(keys) == 2
    shutil.rmtree(tree / ".git")  # an exported tree has no history: today's releases
    assert not any("PIP_UPLOADED_PRIOR_TO" in line for line in plan_for_tree(tree, Policy()).setup)
