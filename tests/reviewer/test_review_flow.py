"""The reviewer end to end: localhub (real git), the scripted model, a libSQL file, a sandbox.

Each test opens a PR for a task (as the App, like the worker does, or as a person), runs
`run_review`, and checks GitHub (git refs, reviews, labels) and the store (task, events, the
review row) afterwards.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.clock import SystemClock
from app.github.client import Client
from app.sandbox import LocalOptions, LocalSandboxes
from app.standins.localhub import LocalHubControl
from app.standins.scripted_model import Match, ModelRequest, Script, ScriptedModel, ToolUse, Turn
from app.store import Store, Tx
from app.store.reviews import tasks_due_for_post_merge
from app.store.tasks import transition_tx
from app.taskstate import TaskState
from reviewer.deps import ReviewDeps
from reviewer.postmerge import run_post_merge_check
from reviewer.rubric import DEFAULT_RUBRIC
from reviewer.run import run_review
from tests.stands import calc_repository, running_stands, seed_running_task
from tests.workers.offline_env import offline_options
from workers.publish import FileChange, PullRequestText, publish_change

APP_ID = 77
OWNER, REPO = "octo", "calc"
POLICY = '[commands]\ntest = "python3 -m unittest -q"\n[limits]\nmax_attempts = 3\n'
CORE = "def add(a, b):\n    return a - b\n"
TESTS = (
    "import unittest\n\nfrom calc.core import add\n\n\n"
    "class AddTest(unittest.TestCase):\n    def test_add(self):\n"
    "        self.assertEqual(add(2, 3), 5)\n"
)
FIXED = "def add(a, b):\n    return a + b\n"
ALL_PASS = {c.id: True for c in DEFAULT_RUBRIC}
SUBMIT = Match(tool_choice="tool:submit_review")
ALICE_TOKEN = "alice-token"


@dataclass
class World:
    ctl: LocalHubControl
    model: ScriptedModel
    deps: ReviewDeps
    store: Store
    bare: Path
    installation_id: int

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.bare), *args], capture_output=True, text=True, check=True
        ).stdout

    def main_sha(self) -> str:
        return self.git("rev-parse", "main").strip()

    def github(self) -> Client:
        """A client acting as alice, a collaborator with write access."""
        return Client(ALICE_TOKEN, base_url=self.ctl.base_url + "/")


def tool_sandbox() -> LocalOptions:
    """Sandbox options whose environments install offline, with room for tool reports."""
    return offline_options(output_cap=4_000_000)


def make_world(tmp_path: Path, store: Store, policy: str = POLICY) -> Iterator[World]:
    # A requirement file makes the environment detected: pytest in .venv, ruff in the tools.
    files = {
        **calc_repository(policy),
        "calc/core.py": CORE,
        "test_core.py": TESTS,
        "requirements.txt": "pytest\n",
    }
    with running_stands(tmp_path, store, files, app_id=APP_ID, repo=REPO) as stands:
        seed_running_task(
            store, stands, title="add() subtracts", body="2 + 3 should be 5", max_attempts=3
        )
        sandboxes = LocalSandboxes(tool_sandbox())
        deps = ReviewDeps(store, SystemClock(), stands.access, stands.llm, sandboxes=sandboxes)
        yield World(stands.ctl, stands.model, deps, store, stands.repo_path, stands.installation_id)


@pytest.fixture
def world(tmp_path: Path, store: Store) -> Iterator[World]:
    yield from make_world(tmp_path, store)


async def open_pr(
    world: World, files: Mapping[str, str], *, as_app: bool = True, title: str = "Fix add (#1)"
) -> int:
    """Publish `files` on the issue's branch and move the task to pr_open; return the PR."""
    changes = {path: FileChange(text.encode()) for path, text in files.items()}
    text = PullRequestText(title, "Closes #1\n\nadd() now adds.")
    arguments: dict[str, Any] = {
        "owner": OWNER,
        "repo": REPO,
        "base_branch": "main",
        "base_sha": world.main_sha(),
        "issue_number": 1,
        "changes": changes,
        "message": "Fix add",
        "pr": text,
    }
    if as_app:
        client = await world.deps.github.installation_client(world.installation_id, [REPO])
        async with client:
            published = await publish_change(client, **arguments)
    else:
        async with world.github() as person:
            published = await publish_change(person, **arguments)

    def record(tx: Tx) -> None:
        transition_tx(
            tx, SystemClock(), 1, TaskState.PR_OPEN, actor="worker", reason="PR opened",
            pr_number=published.pr_number, head_sha=published.commit_sha,
            branch=published.branch,
        )  # fmt: skip

    await world.store.run(record)
    return published.pr_number


def submit(
    decision: str = "approve",
    criteria: Mapping[str, bool] = ALL_PASS,
    findings: list[dict[str, Any]] | None = None,
    comments: list[dict[str, Any]] | None = None,
) -> Turn:
    return Turn(
        [
            ToolUse(
                "submit_review",
                {
                    "decision": decision,
                    "summary": f"Scripted review: {decision}.",
                    "criteria": [{"id": k, "passed": v} for k, v in criteria.items()],
                    "blocking_findings": findings or [],
                    "comments": comments or [],
                },
            )
        ],
        match=SUBMIT,
    )


async def task_row(world: World) -> dict[str, Any]:
    row = await world.store.fetchone("SELECT state, attempt, feedback FROM tasks WHERE id = 1")
    assert row is not None
    return row


async def head_of(world: World) -> str:
    head: str = await world.store.run(lambda tx: tx.scalar("SELECT head_sha FROM tasks"))
    return head


async def review_rows(world: World) -> list[dict[str, Any]]:
    return await world.store.fetchall("SELECT * FROM reviews ORDER BY id")


async def transitions(world: World) -> list[tuple[str, str]]:
    rows = await world.store.fetchall(
        "SELECT from_state, to_state FROM events WHERE task_id = 1 AND kind = 'transition'"
        " ORDER BY id"
    )
    return [(row["from_state"], row["to_state"]) for row in rows]


def review_request(world: World) -> dict[str, Any]:
    requests = [r.body for r in world.model.requests if r.body.get("tool_choice")]
    assert len(requests) == 1
    body: dict[str, Any] = requests[0]
    return body


async def test_a_clean_pr_is_merged_and_the_base_checked_again(world: World) -> None:
    before = world.main_sha()
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit()])])

    result = await run_review(world.deps, 1)

    assert (result.outcome, result.post_merge) == ("merged", "passed"), result
    assert world.git("show", "main:calc/core.py") == FIXED
    merge = world.main_sha()
    assert merge == result.merge_sha
    assert world.git("rev-list", "--parents", "-n", "1", merge).split() == [merge, before]
    assert (await task_row(world))["state"] == "merged"
    assert await transitions(world) == [
        ("approved", "planned"),
        ("planned", "queued"),
        ("queued", "running"),
        ("running", "pr_open"),
        ("pr_open", "reviewing"),
        ("reviewing", "merged"),
    ]
    [row] = await review_rows(world)
    assert (row["decision"], row["outcome"], row["post_merge"]) == ("approve", "merged", "passed")
    assert row["head_sha"] != before and row["merge_sha"] == merge and row["pr_number"] == pr
    report = json.loads(row["static_report"])
    assert report["passed"] and report["tools"]["ruff"] == "passed", json.dumps(report)
    assert report["tools"]["pytest"] == "passed" and report["tools"]["test"] == "passed", report
    calls = await world.store.fetchall("SELECT phase, role, attempt FROM llm_calls")
    assert calls == [{"phase": "review", "role": "reviewer", "attempt": 1}]

    request = review_request(world)
    content = request["messages"][0]["content"]  # a string, or text blocks (prompt caching)
    message = content if isinstance(content, str) else "".join(b["text"] for b in content)
    assert "<untrusted-issue-text" in message and "2 + 3 should be 5" in message
    assert "    2 +    return a + b" in message  # the diff, numbered by new-file line
    assert "## calc/core.py" in message and "`no-secrets` (BLOCKING)" in message
    assert request["tool_choice"] == {"type": "tool", "name": "submit_review"}
    async with world.github() as github:
        pull = (await github.rest.pulls.async_get(OWNER, REPO, pr)).parsed_data
        reviews = (await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data
    assert pull.merged
    # The App cannot approve its own PR on GitHub: the approval is posted as a comment review.
    assert [r.state for r in reviews] == ["COMMENTED"]
    assert "Townhall review: approved" in (reviews[0].body or "")


async def test_a_ruff_error_sends_the_pr_back_though_the_model_approves(world: World) -> None:
    broken = "import os\n\n\ndef add(a, b):\n    return a + b\n"
    pr = await open_pr(world, {"calc/core.py": broken}, as_app=False)
    world.model.load([Script("reviewer", [submit()])])

    result = await run_review(world.deps, 1)

    assert result.outcome == "changes_requested"
    task = await task_row(world)
    assert (task["state"], task["attempt"]) == ("queued", 1)
    assert "F401" in task["feedback"] and "calc/core.py:1" in task["feedback"]
    assert world.git("show", "main:calc/core.py") == CORE  # not merged
    [row] = await review_rows(world)
    assert (row["decision"], row["model_decision"], row["overruled"]) == (
        "request_changes",
        "approve",
        1,
    )
    assert row["review_event"] == "REQUEST_CHANGES"
    assert ("reviewing", "changes_requested") in await transitions(world)
    assert ("changes_requested", "queued") in await transitions(world)
    async with world.github() as github:
        reviews = (await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data
        inline = (await github.rest.pulls.async_list_review_comments(OWNER, REPO, pr)).parsed_data
    assert [r.state for r in reviews] == ["CHANGES_REQUESTED"]
    assert [(c.path, c.line) for c in inline] == [("calc/core.py", 1)]
    assert "F401" in inline[0].body


async def test_a_leaked_key_is_blocked(world: World) -> None:
    leak = FIXED + 'TOKEN = "ghp_' + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5" + '"\n'
    pr = await open_pr(world, {"calc/core.py": leak})
    world.model.load([Script("reviewer", [submit()])])

    result = await run_review(world.deps, 1)

    assert result.outcome == "changes_requested"
    assert world.git("show", "main:calc/core.py") == CORE
    task = await task_row(world)
    assert task["state"] == "queued" and "github-token" in task["feedback"]
    [row] = await review_rows(world)
    report = json.loads(row["static_report"])
    assert [f["rule"] for f in report["findings"] if f["tool"] == "diff"] == ["github-token"]
    assert "aB3dE5gH7jK9" not in task["feedback"]  # the secret itself is never repeated
    async with world.github() as github:
        inline = (await github.rest.pulls.async_list_review_comments(OWNER, REPO, pr)).parsed_data
        reviews = (await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data
    assert [(c.path, c.line) for c in inline] == [("calc/core.py", 3)]
    assert "github-token" in inline[0].body
    # The App's own PR: the request for changes is a comment review that says so.
    assert [r.state for r in reviews] == ["COMMENTED"]
    assert "request changes on its own pull request" in (reviews[0].body or "")


async def test_an_out_of_diff_comment_goes_to_the_body(world: World) -> None:
    pr = await open_pr(world, {"calc/core.py": FIXED}, as_app=False)
    world.model.load(
        [
            Script(
                "reviewer",
                [
                    submit(
                        "request_changes",
                        findings=[{"path": "calc/core.py", "line": 2, "message": "Needs a test."}],
                        comments=[{"path": "test_core.py", "line": 7, "body": "Out of the diff."}],
                    )
                ],
            )
        ]
    )

    result = await run_review(world.deps, 1)

    assert result.outcome == "changes_requested"
    async with world.github() as github:
        reviews = (await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data
        inline = (await github.rest.pulls.async_list_review_comments(OWNER, REPO, pr)).parsed_data
    assert [(c.path, c.line, c.body) for c in inline] == [
        ("calc/core.py", 2, "**Blocking:** Needs a test.")
    ]
    body = reviews[0].body or ""
    assert "Comments on lines outside the diff" in body
    assert "`test_core.py:7`: Out of the diff." in body
    assert "Out of the diff." in (await task_row(world))["feedback"]


async def test_maintainer_mode_approves_labels_and_waits(tmp_path: Path, store: Store) -> None:
    policy = POLICY + '[merge]\nmode = "maintainer"\n'
    for world in make_world(tmp_path, store, policy):
        pr = await open_pr(world, {"calc/core.py": FIXED}, as_app=False)
        world.model.load([Script("reviewer", [submit()])])

        result = await run_review(world.deps, 1)
        again = await run_review(world.deps, 1)

        assert result.outcome == "awaiting_maintainer"
        assert again.outcome == "skipped"  # one review per head: the model is asked once
        assert len(world.model.requests) == 1
        assert world.git("show", "main:calc/core.py") == CORE
        assert (await task_row(world))["state"] == "pr_open"
        [row] = await review_rows(world)
        assert (row["outcome"], row["review_event"]) == ("awaiting_maintainer", "APPROVE")
        leases = await world.store.fetchall("SELECT name FROM leases WHERE name LIKE 'review:%'")
        assert leases == []
        async with world.github() as github:
            pull = (await github.rest.pulls.async_get(OWNER, REPO, pr)).parsed_data
            reviews = (await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data
        assert not pull.merged
        assert [label.name for label in pull.labels] == ["townhall:ready"]
        assert [r.state for r in reviews] == ["APPROVED"]

        # A maintainer merges by hand; the tick's reconcile moves the task, and the CEO's
        # review step then checks the base branch after that merge.
        async with world.github() as github:
            await github.rest.pulls.async_merge(OWNER, REPO, pr, merge_method="squash")
        await world.store.run(
            lambda tx: transition_tx(
                tx, SystemClock(), 1, TaskState.MERGED, actor="github", reason="PR merged by hand"
            )
        )
        assert await tasks_due_for_post_merge(world.store) == [1]
        checked = await run_post_merge_check(world.deps, 1)
        assert checked.outcome == "passed"
        [row] = await review_rows(world)
        assert row["post_merge"] == "passed" and "unittest" in row["post_merge_log"]
        assert await tasks_due_for_post_merge(world.store) == []  # checked once
        assert (await run_post_merge_check(world.deps, 1)).outcome == "not_due"


async def test_a_failed_new_head_loses_the_ready_label(tmp_path: Path, store: Store) -> None:
    policy = POLICY + '[merge]\nmode = "maintainer"\n'
    for world in make_world(tmp_path, store, policy):
        pr = await open_pr(world, {"calc/core.py": FIXED}, as_app=False)
        world.model.load([Script("reviewer", [submit(), submit()])])
        assert (await run_review(world.deps, 1)).outcome == "awaiting_maintainer"

        # A person pushes a new head with a lint error onto the approved PR.
        async with world.github() as person:
            await publish_change(
                person,
                owner=OWNER,
                repo=REPO,
                base_branch="main",
                base_sha=world.main_sha(),
                issue_number=1,
                changes={"calc/core.py": FileChange(b"import os\n\n\n" + FIXED.encode())},
                message="Tweak",
                pr=PullRequestText("Fix add (#1)", "Closes #1"),
            )
            head = (await person.rest.pulls.async_get(OWNER, REPO, pr)).parsed_data.head.sha
        await world.store.execute("UPDATE tasks SET head_sha = ? WHERE id = 1", (head,))

        result = await run_review(world.deps, 1)

        assert (result.outcome, result.head_sha) == ("changes_requested", head)
        async with world.github() as github:
            pull = (await github.rest.pulls.async_get(OWNER, REPO, pr)).parsed_data
        assert pull.labels == []


async def test_a_conflict_goes_back_to_the_worker(world: World) -> None:
    await open_pr(world, {"calc/core.py": FIXED})
    push_to_main(world, {"calc/core.py": "def add(a, b):\n    return b + a  # commutes\n"})

    result = await run_review(world.deps, 1)

    assert result.outcome == "conflict"
    assert world.model.requests == []  # nothing to judge: no model call
    task = await task_row(world)
    assert task["state"] == "queued"
    assert task["feedback"].startswith("merge conflict with main")
    assert "calc/core.py" in task["feedback"]


async def test_a_merge_branch_protection_refuses_is_left_to_a_maintainer(world: World) -> None:
    # GitHub answers 405 here as for a conflict; redoing the change could never satisfy it.
    world.ctl.protect_branch(OWNER, REPO, "main", approvals=1)
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit()])])

    result = await run_review(world.deps, 1)

    assert result.outcome == "merge_refused", result
    task = await task_row(world)
    assert task["state"] == "pr_open" and not task["feedback"]  # not sent back to the worker
    async with world.github() as github:
        comments = (await github.rest.issues.async_list_comments(OWNER, REPO, pr)).parsed_data
        pull = (await github.rest.pulls.async_get(OWNER, REPO, pr)).parsed_data
    assert pull.mergeable_state == "blocked" and not pull.merged
    assert any(
        "A maintainer needs to merge it" in (c.body or "")
        and "approving review is required" in (c.body or "")
        for c in comments
    ), [c.body for c in comments]
    # A maintainer approves and merges by hand: GitHub accepts it now.
    async with world.github() as alice:
        await alice.rest.pulls.async_create_review(
            OWNER, REPO, pr, data={"event": "APPROVE", "body": "ok"}
        )
        merged = await alice.rest.pulls.async_merge(OWNER, REPO, pr, merge_method="squash")
    assert merged.parsed_data.merged


async def test_a_merge_that_breaks_the_base_is_reverted_and_the_task_reopened(
    world: World,
) -> None:
    # On a passing main, the PR renames add() to plus(); while it is being reviewed, main gains
    # a module that still uses add(). Both merge cleanly, and the result fails its tests.
    push_to_main(world, {"calc/core.py": FIXED})
    renamed = "def plus(a, b):\n    return a + b\n"
    tests = TESTS.replace("add", "plus").replace("AddTest", "PlusTest")
    pr = await open_pr(world, {"calc/core.py": renamed, "test_core.py": tests})
    extra = {
        "calc/total.py": "from calc.core import add\n\n\ndef total(xs):\n    return sum(xs)\n",
        "test_total.py": "import unittest\n\nfrom calc.total import total\n\n\n"
        "class TotalTest(unittest.TestCase):\n    def test_total(self):\n"
        "        self.assertEqual(total([1, 2]), 3)\n",
    }

    def land_elsewhere_then_approve(request: ModelRequest) -> Turn:
        push_to_main(world, extra)
        return submit()

    world.model.add_responder(land_elsewhere_then_approve, match=SUBMIT)

    result = await run_review(world.deps, 1)

    assert (result.outcome, result.post_merge) == ("merged", "reverted"), result
    log = world.git("log", "--format=%s", "-3", "main").splitlines()
    assert log[0].startswith('Revert "add() subtracts"') and log[1].startswith("Fix add")
    assert world.git("show", "main:calc/core.py") == FIXED  # the merge is undone
    assert world.git("show", "main:calc/total.py") == extra["calc/total.py"]  # the other stays
    task = await task_row(world)
    assert (task["state"], task["attempt"]) == ("queued", 1)
    assert "reverted" in task["feedback"] and "ImportError" in task["feedback"]
    assert (await transitions(world))[-3:] == [
        ("reviewing", "merged"),
        ("merged", "reverted"),
        ("reverted", "queued"),
    ]
    [row] = await review_rows(world)
    assert row["post_merge"] == "reverted" and row["revert_sha"] == world.main_sha()
    async with world.github() as github:
        issue = (await github.rest.issues.async_get(OWNER, REPO, 1)).parsed_data
        notes = (await github.rest.issues.async_list_comments(OWNER, REPO, 1)).parsed_data
    assert issue.state == "open"  # the merge closed it; the revert reopens it
    assert "merge reverted" in (notes[-1].body or "") and f"#{pr}" in (notes[-1].body or "")


def push_to_main(world: World, files: Mapping[str, str]) -> None:
    """Commit `files` on main straight into the hub's repository, as a person pushing would."""
    work = world.bare.parent / f"push-{len(list(world.bare.parent.iterdir()))}"
    env = ["-c", "user.name=Bob", "-c", "user.email=bob@example.com"]
    subprocess.run(["git", "clone", "-q", str(world.bare), str(work)], check=True)
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), *env, "commit", "-qm", "Elsewhere"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True)


async def set_check(world: World, sha: str, **fields: Any) -> int:
    """Create or update the `ci` check run on `sha` as a CI app would."""
    client = await world.deps.github.installation_client(
        world.installation_id, [REPO], {"checks": "write"}
    )
    async with client:
        if "check_run_id" in fields:
            number = fields.pop("check_run_id")
            await client.rest.checks.async_update(OWNER, REPO, number, data=fields)
            return int(number)
        created = await client.rest.checks.async_create(
            OWNER, REPO, data={"name": "ci", "head_sha": sha, **fields}
        )
        return created.parsed_data.id


async def test_an_approval_waits_for_pending_checks_then_merges(world: World) -> None:
    await open_pr(world, {"calc/core.py": FIXED})
    head = await head_of(world)
    check = await set_check(world, head, status="in_progress")
    world.model.load([Script("reviewer", [submit()])])
    await world.store.execute(
        "INSERT INTO pull_requests (repo_id, number, task_id, head_ref, head_sha, base_ref,"
        " state, updated_at) VALUES (1, 2, 1, 'townhall/issue-1', ?, 'main', 'open', '')",
        (head,),
    )
    reviewed = "SELECT reviewed_sha FROM pull_requests"

    waiting = await run_review(world.deps, 1)
    assert waiting.outcome == "awaiting_checks" and "ci" in waiting.detail
    assert (await task_row(world))["state"] == "pr_open"
    # Not marked reviewed: the CEO's review step must offer this head again.
    assert await world.store.fetchone(reviewed) == {"reviewed_sha": None}
    assert await run_review(world.deps, 1) == waiting  # still pending: nothing recorded twice

    await set_check(world, head, check_run_id=check, status="completed", conclusion="success")
    merged = await run_review(world.deps, 1)

    assert merged.outcome == "merged" and merged.post_merge == "passed"
    assert len(world.model.requests) == 1  # the head was judged once
    assert world.git("show", "main:calc/core.py") == FIXED
    assert [r["outcome"] for r in await review_rows(world)] == ["awaiting_checks", "merged"]
    assert await world.store.fetchone(reviewed) == {"reviewed_sha": head}


async def test_failing_checks_send_the_pr_back(world: World) -> None:
    await open_pr(world, {"calc/core.py": FIXED})
    head = await head_of(world)
    await set_check(world, head, status="completed", conclusion="failure")
    world.model.load([Script("reviewer", [submit()])])

    result = await run_review(world.deps, 1)

    assert result.outcome == "checks_failed"
    task = await task_row(world)
    assert task["state"] == "queued" and "checks are failing: ci" in task["feedback"]
    assert world.git("show", "main:calc/core.py") == CORE


async def test_a_model_outage_releases_the_task_and_is_retried_at_most_three_times(
    world: World,
) -> None:
    await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [Turn([ToolUse("submit_review", {})], repeat=True)])])

    results = [await run_review(world.deps, 1) for _ in range(4)]

    assert [r.outcome for r in results] == ["error", "error", "error", "skipped"]
    assert "ReviewAnswerError" in results[0].detail
    assert (await task_row(world))["state"] == "pr_open"
    assert [r["outcome"] for r in await review_rows(world)] == ["error"] * 3
    assert ("reviewing", "pr_open") in await transitions(world)
