"""The tick fans out: each repository's step under its own lease, many at once, each isolated.

Against localhub and the scripted model over HTTP and a libSQL file: repositories tick side by
side (each under `repo:<id>`), a bound caps how many, a repository whose step another holds is
left to it, and one whose GitHub calls fail, or whose step was killed, stops only itself and
is finished by the next tick.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anthropic
import pytest

from app.ceo.deps import TickDeps
from app.ceo.repo_step import repo_lease, step_reports
from app.ceo.report import TickReport
from app.ceo.tick import run_tick
from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.handlers import build_router
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, GitHubAppCredentials, Settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ModelRequest, ScriptedModel, ToolUse, Turn
from app.store import Store
from app.store.leases import acquire, process_holder
from app.store.repos import ActiveRepo
from app.webhooks.processor import InboxProcessor

APP_ID = 91
OWNER = "octo"
POLICY = "[votes]\nthreshold = 2\nwindow_hours = 0\nmin_account_age_days = 30\n"
# Long enough never to end a wait that concurrency should end; a sequential tick would hit it.
MEETING_TIMEOUT = 60.0


def planner(request: ModelRequest) -> Turn | None:
    """Plan any issue as a change to its repository's app.py."""
    if request.forced_tool != "submit_plan":
        return None
    plan = {
        "role": "developer",
        "what": "Change app.py",
        "why": "Voters asked for it",
        "acceptance_criteria": ["it works"],
        "test_case": "run the tests",
        "files": ["app.py"],
        "complexity": "small",
    }
    return Turn([ToolUse("submit_plan", plan)])


@dataclass
class MeetingDispatcher:
    """Starts no worker; each dispatch waits until `meet` dispatches are in flight at once.

    Dispatching is the last thing a repository's step does: dispatches in flight together are
    steps running together. Each records the repository leases held at that moment.
    """

    store: Store
    meet: int
    started: list[tuple[int, int]] = field(default_factory=list)
    leases_seen: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    met: asyncio.Event = field(default_factory=asyncio.Event)

    async def dispatch(self, task_id: int, attempt: int) -> None:
        self.started.append((task_id, attempt))
        rows = await self.store.fetchall(
            "SELECT name, holder FROM leases WHERE name LIKE 'repo:%' AND expires_at > ?",
            (SystemClock().now().isoformat(timespec="microseconds"),),
        )
        self.leases_seen.append({row["name"]: row["holder"] for row in rows})
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight >= self.meet:
            self.met.set()
        try:
            await asyncio.wait_for(self.met.wait(), MEETING_TIMEOUT)
        finally:
            self.in_flight -= 1

    async def wait(self) -> None:
        return None


@dataclass
class Fleet:
    ctl: LocalHubControl
    deps: TickDeps
    store: Store
    names: list[str]

    async def repo(self, name: str) -> ActiveRepo:
        row = await self.store.fetchone(
            "SELECT id, installation_id, full_name, default_branch FROM repos WHERE full_name = ?",
            (f"{OWNER}/{name}",),
        )
        assert row is not None, name
        return ActiveRepo(
            row["id"], row["installation_id"], row["full_name"], row["default_branch"]
        )

    async def states(self) -> dict[str, list[str]]:
        rows = await self.store.fetchall(
            "SELECT r.full_name, t.state FROM tasks t JOIN repos r ON r.id = t.repo_id"
            " ORDER BY t.id"
        )
        states: dict[str, list[str]] = {}
        for row in rows:
            states.setdefault(row["full_name"], []).append(row["state"])
        return states


def approve_an_issue(ctl: LocalHubControl, name: str) -> int:
    """File an issue on `name` and vote it past the threshold; return its number."""
    number: int = ctl.create_issue(OWNER, name, "alice", f"Improve {name}", "Please.")["number"]
    for voter in ("bob", "carol"):
        ctl.add_reaction(OWNER, name, number, voter, "+1")
    return number


@pytest.fixture
def fleet(request: pytest.FixtureRequest, tmp_path: Path, store: Store) -> Iterator[Fleet]:
    """Repositories a, b (and c) of one installation, each with one approved issue."""
    names: list[str] = list(getattr(request, "param", ("a", "b")))
    keys = generate_app_keypair()
    source = tmp_path / "source"
    source.mkdir()
    (source / "app.py").write_text("print('hi')\n")
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
        old = datetime(2020, 1, 1, tzinfo=UTC)
        for login in ("alice", "bob", "carol"):
            ctl.create_user(login, created_at=old)
        for name in names:
            ctl.create_repo_from_dir(OWNER, name, source)
            approve_an_issue(ctl, name)
        ctl.create_installation(APP_ID, OWNER)
        clock = SystemClock()
        access = GitHubAccess(
            hub_server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock
        )
        client = anthropic.AsyncAnthropic(
            api_key="k", base_url=model_server.url, max_retries=0, timeout=30
        )
        deps = TickDeps(
            settings=Settings(github_api_url=hub_server.url, daily_budget_usd=100),
            store=store,
            clock=clock,
            github=access,
            llm=LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock)),
            processor=InboxProcessor(store, clock, build_router(), access),
            dispatcher=MeetingDispatcher(store, meet=len(names)),
            workdir=tmp_path / "work",
        )
        yield Fleet(ctl, deps, store, names)


def dispatcher(fleet: Fleet) -> MeetingDispatcher:
    assert isinstance(fleet.deps.dispatcher, MeetingDispatcher)
    return fleet.deps.dispatcher


async def test_two_repositories_tick_at_once_each_under_its_own_lease(fleet: Fleet) -> None:
    report = await run_tick(fleet.deps)

    assert report.ran and not report.errors, report.errors
    assert await fleet.states() == {"octo/a": ["running"], "octo/b": ["running"]}
    gate = dispatcher(fleet)
    # Both steps were dispatching at the same moment: a sequential tick would have waited out
    # MEETING_TIMEOUT in the first one, and the second would have found it gone.
    assert gate.met.is_set() and gate.most_in_flight == 2
    a, b = await fleet.repo("a"), await fleet.repo("b")
    held = gate.leases_seen[-1]
    assert set(held) == {repo_lease(a.id), repo_lease(b.id)}
    assert held[repo_lease(a.id)] != held[repo_lease(b.id)]  # two holders, two leases
    assert all(f"@{socket.gethostname()}:{os.getpid()}/" in holder for holder in held.values())
    # Each step gave its lease up when it ended.
    assert await fleet.store.fetchall("SELECT name FROM leases WHERE name LIKE 'repo:%'") == []


@pytest.mark.parametrize("fleet", [("a", "b", "c")], indirect=True)
async def test_no_more_repositories_step_at_once_than_the_bound(fleet: Fleet) -> None:
    fleet.deps.repo_concurrency = 2
    dispatcher(fleet).meet = 2

    report = await run_tick(fleet.deps)

    assert report.ran and not report.errors, report.errors
    assert len(report.dispatched) == 3
    gate = dispatcher(fleet)
    assert gate.most_in_flight == 2
    # Unbounded, all three steps would be under way (their leases held) at the first dispatch.
    assert [len(held) for held in gate.leases_seen] and max(map(len, gate.leases_seen)) == 2


def test_the_bound_must_let_a_step_run(fleet: Fleet) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="repo_concurrency must be at least 1, not 0"):
        replace(fleet.deps, repo_concurrency=0)


async def test_a_repository_whose_lease_another_holds_is_left_to_it(fleet: Fleet) -> None:
    a = await _registered(fleet, "a")
    assert await acquire(
        fleet.store,
        fleet.deps.clock,
        repo_lease(a.id),
        "tick-repo@other-host:7/1",
        timedelta(minutes=5),
    )
    dispatcher(fleet).meet = 1

    report = await run_tick(fleet.deps)

    assert report.repos_busy == ["octo/a (tick-repo@other-host:7/1)"]
    assert not report.errors and "left to another step: octo/a" in report.describe()
    assert await fleet.states() == {"octo/b": ["running"]}  # a's issue not even swept
    assert "octo/a" not in report.swept

    await fleet.store.execute("DELETE FROM leases WHERE name = ?", (repo_lease(a.id),))
    again = await run_tick(fleet.deps)
    assert again.repos_busy == [] and not again.errors
    assert await fleet.states() == {"octo/a": ["running"], "octo/b": ["running"]}


async def test_a_repository_whose_github_calls_fail_stops_only_itself(fleet: Fleet) -> None:
    # a's step dies mid-way: after its sweep approved the issue, listing its PRs fails.
    fleet.ctl.inject_fault(f"/repos/{OWNER}/a/pulls", kind="error", status=500, times=100)
    dispatcher(fleet).meet = 1

    broken = await run_tick(fleet.deps)

    assert [error.split(":")[0] for error in broken.errors] == ["octo/a"]
    assert "500" in broken.errors[0]
    assert await fleet.states() == {"octo/a": ["approved"], "octo/b": ["running"]}
    assert len(broken.dispatched) == 1

    fleet.ctl.clear_faults()
    finished = await run_tick(fleet.deps)
    again = await run_tick(fleet.deps)

    assert not finished.errors and len(finished.dispatched) == 1
    assert not again.errors and again.dispatched == [] and again.planned == []
    assert await fleet.states() == {"octo/a": ["running"], "octo/b": ["running"]}
    attempts = await fleet.store.fetchall("SELECT task_id FROM attempts ORDER BY task_id")
    assert len(attempts) == 2 and len({row["task_id"] for row in attempts}) == 2


async def test_a_step_killed_mid_way_is_taken_over_by_the_next_tick_at_once(
    fleet: Fleet,
) -> None:
    a = await _registered(fleet, "a")
    # The lease a killed step leaves behind: it names a process of this host that is gone.
    gone = subprocess.Popen(["true"])
    gone.wait()
    holder = re.sub(r":\d+/", f":{gone.pid}/", process_holder("repo-step-killed"))
    assert await acquire(
        fleet.store, fleet.deps.clock, repo_lease(a.id), holder, timedelta(minutes=5)
    )

    report = await run_tick(fleet.deps)

    assert report.repos_busy == [] and not report.errors, report.errors
    assert await fleet.states() == {"octo/a": ["running"], "octo/b": ["running"]}


async def _registered(fleet: Fleet, name: str) -> ActiveRepo:
    """Let a tick register the installation's repositories, with nothing to dispatch yet."""
    from app.ceo.installations_step import reconcile_installations

    await reconcile_installations(fleet.store, fleet.deps.clock, fleet.deps.github)
    return await fleet.repo(name)


def test_steps_run_elsewhere_are_reported_under_their_repositories() -> None:
    a = ActiveRepo(1, 9, "octo/a", "main")
    b = ActiveRepo(2, 9, "octo/b", "main")
    done = TickReport(ran=True, dispatched=[(5, 1)])

    reports = step_reports([a, b], [done, TimeoutError("the container timed out")])

    assert reports[0] is done
    assert reports[1].errors == ["octo/b: TimeoutError: the container timed out"]
    with pytest.raises(ValueError, match="1 step results for 2 repositories"):
        step_reports([a, b], [done])
