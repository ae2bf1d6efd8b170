"""Real repositories, zero configuration: environment, baseline, one worker attempt, phase 1.

For each repository (a git bundle or a checkout directory; default: every bundle in
../shared/repos, or in TOWNHALL_SHARED_REPOS) with no `[sandbox]` section: the plan Townhall
detects, the environment's setup cold (an empty cache) then warm (seconds), the build and test
at the base commit, one worker attempt through the real loop (localhub, the scripted model
making a trivial correct change: a comment line appended to the README, the local sandbox
under bubblewrap) and review phase 1 on its pull request (which tools ran, how many findings
block). Prints one row per repository and `N of M repositories verified`; exits 0. Setup
downloads from PyPI and npm.

Run: .venv/bin/python bench/realrepo_bench.py [BUNDLE_OR_PATH ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import anthropic

from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.github.git import Remote
from app.github.policy import policy_from_tree
from app.llm import LLM, store_recorder
from app.policy import Policy
from app.sandbox import LocalOptions, LocalSandboxes
from app.sandbox.baseline import base_checks
from app.sandbox.environment import Environment, EnvironmentFailed
from app.sandbox.verify import planned_checks
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, GitHubAppCredentials
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import Script, ScriptedModel, ToolUse, Turn
from app.store import Store, Tx, open_store
from app.store.attempts import start_attempt_tx
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState
from reviewer.deps import TOOL_OUTPUT_CAP
from reviewer.gitwork import Merged, merge_pull_head
from reviewer.phase1 import base_lookup, review_sandbox, run_phase1
from reviewer.static.diff import parse_diff
from reviewer.verdict import blocking_phase1
from workers.attempt import WorkerDeps, run_attempt
from workers.environment import key_files_date, plan_for_tree

SHARED = Path(
    os.environ.get("TOWNHALL_SHARED_REPOS")
    or Path(__file__).resolve().parents[2] / "shared" / "repos"
)
OWNER, APP_ID = "bench", 9
README_NAMES = ("README.md", "README.rst", "README.txt", "README")
ISSUE_TITLE, ISSUE_BODY = "Docs: a note in the README", "Add a note to the README."


@dataclass
class Row:
    """One repository's figures; empty strings where a stage did not run."""

    name: str
    stack: str = "?"
    cold: str = ""
    warm: str = ""
    baseline: str = ""
    attempt: str = ""
    phase1: str = ""
    verified: bool = False
    note: str = ""


def checkout_of(source: Path, into: Path) -> Path:
    """A checkout of a bundle (cloned) or of a directory (copied with its .git)."""
    if source.is_file():
        subprocess.run(
            ["git", "clone", "-q", str(source), str(into)], check=True, capture_output=True
        )
    else:
        shutil.copytree(source, into, symlinks=True)
    return into


def readme_change(tree: Path) -> tuple[str, str]:
    """The README to change and its new text: one comment line appended."""
    name = next((n for n in README_NAMES if (tree / n).is_file()), "README.md")
    text = (tree / name).read_text() if (tree / name).is_file() else ""
    comment = (
        ".. Townhall bench: a trivial change."
        if name.endswith(".rst")
        else "<!-- Townhall bench: a trivial change. -->"
    )
    return name, text.rstrip("\n") + f"\n\n{comment}\n"


def seed(store: Store, installation_id: int, repo: str, head: str, readme: str) -> int:
    """Record the repository and a task running its first attempt; return the task id."""
    clock = SystemClock()

    def work(tx: Tx) -> int:
        tx.execute(
            "INSERT OR IGNORE INTO installations (id, account_login, created_at) VALUES (?, ?, '')",
            (installation_id, OWNER),
        )
        repo_id = tx.insert(
            "INSERT INTO repos (installation_id, full_name, created_at, updated_at)"
            " VALUES (?, ?, '', '')",
            (installation_id, f"{OWNER}/{repo}"),
        )
        tx.execute(
            "INSERT INTO issues (repo_id, number, title, body, author, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, 'alice', '', '')",
            (repo_id, ISSUE_TITLE, ISSUE_BODY),
        )
        task = create_task_tx(
            tx, clock, repo_id=repo_id, issue_number=1, max_attempts=2, priority=1,
            actor="bench", reason="seed",
        )  # fmt: skip
        transition_tx(
            tx, clock, task.id, TaskState.PLANNED, actor="bench", reason="planned",
            role="developer", brief=f"Add a note to {readme}.", complexity="small",
            predicted_files=[readme],
        )  # fmt: skip
        transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="bench", reason="queued")
        start_attempt_tx(tx, clock, task.id, head, "bench", "bench")
        return task.id

    return store.run_sync(work)


async def setup_twice(
    sandboxes: LocalSandboxes, tree: Path, policy: Policy, row: Row
) -> Environment | None:
    """Prepare the environment on an empty cache, then again; None when setup failed."""
    plan = await asyncio.to_thread(plan_for_tree, tree, policy)
    row.stack = plan.stack + (f" ({plan.package_manager})" if plan.package_manager else "")
    try:
        cold = await sandboxes.prepare(plan, tree)
    except EnvironmentFailed as failed:
        row.cold = "failed"
        row.note = (
            f"setup `{failed.command[:60]}` exited {failed.exit_code}: "
            + (failed.log_tail.strip().splitlines() or [""])[-1][:120]
        )
        return None
    warm = await sandboxes.prepare(plan, tree)
    row.cold, row.warm = f"{cold.seconds:.1f}", f"{warm.seconds:.2f}"
    return warm


async def measure(source: Path, work: Path, cache: Path) -> Row:
    """Every stage for one repository, in order; a failed stage ends the row."""
    name = source.name.removesuffix(".bundle")
    row = Row(name)
    tree = checkout_of(source, work / "checkout")
    policy = policy_from_tree(tree)
    # Room for whole tool reports (a JUnit file of 2,000 tests), as the reviewer's sandboxes have.
    options = LocalOptions(isolation="bwrap", cache_dir=cache, output_cap=TOOL_OUTPUT_CAP)
    sandboxes = LocalSandboxes(options)
    environment = await setup_twice(sandboxes, tree, policy, row)
    if environment is None:
        return row
    store = open_store(str(work / "bench.db"))
    try:
        await attempt_and_review(store, sandboxes, environment, tree, name, row)
    finally:
        await store.close()
    return row


async def baseline_at(
    store: Store, sandboxes: LocalSandboxes, environment: Environment, tree: Path, repo: str,
    base_sha: str, row: Row,
) -> None:  # fmt: skip
    """Build and test the base commit once (recorded, so the worker's attempt reuses it)."""
    checks = planned_checks(environment.plan.build, environment.plan.test, ())
    started = time.monotonic()
    baseline = await base_checks(
        store, SystemClock(), sandboxes, environment, tree, repo=repo, base_sha=base_sha,
        checks=checks,
    )  # fmt: skip
    took = time.monotonic() - started
    row.baseline = f"{'passed' if baseline.passed else 'FAILED'} {took:.0f}s"
    if not checks:
        row.baseline = "no checks"
    if not baseline.passed:
        failing = [c for c in baseline.checks if not c.passed]
        row.note = "base: " + "; ".join(
            f"{c.name} exit {c.exit_code} {', '.join(c.failures[:3])}" for c in failing
        )


async def attempt_and_review(
    store: Store,
    sandboxes: LocalSandboxes,
    environment: Environment,
    tree: Path,
    name: str,
    row: Row,
) -> None:
    """One worker attempt through localhub and the scripted model, then phase 1 on its PR."""
    readme, text = readme_change(tree)
    keys = generate_app_keypair()
    hub = LocalHub(tree.parent / "hub", token_ttl=timedelta(hours=1))
    model = ScriptedModel()
    change = Turn([ToolUse("write_file", {"path": readme, "content": text})])
    finish = Turn([ToolUse("finish", {"summary": f"Added a comment line to {readme}."})])
    model.load([Script("worker", [change, finish])])
    with (
        ServerThread(hub.create_app(), log_level="error") as hub_server,
        ServerThread(model.create_app(), log_level="error") as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="t")
        created = ctl.create_repo_from_dir(OWNER, name, tree)
        installation = int(ctl.create_installation(APP_ID, OWNER)["id"])
        ctl.create_user("alice", token="alice-token")
        # The issue as approved: the worker publishes only while its text still stands.
        ctl.create_issue(OWNER, name, "alice", ISSUE_TITLE, ISSUE_BODY)
        bare = Path(created["path"])
        head = dated_import(bare, key_files_date(tree, environment.plan.key_files))
        clock = SystemClock()
        access = GitHubAccess(
            hub_server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock
        )
        llm = LLM(
            anthropic.AsyncAnthropic(api_key="k", base_url=model_server.url, max_retries=0),
            DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock),
        )  # fmt: skip
        # Before the task is dispatched: its attempt's lease would lapse while the base builds.
        await baseline_at(store, sandboxes, environment, tree, f"{OWNER}/{name}", head, row)
        task_id = seed(store, installation, name, head, readme)
        started = time.monotonic()
        report = await run_attempt(WorkerDeps(store, clock, access, llm, sandboxes), task_id, 1)
        took = time.monotonic() - started
        if report is None:
            row.attempt = "stale dispatch"
            return
        row.attempt = f"{report.outcome} {took:.0f}s"
        if report.pull is None or report.outcome != "verified":
            lines = report.log.strip().splitlines() or [""]
            # An environment failure explains itself in its first lines; a crash in its last.
            reason = " ".join(lines[:2] if report.outcome == "environment_failed" else lines[-1:])
            reason = reason[:200]
            row.note = f"{row.note}; attempt: {reason}" if row.note else f"attempt: {reason}"
            return
        pull = report.pull
        blockers = await review_pr(store, sandboxes, bare, name, pull.branch, pull.head_sha, row)
        row.verified = blockers == 0


def dated_import(bare: Path, when: str) -> str:
    """Date localhub's import commit like the source's last manifest change; return main's sha.

    On GitHub the base commit has its history, so the worker resolves unpinned dependencies
    as of that change; localhub imports the files as one new commit, dated now unless redated.
    """

    def git(*args: str, **env: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(bare), *args], capture_output=True, text=True, check=True,
            env={**os.environ, **env},
        )  # fmt: skip
        return result.stdout.strip()

    if not when:
        return git("rev-parse", "main")
    who = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    who |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    dates = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    redated = git("commit-tree", "main^{tree}", "-m", "Import", **who, **dates)
    git("update-ref", "refs/heads/main", redated)
    return redated


async def review_pr(
    store: Store, sandboxes: LocalSandboxes, bare: Path, name: str, branch: str, head: str, row: Row
) -> int:
    """Phase 1 on the PR merged with main, in its environment; return the blocking findings."""
    with tempfile.TemporaryDirectory(prefix="townhall-bench-review-") as directory:
        root = Path(directory)
        merged = await asyncio.to_thread(
            merge_pull_head, Remote(str(bare)), "main", branch, head, root
        )
        assert isinstance(merged, Merged), "the PR does not merge"
        policy = policy_from_tree(root / "tree")
        async with review_sandbox(sandboxes, root / "tree", policy) as (sandbox, prepared):
            lookup = base_lookup(
                store, SystemClock(), sandboxes, bare, repo=f"{OWNER}/{name}",
                base_sha=merged.base_sha,
            )  # fmt: skip
            phase1 = await run_phase1(sandbox, merged.diff_text, policy, prepared, lookup)
    blockers = blocking_phase1(phase1.findings, parse_diff(merged.diff_text))
    tools = phase1.report["tools"]
    ran = [tool for tool, status in tools.items() if status != "skipped" and tool != "diff"]
    row.phase1 = f"{','.join(ran) or 'none'} / {len(blockers)} blocking"
    if blockers:
        row.note = row.note or blockers[0].message.splitlines()[0][:120]
    return len(blockers)


def print_table(rows: Sequence[Row]) -> None:
    """One row per repository, then the total line."""
    header = (
        "repository",
        "stack",
        "setup cold s",
        "warm s",
        "baseline",
        "attempt",
        "phase 1 ran / blocking",
    )
    table = [header] + [
        (r.name, r.stack, r.cold, r.warm, r.baseline, r.attempt, r.phase1) for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    for row in rows:
        if row.note:
            print(f"  {row.name}: {row.note}")
    verified = sum(row.verified for row in rows)
    print(f"{verified} of {len(rows)} repositories verified")


async def main(sources: Sequence[Path]) -> None:
    """Measure every repository in its own scratch directory and environment cache."""
    rows = []
    for source in sources:
        with tempfile.TemporaryDirectory(prefix="townhall-realrepo-") as directory:
            work = Path(directory)
            try:
                rows.append(await measure(source, work, work / "cache"))
            except Exception as error:  # one broken repository does not stop the others
                rows.append(Row(source.name, note=f"{type(error).__name__}: {error}"[:200]))
        print(f"  done: {source.name}", file=sys.stderr, flush=True)
    print_table(rows)


def cli() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="git bundles or checkouts")
    args = parser.parse_args()
    sources = args.sources or sorted(SHARED.glob("*.bundle"))
    missing = [str(source) for source in sources if not source.exists()]
    if missing:
        parser.error(f"no such bundle or directory: {', '.join(missing)}")
    asyncio.run(main(sources))


if __name__ == "__main__":
    cli()
