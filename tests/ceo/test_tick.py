"""The CEO tick against localhub and the scripted model: plan, schedule by files, lease, re-run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest
from githubkit import GitHub

from app.ceo.deps import TickDeps
from app.ceo.tick import TICK_LEASE, run_tick
from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.handlers import build_router
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, Settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ModelRequest, ScriptedModel, ToolUse, Turn
from app.store import Store
from app.store.leases import acquire
from app.webhooks.processor import InboxProcessor
from tests.ceo.dispatchers import RecordingDispatcher
from workers.publish import FileChange, PullRequestText, publish_change

APP_ID = 88
OWNER, REPO = "octo", "shop"
POLICY = """
[votes]
threshold = 2
window_hours = 0
min_account_age_days = 30
[limits]
max_parallel = 3
"""
# Which file each issue's plan names: #1 and #3 both change app/cart.py.
FILES = {"Cart totals": "app/cart.py", "Search box": "app/search.py", "Cart coupons": "app/cart.py"}


def planner(request: ModelRequest) -> Turn | None:
    if request.forced_tool != "submit_plan":
        return None
    title = re.search(r"Title: (.+)", request.last_user_text)
    path = FILES[title.group(1).strip()] if title else "README.md"
    plan = {
        "role": "developer",
        "what": f"Change {path}",
        "why": "Voters asked for it",
        "acceptance_criteria": ["it works"],
        "test_case": "run the tests",
        "files": [path],
        "complexity": "small",
    }
    return Turn([ToolUse("submit_plan", plan)])


@dataclass
class World:
    ctl: LocalHubControl
    hub_url: str
    deps: TickDeps
    dispatcher: RecordingDispatcher
    model: ScriptedModel
    store: Store


@pytest.fixture
def world(tmp_path: Path, store: Store) -> Iterator[World]:
    keys = generate_app_keypair()
    source = tmp_path / "source"
    (source / "app").mkdir(parents=True)
    for name in ("cart.py", "search.py", "__init__.py"):
        (source / "app" / name).write_text(f"# {name}\n")
    (source / ".townhall.toml").write_text(POLICY)
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    model = ScriptedModel()
    model.add_responder(planner, name="planner")
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(model.create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        ctl.create_repo_from_dir(OWNER, REPO, source)
        old = datetime(2020, 1, 1, tzinfo=UTC)
        for login in ("alice", "bob", "carol", "dave"):
            ctl.create_user(login, token=f"{login}-token", created_at=old)
        installation = ctl.create_installation(APP_ID, OWNER)
        clock = SystemClock()
        settings = Settings(github_api_url=hub_server.url, daily_budget_usd=100)
        access = GitHubAccess(hub_server.url, _credentials(keys), clock)
        client = anthropic.AsyncAnthropic(
            api_key="k", base_url=model_server.url, max_retries=0, timeout=10
        )
        llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
        dispatcher = RecordingDispatcher()
        deps = TickDeps(
            settings=settings,
            store=store,
            clock=clock,
            github=access,
            llm=llm,
            processor=InboxProcessor(store, clock, build_router(), access),
            dispatcher=dispatcher,
            workdir=tmp_path / "work",
        )
        _register(store, int(installation["id"]))
        yield World(ctl, hub_server.url, deps, dispatcher, model, store)


def _credentials(keys: Any) -> Any:
    from app.settings import GitHubAppCredentials

    return GitHubAppCredentials(APP_ID, keys.private_key_pem)


def _register(store: Store, installation_id: int) -> None:
    """Record the installation as the installation webhook would have."""
    store.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, '')",
            (installation_id, OWNER),
        )
    )
    store.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, default_branch, created_at,"
            " updated_at) VALUES (1, ?, ?, 'main', '', '')",
            (installation_id, f"{OWNER}/{REPO}"),
        )
    )


def file_and_vote(world: World, title: str, voters: tuple[str, ...] = ("bob", "carol")) -> int:
    number: int = world.ctl.create_issue(OWNER, REPO, "alice", title, "Please.")["number"]
    for voter in voters:
        world.ctl.add_reaction(OWNER, REPO, number, voter, "+1")
    return number


def comments(world: World, number: int) -> list[str]:
    with GitHub("dave-token", base_url=world.hub_url + "/") as github:
        listed = github.rest.issues.list_comments(OWNER, REPO, number).parsed_data
    return [c.body or "" for c in listed]


async def task_with_pull(world: World, state: str, files: dict[str, bytes]) -> tuple[int, int]:
    """Tick "Cart totals" into a running task, publish its PR as the worker would, and put
    the task in `state`; return (task id, PR number)."""
    cart = file_and_vote(world, "Cart totals")
    await run_tick(world.deps)
    task = await world.store.fetchone("SELECT id, base_sha FROM tasks")
    repo = await world.store.fetchone("SELECT installation_id FROM repos")
    assert task is not None and repo is not None
    changes = {path: FileChange(content) for path, content in files.items()}
    async with await world.deps.github.installation_client(repo["installation_id"]) as client:
        published = await publish_change(
            client, owner=OWNER, repo=REPO, base_branch="main", base_sha=task["base_sha"],
            issue_number=cart, changes=changes, message="m",
            pr=PullRequestText("Cart totals", f"Closes #{cart}"),
        )  # fmt: skip
    await world.store.execute(
        "UPDATE tasks SET state = ?, pr_number = ? WHERE id = ?",
        (state, published.pr_number, task["id"]),
    )
    return task["id"], published.pr_number


async def test_disjoint_tasks_run_in_parallel_and_an_overlapping_one_waits(world: World) -> None:
    cart = file_and_vote(world, "Cart totals")
    search = file_and_vote(world, "Search box")
    coupons = file_and_vote(world, "Cart coupons")
    file_and_vote(world, "Not enough votes", voters=("bob",))

    report = await run_tick(world.deps)

    assert report.ran and not report.errors, report.errors
    tasks = await world.store.fetchall(
        "SELECT id, issue_number, state, predicted_files, waiting_reason FROM tasks"
        " ORDER BY issue_number"
    )
    states = {t["issue_number"]: t["state"] for t in tasks}
    assert states == {cart: "running", search: "running", coupons: "queued"}
    assert sorted(world.dispatcher.started) == [(1, 1), (2, 1)]
    waiting = next(t for t in tasks if t["issue_number"] == coupons)
    assert f"#{cart}" in waiting["waiting_reason"] and "app/cart.py" in waiting["waiting_reason"]
    status = [body for body in comments(world, coupons) if "townhall:queue-status" in body]
    assert len(status) == 1 and "app/cart.py" in status[0]
    attempts = await world.store.fetchall("SELECT task_id, number, state FROM attempts")
    assert len(attempts) == 2 and {a["state"] for a in attempts} == {"running"}


async def test_a_second_tick_while_one_holds_the_lease_exits(world: World) -> None:
    assert await acquire(
        world.store, world.deps.clock, TICK_LEASE, "other-host:1", timedelta(minutes=5)
    )
    report = await run_tick(world.deps, holder="this-host:2")
    assert not report.ran
    assert "other-host:1" in report.reason
    assert world.model.requests == []


async def test_running_the_tick_again_duplicates_nothing(world: World) -> None:
    file_and_vote(world, "Cart totals")
    coupons = file_and_vote(world, "Cart coupons")
    await run_tick(world.deps)
    requests_after_first = len(world.model.requests)
    again = await run_tick(world.deps)

    assert again.ran and not again.errors
    assert again.planned == [] and again.dispatched == []
    assert len(world.model.requests) == requests_after_first  # nothing planned twice
    tasks = await world.store.fetchall("SELECT issue_number, state FROM tasks ORDER BY id")
    assert [t["state"] for t in tasks] == ["running", "queued"]
    status = [body for body in comments(world, coupons) if "townhall:queue-status" in body]
    assert len(status) == 1
    assert len(world.dispatcher.started) == 1


async def test_an_invalid_policy_stops_the_repository_not_the_tick(world: World) -> None:
    path = world.ctl.repo_path(OWNER, REPO)
    import subprocess

    work = path.parent / "work-clone"
    subprocess.run(["git", "clone", "-q", str(path), str(work)], check=True)
    (work / ".townhall.toml").write_text("[votes]\nthreshold = 'lots'\n")
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "break policy"],
        ["push", "-q", "origin", "HEAD:main"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)
    file_and_vote(world, "Cart totals")
    report = await run_tick(world.deps)
    assert report.ran
    assert any("votes.threshold" in error for error in report.errors)
    assert await world.store.fetchall("SELECT * FROM tasks") == []
    repo = await world.store.fetchone("SELECT policy_error FROM repos")
    assert repo is not None and "votes.threshold" in repo["policy_error"]


async def test_budget_stop_dispatches_nothing_and_says_why(world: World) -> None:
    number = file_and_vote(world, "Cart totals")
    await world.store.execute(
        "INSERT INTO llm_calls (phase, model, cost_usd, created_at) VALUES ('agent', 'm', 150, ?)",
        (world.deps.clock.now().isoformat(timespec="microseconds"),),
    )
    report = await run_tick(world.deps)
    assert report.budget_stop is not None and "daily budget reached" in report.budget_stop
    assert world.dispatcher.started == []
    assert [b for b in comments(world, number) if "Waiting for budget" in b]


async def test_a_task_out_of_attempts_is_handed_to_a_person_once(world: World) -> None:
    from app.store.attempts import fail_attempt_tx

    number = file_and_vote(world, "Cart totals")
    await run_tick(world.deps)
    await world.store.run(
        lambda tx: fail_attempt_tx(
            tx, world.deps.clock, 1, 1, outcome="verification_failed", log="x"
        )
    )
    await world.store.execute("UPDATE tasks SET max_attempts = 2")
    await run_tick(world.deps)  # dispatches attempt 2
    assert world.dispatcher.started == [(1, 1), (1, 2)]
    await world.store.run(
        lambda tx: fail_attempt_tx(tx, world.deps.clock, 1, 2, outcome="agent_turn_limit", log="y")
    )
    assert (await world.store.fetchone("SELECT state FROM tasks")) == {"state": "needs_human"}
    first = await run_tick(world.deps)
    second = await run_tick(world.deps)
    assert first.told == [1] and second.told == []
    told = [b for b in comments(world, number) if "needs a person" in b]
    assert len(told) == 1
    # A tick that died after posting but before recording finds its comment the next time.
    await world.store.execute("DELETE FROM events WHERE kind = 'needs_human_told'")
    assert (await run_tick(world.deps)).told == [1]
    assert len([b for b in comments(world, number) if "needs a person" in b]) == 1
    assert "verification_failed" in told[0] and "agent_turn_limit" in told[0]


def authored(world: World, number: int) -> list[tuple[str, str]]:
    with GitHub("dave-token", base_url=world.hub_url + "/") as github:
        listed = github.rest.issues.list_comments(OWNER, REPO, number).parsed_data
    return [(c.user.login if c.user else "", c.body or "") for c in listed]


async def test_a_pasted_queue_status_marker_is_never_edited(world: World) -> None:
    from app.ceo.schedule_step import STATUS_MARKER

    file_and_vote(world, "Cart totals")
    coupons = file_and_vote(world, "Cart coupons")
    forged = f"{STATUS_MARKER}\nNothing to wait for, ship it."
    world.ctl.create_comment(OWNER, REPO, coupons, "dave", forged)

    await run_tick(world.deps)

    said = authored(world, coupons)
    assert ("dave", forged) in said
    status = [body for login, body in said if login == "townhall[bot]" and STATUS_MARKER in body]
    assert len(status) == 1 and "app/cart.py" in status[0]


async def test_a_pasted_needs_human_marker_does_not_suppress_the_notice(world: World) -> None:
    from app.ceo.notify_step import MARKER
    from app.store.attempts import fail_attempt_tx

    number = file_and_vote(world, "Cart totals")
    await run_tick(world.deps)
    await world.store.execute("UPDATE tasks SET max_attempts = 1")
    await world.store.run(
        lambda tx: fail_attempt_tx(tx, world.deps.clock, 1, 1, outcome="agent_turn_limit", log="")
    )
    reached = await world.store.fetchone(
        "SELECT MAX(id) AS id FROM events WHERE task_id = 1 AND to_state = 'needs_human'"
    )
    assert reached is not None and reached["id"] is not None
    forged = f"{MARKER.format(event=reached['id'])}\nA person already looked at this."
    world.ctl.create_comment(OWNER, REPO, number, "dave", forged)

    report = await run_tick(world.deps)

    assert report.told == [1]
    said = authored(world, number)
    assert ("dave", forged) in said
    told = [body for login, body in said if login == "townhall[bot]" and "needs a person" in body]
    assert len(told) == 1


async def test_a_pull_request_scores_its_prediction_and_blocks_its_files(world: World) -> None:
    _, pr_number = await task_with_pull(
        world, "pr_open", {"app/cart.py": b"# v2\n", "app/search.py": b"# s\n"}
    )
    search = file_and_vote(world, "Search box")
    report = await run_tick(world.deps)

    scored = await world.store.fetchall(
        "SELECT reason FROM events WHERE kind = 'prediction_scored'"
    )
    assert [row["reason"] for row in scored] == [
        "precision 1.00, recall 0.50; missed: app/search.py"
    ]
    waiting = report.waiting[2]
    assert f"PR #{pr_number}" in waiting and "app/search.py" in waiting
    assert (
        await world.store.fetchone("SELECT state FROM tasks WHERE issue_number = ?", (search,))
    ) == {"state": "queued"}


async def test_a_tick_that_dies_midway_is_finished_by_the_next_without_duplicates(
    world: World,
) -> None:
    file_and_vote(world, "Cart totals")
    coupons = file_and_vote(world, "Cart coupons")
    # GitHub fails on one issue's comments: the sweep dies after recording its decisions and
    # while writing tallies, so the tick ends mid-way.
    world.ctl.inject_fault(
        f"/repos/{OWNER}/{REPO}/issues/{coupons}/comments", kind="error", status=500, times=50
    )
    broken = await run_tick(world.deps)
    assert broken.errors and broken.dispatched == []
    world.ctl.clear_faults()

    finished = await run_tick(world.deps)
    again = await run_tick(world.deps)
    assert not finished.errors and finished.dispatched == [(1, 1)]
    assert not again.errors and again.dispatched == [] and again.planned == []
    tasks = await world.store.fetchall("SELECT issue_number, state FROM tasks ORDER BY id")
    assert [t["state"] for t in tasks] == ["running", "queued"]
    assert len(await world.store.fetchall("SELECT * FROM attempts")) == 1
    bodies = comments(world, coupons)
    assert len([b for b in bodies if "townhall:queue-status" in b]) == 1
    assert len([b for b in bodies if "townhall:tally" in b]) == 1


async def test_a_retry_is_not_blocked_by_its_own_open_pull_request(world: World) -> None:
    # The review asked for changes: the task is queued again while its PR stays open.
    task_id, _ = await task_with_pull(world, "queued", {"app/cart.py": b"# v2\n"})
    await world.store.execute("UPDATE attempts SET state = 'ended'")
    report = await run_tick(world.deps)
    assert report.dispatched == [(task_id, 2)], report.waiting


async def test_a_dispatch_that_fails_does_not_use_up_an_attempt(world: World) -> None:
    class Down:
        async def dispatch(self, task_id: int, attempt: int) -> None:
            raise ConnectionError("modal is unreachable")

        async def wait(self) -> None:
            return None

    file_and_vote(world, "Cart totals")
    world.deps.dispatcher = Down()
    report = await run_tick(world.deps)
    assert report.dispatched == [] and "modal is unreachable" in report.errors[0]
    task = await world.store.fetchone("SELECT state, attempt, max_attempts FROM tasks")
    assert task == {"state": "queued", "attempt": 1, "max_attempts": 4}
    attempt = await world.store.fetchone("SELECT state, outcome FROM attempts")
    assert attempt == {"state": "ended", "outcome": "dispatch_failed"}
    world.deps.dispatcher = world.dispatcher
    again = await run_tick(world.deps)
    assert again.dispatched == [(1, 2)]


async def test_on_modal_each_review_runs_in_its_own_function(world: World) -> None:
    from app.ceo.dispatch import SpawnedReviews
    from app.ceo.review_step import review_order
    from app.store.pull_files import ReviewablePull
    from app.wiring import InlineReviewer
    from reviewer.deps import ReviewDeps

    spawned: list[int] = []

    async def spawn(task_id: int) -> None:
        spawned.append(task_id)  # stands in for Modal's Function.spawn, which needs an account

    deps = world.deps
    inline = InlineReviewer(ReviewDeps(deps.store, deps.clock, deps.github, deps.llm))
    world.deps.reviewer = SpawnedReviews(spawn, inline)
    ready, held = review_order(
        [
            ReviewablePull(5, 1, frozenset({"a.py"})),
            ReviewablePull(6, 2, frozenset({"a.py", "b.py"})),
            ReviewablePull(7, 3, frozenset({"c.py"})),
        ]
    )
    assert ready == [1, 3] and held == {2: "waiting for PR #5 to land: both change a.py"}
    await task_with_pull(world, "pr_open", {"app/cart.py": b"# v2\n"})
    report = await run_tick(world.deps)
    assert spawned == [1] and report.reviews == [1]


def push_branch(world: World, branch: str, files: dict[str, str]) -> None:
    """Commit `files` on a branch of the hub's repository, as its author's fork would hold it."""
    import subprocess

    path = world.ctl.repo_path(OWNER, REPO)
    work = path.parent / ("work-" + branch.replace("/", "-"))
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(path), str(work)], check=True)
    for name, text in files.items():
        (work / name).write_text(text)
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"work on {branch}"],
        ["push", "-q", "origin", f"HEAD:refs/heads/{branch}"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)


def open_pull_as(world: World, login: str, branch: str, files: dict[str, str]) -> int:
    """Push `branch` with `files` and open a PR from it as `login`; return its number."""
    push_branch(world, branch, files)
    with GitHub(f"{login}-token", base_url=world.hub_url + "/") as github:
        data = {"title": f"{login}'s change", "head": branch, "base": "main"}
        number: int = github.rest.pulls.create(OWNER, REPO, data=data).parsed_data.number
    return number


FILES_ROUTE = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"


async def test_an_outsiders_pull_request_blocks_nothing_and_is_never_listed(
    world: World,
) -> None:
    """Issue 16, finding 4: anyone may open a PR; it must not hold up voted work."""
    open_pull_as(world, "dave", "dave/cart", {"app/cart.py": "# dave's cart\n"})
    file_and_vote(world, "Cart totals")
    world.ctl.reset_counters()

    report = await run_tick(world.deps)

    assert report.dispatched == [(1, 1)], report.waiting
    assert world.ctl.counters()["routes"].get(FILES_ROUTE, 0) == 0


async def test_a_pull_requests_files_are_listed_again_only_when_its_head_moves(
    world: World,
) -> None:
    """Issue 16, finding 4: a maintainer's PR blocks, but its files are listed once per head."""
    world.ctl.set_collaborator(OWNER, REPO, "carol", "write")
    number = open_pull_as(world, "carol", "carol/search", {"app/search.py": "# carol's\n"})
    file_and_vote(world, "Search box")
    world.ctl.reset_counters()

    first = await run_tick(world.deps)
    second = await run_tick(world.deps)
    listed_before_push = world.ctl.counters()["routes"].get(FILES_ROUTE, 0)
    push_branch(world, "carol/search", {"app/cart.py": "# carol's too\n"})
    await run_tick(world.deps)

    assert f"PR #{number} by @carol" in first.waiting[1] and "app/search.py" in first.waiting[1]
    assert second.waiting[1] == first.waiting[1] and second.dispatched == []
    assert listed_before_push == 1
    assert world.ctl.counters()["routes"].get(FILES_ROUTE, 0) == 2
    cached = await world.store.fetchall("SELECT number, files FROM open_pull_files")
    assert cached == [{"number": number, "files": '["app/cart.py", "app/search.py"]'}]


async def test_a_persons_pull_request_on_a_townhall_branch_is_not_taken_for_the_tasks(
    world: World,
) -> None:
    """Issue 16, finding 5: the branch name alone does not make a PR Townhall's."""
    cart = file_and_vote(world, "Cart totals")
    await run_tick(world.deps)
    number = open_pull_as(world, "dave", f"townhall/issue-{cart}", {"app/cart.py": "# mine\n"})

    report = await run_tick(world.deps)

    assert not report.errors, report.errors
    task = await world.store.fetchone("SELECT state, pr_number, head_sha, branch FROM tasks")
    assert task == {"state": "running", "pr_number": None, "head_sha": None, "branch": None}
    assert await world.store.fetchall("SELECT number FROM pull_requests") == []
    assert not any(f"#{number}" in note for note in report.reconciled)
