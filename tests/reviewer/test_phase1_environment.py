"""Phase 1 in the tree's environment: what cannot run blocks, what failed at base does not.

Real local sandboxes under bubblewrap (offline setup, tests/workers/offline_env.py), real git
for the base commit, a libSQL file for the baseline, and the verdict rules.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from app.clock import SystemClock
from app.github.policy import policy_from_tree
from app.policy import Policy
from app.sandbox import LocalSandboxes
from app.sandbox.environment import EnvironmentFailed
from app.store import Store
from reviewer.phase1 import Phase1, Prepared, base_lookup, review_sandbox, run_phase1
from reviewer.rubric import DEFAULT_RUBRIC
from reviewer.static.diff import parse_diff
from reviewer.verdict import ModelReview, blocking_phase1, decide
from tests.stands import calc_repository
from tests.workers.offline_env import offline_options
from workers.environment import plan_for_tree

TEST = '[commands]\ntest = "python3 -m unittest -q"\n'
README_DIFF = """\
diff --git a/README.md b/README.md
new file mode 100644
--- /dev/null
+++ b/README.md
@@ -0,0 +1 @@
+# calc
"""
APPROVE = ModelReview("approve", "Fine.", {c.id: True for c in DEFAULT_RUBRIC})


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def verdict_of(phase1: Phase1, diff: str) -> str:
    blockers = blocking_phase1(phase1.findings, parse_diff(diff))
    return decide(APPROVE, DEFAULT_RUBRIC, len(blockers), {}).decision


async def test_an_analyser_the_environment_should_provide_but_cannot_run_blocks(
    tmp_path: Path,
) -> None:
    tree = write_tree(tmp_path / "tree", {**calc_repository(TEST), "README.md": "# calc\n"})
    plan = replace(plan_for_tree(tree, policy_from_tree(tree)), analysers=("ruff", "tsc"))
    sandboxes = LocalSandboxes(offline_options(cache_dir=tmp_path / "environments"))
    async with sandboxes.open(tree) as sandbox:  # nothing installed: neither tool is there
        phase1 = await run_phase1(sandbox, README_DIFF, Policy(), Prepared(plan))
    assert phase1.report["tools"]["ruff"] == "failed"
    assert phase1.report["tools"]["tsc"] == "failed"
    messages = [f.message for f in phase1.findings if f.rule == "could-not-run"]
    assert any(
        m.startswith("could not run ruff: ruff is not installed (exit 127)") for m in messages
    )
    assert any(m.startswith("could not run tsc:") for m in messages)
    assert verdict_of(phase1, README_DIFF) == "request_changes"


async def test_a_failed_environment_blocks_with_the_setup_command(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", {**calc_repository(TEST), "README.md": "# calc\n"})
    plan = replace(plan_for_tree(tree, policy_from_tree(tree)), analysers=("ruff",))
    failure = EnvironmentFailed("pip install -r requirements.txt", 1, "No matching distribution")
    sandboxes = LocalSandboxes(offline_options(cache_dir=tmp_path / "environments"))
    async with sandboxes.open(tree) as sandbox:
        phase1 = await run_phase1(sandbox, README_DIFF, Policy(), Prepared(plan, failure=failure))
    tools = phase1.report["tools"]
    assert (tools["setup"], tools["ruff"], tools["test"]) == ("failed", "failed", "failed")
    [setup] = [f for f in phase1.findings if f.tool == "setup"]
    assert "`pip install -r requirements.txt`" in setup.message
    assert "No matching distribution" in setup.message
    assert verdict_of(phase1, README_DIFF) == "request_changes"


async def test_tools_run_in_the_environment_setup_built(tmp_path: Path) -> None:
    files = {**calc_repository(TEST), "requirements.txt": "pytest\n", "README.md": "# calc\n"}
    tree = write_tree(tmp_path / "tree", files)
    sandboxes = LocalSandboxes(offline_options())
    async with review_sandbox(sandboxes, tree, policy_from_tree(tree)) as (sandbox, prepared):
        phase1 = await run_phase1(sandbox, README_DIFF, policy_from_tree(tree), prepared)
    assert prepared.plan.analysers == ("ruff", "pytest")
    tools = phase1.report["tools"]
    # ruff from .townhall-tools/bin, pytest from .venv/bin: both on PATH, both ran.
    assert not [f for f in phase1.findings if f.rule == "could-not-run"], phase1.findings
    assert tools["ruff"] in ("passed", "failed") and phase1.report["durations"]["ruff"] > 0
    assert tools["pytest"] == "failed"  # add() subtracts: its test fails, and it ran
    assert verdict_of(phase1, README_DIFF) == "request_changes"


def commit_all(repository: Path) -> str:
    """Make `repository` a git repository with one commit of all its files; return its sha."""
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


async def test_a_test_that_failed_at_the_base_commit_is_not_blamed(
    tmp_path: Path, store: Store
) -> None:
    repository = write_tree(tmp_path / "repo", calc_repository(TEST))
    base_sha = commit_all(repository)
    merged = tmp_path / "merged"
    shutil.copytree(repository, merged, ignore=shutil.ignore_patterns(".git"))
    (merged / "README.md").write_text("# calc\n")
    sandboxes = LocalSandboxes(offline_options(cache_dir=tmp_path / "environments"))
    lookup = base_lookup(
        store, SystemClock(), sandboxes, repository, repo="o/calc", base_sha=base_sha
    )
    policy = policy_from_tree(merged)
    async with review_sandbox(sandboxes, merged, policy) as (sandbox, prepared):
        without = await run_phase1(sandbox, README_DIFF, policy, prepared)
        phase1 = await run_phase1(sandbox, README_DIFF, policy, prepared, lookup)
    assert verdict_of(without, README_DIFF) == "request_changes"  # unittest fails...
    assert phase1.baseline is not None and not phase1.baseline.passed  # ...as it did at base
    [test] = [f for f in phase1.findings if f.tool == "test"]
    assert test.severity == "warning"
    assert test.message.startswith(f"already failing at the base commit {base_sha[:12]}")
    assert verdict_of(phase1, README_DIFF) == "approve"
    assert len(await store.fetchall("SELECT * FROM baselines")) == 1


async def test_a_run_that_fails_at_base_without_naming_tests_still_blocks(
    tmp_path: Path, store: Store
) -> None:
    # The test command breaks before any test runs, at base as in the merge.
    policy = '[commands]\ntest = "echo cannot collect >&2; exit 4"\n'
    repository = write_tree(tmp_path / "repo", calc_repository(policy))
    base_sha = commit_all(repository)
    merged = tmp_path / "merged"
    shutil.copytree(repository, merged, ignore=shutil.ignore_patterns(".git"))
    sandboxes = LocalSandboxes(offline_options(cache_dir=tmp_path / "environments"))
    lookup = base_lookup(
        store, SystemClock(), sandboxes, repository, repo="o/calc", base_sha=base_sha
    )
    merged_policy = policy_from_tree(merged)
    async with review_sandbox(sandboxes, merged, merged_policy) as (sandbox, prepared):
        phase1 = await run_phase1(sandbox, README_DIFF, merged_policy, prepared, lookup)
    [test] = [f for f in phase1.findings if f.tool == "test"]
    assert test.severity == "error"
    assert test.message.startswith(f"failing as it already did at the base commit {base_sha[:12]}")
    assert verdict_of(phase1, README_DIFF) == "request_changes"
