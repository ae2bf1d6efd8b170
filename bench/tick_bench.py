"""CEO tick benchmark: ticks over 1, 10, 100 and 300 repositories on localhub, busy and idle.

Each repository holds a policy, a few source files, three open issues (two voted past the
threshold, one not) and an open pull request by a maintainer that touches one approved
issue's file. The busy tick is the first one: it reconciles the installation, catches up,
sweeps votes (tallies, labels), clones each mirror, lists the PR and its files, plans both
approved issues with the scripted model, dispatches one and says why the other waits. The
idle tick follows at once, with nothing changed. For each, it prints the wall time and the
requests GitHub would charge to the installation's rate limits (a 304 is free), per
repository. localhub runs in a child process (GitHub is not in Townhall's process); the
scripted model in a thread. Workers are not run: the dispatcher only records (see
bench/worker_bench.py for attempts).

    .venv/bin/python bench/tick_bench.py [--sizes 1,10,100,300] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from githubkit import GitHub

# The checkout's own code, and its test helpers (the dispatcher that starts no worker).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ceo.report import TickReport
from app.ceo.tick import run_tick
from app.serving import ServerThread, free_port
from app.settings import GitHubAppCredentials, load_settings
from app.standins.localhub import LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ModelRequest, ScriptedModel, ToolUse, Turn
from app.wiring import build_runtime, build_tick_deps
from tests.ceo.dispatchers import RecordingDispatcher

APP_ID = 31
OWNER = "fleet"
POLICY = """\
[votes]
threshold = 2
window_hours = 0
min_account_age_days = 30
[limits]
max_parallel = 3
"""
SOURCE_FILES = 4
VOTERS = ("ann", "ben")
# The busy tick; the next, which reads back what the busy one wrote (tallies, labels: their
# listings changed); then an idle one, with nothing changed since the tick before.
TICKS = ("busy", "next", "idle")
TITLE = re.compile(r"Title: Idea (\d+)")
LOCALHUB = (
    "import sys; from pathlib import Path; from app.standins.localhub.serve import serve; "
    "serve('127.0.0.1', int(sys.argv[1]), Path(sys.argv[2]), persist=False, log_level='warning')"
)


def planner(request: ModelRequest) -> Turn | None:
    """Plan 'Idea K' as a change to src/modK.py."""
    if request.forced_tool != "submit_plan":
        return None
    found = TITLE.search(request.last_user_text)
    path = f"src/mod{found.group(1) if found else 0}.py"
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


class HubProcess:
    """localhub in a child process on a free loopback port."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [sys.executable, "-c", LOCALHUB, str(self.port), str(data)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"localhub exited with {self._process.returncode}")
            try:
                httpx.get(f"{self.url}/_localhub/counters", timeout=1).raise_for_status()
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError("localhub did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(10)


def write_source(directory: Path) -> Path:
    """The files every benchmark repository starts with."""
    (directory / "src").mkdir(parents=True)
    (directory / ".townhall.toml").write_text(POLICY)
    (directory / "README.md").write_text("# a repository\n")
    for k in range(SOURCE_FILES):
        (directory / "src" / f"mod{k}.py").write_text(f"def f{k}() -> int:\n    return {k}\n")
    return directory


def open_maintainer_pull(hub_url: str, name: str) -> None:
    """Open a PR as the maintainer that changes src/mod1.py (Idea 1's file)."""
    with GitHub("maint-token", base_url=hub_url + "/") as github:
        git = github.rest.git
        main = git.get_ref(OWNER, name, "heads/main").parsed_data.object_.sha
        base = git.get_commit(OWNER, name, main).parsed_data.tree.sha
        entry = {"path": "src/mod1.py", "mode": "100644", "type": "blob", "content": "# v2\n"}
        tree = git.create_tree(OWNER, name, data={"base_tree": base, "tree": [entry]})
        commit = git.create_commit(
            OWNER,
            name,
            data={"message": "Rework mod1", "tree": tree.parsed_data.sha, "parents": [main]},
        )
        ref = {"ref": "refs/heads/maint/mod1", "sha": commit.parsed_data.sha}
        git.create_ref(OWNER, name, data=ref)
        pull = {"title": "Rework mod1", "head": "maint/mod1", "base": "main"}
        github.rest.pulls.create(OWNER, name, data=pull)


def seed(ctl: LocalHubControl, hub_url: str, public_key: str, repos: int, work: Path) -> None:
    """Create the App, its installation and `repos` repositories with issues, votes and a PR."""
    old = datetime(2020, 1, 1, tzinfo=UTC)
    ctl.create_app("townhall", public_key, app_id=APP_ID, owner="townhall-org")
    for login in ("author", "maint", *VOTERS):
        ctl.create_user(login, token=f"{login}-token", created_at=old)
    source = write_source(work / "source")
    for n in range(repos):
        name = f"repo{n:03d}"
        ctl.create_repo_from_dir(OWNER, name, source)
        ctl.set_collaborator(OWNER, name, "maint", "write")
        for k, voters in enumerate((VOTERS, VOTERS, VOTERS[:1])):
            number = ctl.create_issue(OWNER, name, "author", f"Idea {k}", "Please.")["number"]
            items: list[dict[str, Any]] = [{"user": v, "content": "+1"} for v in voters]
            ctl.add_reactions(OWNER, name, number, items)
        open_maintainer_pull(hub_url, name)
    ctl.create_installation(APP_ID, OWNER)


@dataclass(frozen=True)
class Measured:
    """One tick: its wall time, what it did, and what localhub counted."""

    seconds: float
    report: TickReport
    counters: dict[str, Any]

    def charged(self, resource: str) -> int:
        return int(self.counters["rate_limited_requests"].get(resource, 0))

    def charged_routes(self) -> Counter[str]:
        """Requests charged by route (anything but a 304)."""
        routes: Counter[str] = Counter()
        for key, count in self.counters["statuses"].items():
            route, status = key.rsplit(" ", 1)
            if status != "304" and not route.startswith("GET /_localhub"):
                routes[route] += count
        return routes


async def measure(ctl: LocalHubControl, deps: Any) -> Measured:
    ctl.reset_counters()
    started = time.perf_counter()
    report = await run_tick(deps)
    seconds = time.perf_counter() - started
    if not report.ran:
        raise RuntimeError(report.reason)
    return Measured(seconds, report, ctl.counters())


async def bench_size(repos: int, concurrency: int | None) -> tuple[list[Measured], float]:
    """Seed a fresh hub with `repos` repositories; run the busy tick, the next, an idle one."""
    work = Path(tempfile.mkdtemp(prefix=f"tick-bench-{repos}-"))
    keys = generate_app_keypair()
    hub = HubProcess(work / "hub")
    model = ScriptedModel()
    model.add_responder(planner, name="planner")
    try:
        with ServerThread(model.create_app()) as model_server, LocalHubControl(hub.url) as ctl:
            seeded_at = time.perf_counter()
            seed(ctl, hub.url, keys.public_key_pem, repos, work)
            seeding = time.perf_counter() - seeded_at
            settings = replace(
                load_settings({"TOWNHALL_DB_URL": str(work / "townhall.db")}),
                github_api_url=hub.url,
                github_app=GitHubAppCredentials(APP_ID, keys.private_key_pem),
                anthropic_api_key="bench",
                anthropic_base_url=model_server.url,
                daily_budget_usd=1_000_000.0,
            )
            runtime = build_runtime(settings, sweep_on_webhooks=False)
            deps = build_tick_deps(runtime, work / "townhall")
            deps.dispatcher = RecordingDispatcher()
            # Attempts nobody runs must not count as lost (and be dispatched again) in the idle
            # tick, however long the busy one took.
            deps.worker_lease_ttl = timedelta(hours=6)
            if concurrency is not None:
                deps = replace(deps, repo_concurrency=concurrency)
            try:
                ticks = [await measure(ctl, deps) for _ in TICKS]
            finally:
                await runtime.store.close()
            return ticks, seeding
    finally:
        hub.stop()


def row(label: str, repos: int, tick: Measured) -> str:
    report = tick.report
    return (
        f"{repos:>5} {label:<5} {tick.seconds:>8.2f} {tick.seconds / repos:>9.3f}"
        f" {tick.charged('core') / repos:>9.2f} {tick.charged('graphql') / repos:>8.2f}"
        f" {tick.counters['total_requests'] / repos:>9.1f} {tick.counters['not_modified']:>6}"
        f"   planned {len(report.planned)}, dispatched {len(report.dispatched)},"
        f" waiting {len(report.waiting)}, errors {len(report.errors)}"
    )


async def run(sizes: list[int], concurrency: int | None) -> int:
    """Bench each size; print a table and what an idle tick is charged for."""
    print(
        f"{'repos':>5} {'tick':<5} {'seconds':>8} {'s/repo':>9} {'core/repo':>9}"
        f" {'gql/repo':>8} {'reqs/repo':>9} {'304s':>6}"
    )
    failed = False
    for repos in sizes:
        started = time.perf_counter()
        ticks, seeding = await bench_size(repos, concurrency)
        for label, tick in zip(TICKS, ticks, strict=True):
            print(row(label, repos, tick))
        busy, idle = ticks[0], ticks[-1]
        charged = ", ".join(f"{route} {n}" for route, n in idle.charged_routes().most_common(6))
        print(f"      idle tick charged: {charged or 'nothing'}")
        print(
            f"      (seeding {seeding:.1f}s; size done in {time.perf_counter() - started:.1f}s)",
            flush=True,
        )
        for tick in ticks:
            for error in tick.report.errors[:3]:
                print(f"      error: {error}")
            failed = failed or bool(tick.report.errors)
        if len(busy.report.dispatched) != repos or len(busy.report.planned) != 2 * repos:
            print("      the busy tick did not do every repository's work")
            failed = True
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,300", help="comma-separated repository counts")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="repository steps at once (default: the tick's)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs positive repository counts, e.g. 1,10,100")
    started = time.perf_counter()
    status = asyncio.run(run(sizes, args.concurrency))
    print(f"total {time.perf_counter() - started:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
