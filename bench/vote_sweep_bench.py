"""Vote sweep benchmark: 1,000 open issues with 10,000 reactions on localhub.

Compares what one GraphQL sweep asks of GitHub (requests, GraphQL points) with a naive REST
baseline that lists the issues and then every issue's reactions, all pages. Also times the
sweep end to end (read, decide, record; the first sweep also posts tallies and labels) and a
second, unchanged sweep. Then counts the requests GitHub would charge to the REST rate limit
(a 304 to a conditional request is free) for an unchanged sweep and for an idle CEO tick of a
repository with open PRs, without and with Townhall's conditional requests (ETags).
Prints the figures and exits 0.

    .venv/bin/python bench/vote_sweep_bench.py [--issues 1000] [--reactions 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.ceo.tick import run_tick
from app.clock import ManualClock
from app.github.client import Client, GitHubAccess
from app.policy import Policy, VotePolicy
from app.serving import ServerThread
from app.settings import GitHubAppCredentials, Settings, load_settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.store import Tx, open_store
from app.store.installations import Installation, upsert_installation_tx
from app.store.repos import Repository, upsert_repo_tx
from app.votes.sweep import RepoRef, SweepReport, VoteServices, sweep_repository
from app.wiring import build_runtime, build_tick_deps
from workers.publish import FileChange, PullRequestText, publish_change

APP_ID = 77
OWNER, NAME = "bench", "votes"
HOT_ISSUES = 5  # issues with more reactions than one inline page holds
HOT_REACTIONS = 300
TICK_REPO = "ticked"
TICK_OPEN_PRS = 3
TICK_POLICY = "[votes]\nthreshold = 50\n"


def seed(ctl: LocalHubControl, clock: ManualClock, issues: int, reactions: int) -> int:
    """File the issues and spread the reactions; return how many reactions were added."""
    rng = random.Random(5)
    voters = [f"voter{n:04d}" for n in range(max(HOT_REACTIONS, 400))]
    for n, login in enumerate(voters):
        ctl.create_user(login, created_at=clock.now() - timedelta(days=20 + n))
    ctl.create_user("maint", created_at=clock.now() - timedelta(days=900))
    ctl.set_collaborator(OWNER, NAME, "maint", "write")
    ctl.create_user("author", created_at=clock.now() - timedelta(days=900))
    for n in range(issues):
        ctl.create_issue(OWNER, NAME, "author", f"Idea {n}", f"Body of idea {n}")
    left = reactions
    plan: list[int] = []
    for n in range(issues):
        share = HOT_REACTIONS if n < HOT_ISSUES else 0
        plan.append(share)
        left -= share
    for _ in range(left):
        plan[rng.randrange(HOT_ISSUES, issues)] += 1
    added = 0
    contents = ["+1"] * 7 + ["-1", "heart", "laugh"]
    for number, count in enumerate(plan, start=1):
        chosen = rng.sample(voters, min(count, len(voters)))
        items: list[dict[str, Any]] = [
            {"user": login, "content": rng.choice(contents)} for login in chosen
        ]
        if number % 97 == 0:
            items.append({"user": "maint", "content": "rocket"})
        if items:
            ctl.add_reactions(OWNER, NAME, number, items)
            added += len(items)
    return added


async def naive_rest(access: GitHubAccess, installation_id: int) -> tuple[int, int, float]:
    """List open issues, then every issue's reactions to the last page; return figures."""
    started = time.perf_counter()
    async with await access.installation_client(installation_id) as client:
        return await _naive_rest(client, started)


async def _naive_rest(client: Client, started: float) -> tuple[int, int, float]:
    """The baseline's requests over one open client (the same footing as the sweep)."""
    requests = reactions = 0
    numbers: list[int] = []
    page = 1
    while True:
        response = await client.rest.issues.async_list_for_repo(
            OWNER, NAME, state="open", per_page=100, page=page
        )
        requests += 1
        numbers += [issue.number for issue in response.parsed_data]
        if len(response.parsed_data) < 100:
            break
        page += 1
    for number in numbers:
        page = 1
        while True:
            listed = await client.rest.reactions.async_list_for_issue(
                OWNER, NAME, number, per_page=100, page=page
            )
            requests += 1
            reactions += len(listed.parsed_data)
            if len(listed.parsed_data) < 100:
                break
            page += 1
    return requests, reactions, time.perf_counter() - started


async def _main_sha(access: GitHubAccess, installation_id: int) -> str:
    async with await access.installation_client(installation_id) as client:
        refs = await client.rest.git.async_list_matching_refs(OWNER, TICK_REPO, "heads/main")
    return str(refs.parsed_data[0].object_.sha)


def charged(counters: dict[str, Any]) -> tuple[int, int]:
    """Return (REST requests charged to the core limit, 304s that were not)."""
    return int(counters["rate_limited_requests"].get("core", 0)), int(counters["not_modified"])


async def sweep_charges(
    ctl: LocalHubControl, services: VoteServices, repo: RepoRef, policy: Policy
) -> tuple[int, int, int]:
    """Run an unchanged sweep twice (the first warms caches); count the second one."""
    await sweep_repository(services, repo, policy)
    ctl.reset_counters()
    report = await sweep_repository(services, repo, policy)
    core, free = charged(ctl.counters())
    return core, free, report.meter.graphql_cost


async def seed_tick_repo(access: GitHubAccess, installation_id: int, main_sha: str) -> None:
    """Open TICK_OPEN_PRS pull requests on the ticked repository."""
    async with await access.installation_client(installation_id) as client:
        for number in range(1, TICK_OPEN_PRS + 1):
            await publish_change(
                client,
                owner=OWNER,
                repo=TICK_REPO,
                base_branch="main",
                base_sha=main_sha,
                issue_number=number,
                changes={f"change{number}.txt": FileChange(b"change\n")},
                message=f"Change {number}",
                pr=PullRequestText(f"Change {number}", "A person's change"),
            )


async def tick_charges(
    ctl: LocalHubControl, settings: Settings, work: Path, clock: ManualClock, conditional: bool
) -> tuple[int, int]:
    """Run two idle ticks of the ticked repository (the first warms caches); count the second."""
    runtime = build_runtime(settings, clock, sweep_on_webhooks=False)
    runtime.github = GitHubAccess(
        settings.github_api_url,
        settings.require_github_app(),
        clock,
        conditional_requests=conditional,
    )
    deps = build_tick_deps(runtime, work / "tick-work")
    try:
        await run_tick(deps)
        clock.advance(timedelta(minutes=5))
        ctl.reset_counters()
        await run_tick(deps)
        clock.advance(timedelta(minutes=5))
        return charged(ctl.counters())
    finally:
        runtime.store.close_sync()


async def conditional_figures(
    ctl: LocalHubControl,
    server_url: str,
    keys_pem: str,
    clock: ManualClock,
    store: Any,
    repo: RepoRef,
    policy: Policy,
    work: Path,
    tick_repository: dict[str, Any],
    installation_id: int,
) -> None:
    """Print REST requests charged per unchanged sweep and per idle tick, before and after."""
    credentials = GitHubAppCredentials(APP_ID, keys_pem)
    sweeps = []
    for conditional in (False, True):
        access = GitHubAccess(server_url, credentials, clock, conditional_requests=conditional)
        services = VoteServices(store, clock, access, "townhall[bot]")
        sweeps.append(await sweep_charges(ctl, services, repo, policy))
    settings = replace(
        load_settings({"TOWNHALL_DB_URL": str(work / "tick.db")}),
        github_api_url=server_url,
        github_app=credentials,
        anthropic_api_key="unused",  # nothing is approved: the idle tick plans nothing
        anthropic_base_url="http://127.0.0.1:9",
    )
    tick_store = open_store(settings.db_url)

    def register(tx: Tx) -> None:
        upsert_installation_tx(tx, clock, Installation(installation_id, OWNER))
        upsert_repo_tx(tx, clock, installation_id, Repository.from_github(tick_repository))

    await tick_store.run(register)
    tick_store.close_sync()
    ticks = [await tick_charges(ctl, settings, work, clock, c) for c in (False, True)]
    print("\nREST requests charged to the rate limit (304s are free), conditional requests off/on:")
    print(f"{'':<34} {'off':>5} {'on':>5}   (304s with them on)")
    print(
        f"{'unchanged sweep':<34} {sweeps[0][0]:>5} {sweeps[1][0]:>5}   ({sweeps[1][1]};"
        f" GraphQL points {sweeps[0][2]} / {sweeps[1][2]}: GraphQL has no ETags)"
    )
    print(
        f"{f'idle tick, {TICK_OPEN_PRS} open PRs':<34} {ticks[0][0]:>5} {ticks[1][0]:>5}"
        f"   ({ticks[1][1]})"
    )


def line(label: str, report: SweepReport, counters: dict[str, Any]) -> str:
    meter = report.meter
    phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in report.phases.items())
    return (
        f"{label:<26} {meter.requests:>8} {meter.graphql_requests:>8} {meter.graphql_cost:>6}"
        f" {meter.rest_reads:>6} {meter.rest_writes:>6} {report.seconds:>8.2f}"
        f"   (localhub saw {counters['total_requests']} requests,"
        f" {report.comments_written} tallies, {len(report.changes)} decisions changed;"
        f" seconds by phase: {phases})"
    )


async def run(issues: int, reactions: int) -> int:
    """Seed localhub, run the sweeps and the baseline, print the figures."""
    work = Path(tempfile.mkdtemp(prefix="vote-bench-"))
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    keys = generate_app_keypair()
    hub = LocalHub(work / "hub", clock=clock)
    store = open_store(str(work / "townhall.db"))
    with ServerThread(hub.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID)
        repository = ctl.create_repo(OWNER, NAME)["repository"]
        installation_id = int(ctl.create_installation(APP_ID, OWNER)["id"])
        seeded_at = time.perf_counter()
        added = seed(ctl, clock, issues, reactions)
        seeding = time.perf_counter() - seeded_at
        clock.advance(timedelta(days=2))  # past every voting window

        def register(tx: Tx) -> None:
            upsert_installation_tx(tx, clock, Installation(installation_id, OWNER))
            upsert_repo_tx(tx, clock, installation_id, Repository.from_github(repository))

        await store.run(register)
        access = GitHubAccess(server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock)
        await access.installation_client(installation_id)  # mint the token outside the figures
        services = VoteServices(store, clock, access, "townhall[bot]")
        repo = RepoRef(int(repository["id"]), installation_id, f"{OWNER}/{NAME}")
        policy = Policy(votes=VotePolicy(threshold=5.0, min_account_age_days=30.0))

        print(f"seeded {issues} open issues and {added} reactions in {seeding:.1f}s")
        print(
            f"{'':<26} {'requests':>8} {'graphql':>8} {'cost':>6} {'reads':>6} {'writes':>6}"
            f" {'seconds':>8}"
        )
        ctl.reset_counters()
        first = await sweep_repository(services, repo, policy)
        print(line("sweep 1 (posts tallies)", first, ctl.counters()))
        ctl.reset_counters()
        second = await sweep_repository(services, repo, policy)
        print(line("sweep 2 (nothing changed)", second, ctl.counters()))
        ctl.reset_counters()
        requests, seen, seconds = await naive_rest(access, installation_id)
        counted = ctl.counters()["total_requests"]
        print(
            f"{'naive REST baseline':<26} {requests:>8} {0:>8} {0:>6} {requests:>6} {0:>6}"
            f" {seconds:>8.2f}   (localhub saw {counted} requests, {seen} reactions read)"
        )
        reads = second.meter.graphql_requests + second.meter.rest_reads
        print(
            f"steady-state sweep reads: {reads} requests and {second.meter.graphql_cost} GraphQL"
            f" points vs {requests} REST requests ({requests / max(reads, 1):.0f}x fewer);"
            f" {second.meter.follow_ups} reaction follow-up queries for the"
            f" {HOT_ISSUES} issues with {HOT_REACTIONS} reactions"
        )
        tick_source = work / "tick-source"
        tick_source.mkdir()
        (tick_source / ".townhall.toml").write_text(TICK_POLICY)
        (tick_source / "README.md").write_text("# ticked\n")
        created = ctl.create_repo_from_dir(OWNER, TICK_REPO, tick_source)
        main_sha = await _main_sha(access, installation_id)
        await seed_tick_repo(access, installation_id, main_sha)
        await conditional_figures(
            ctl, server.url, keys.private_key_pem, clock, store, repo, policy, work,
            created["repository"], installation_id,
        )  # fmt: skip
    store.close_sync()
    return 0


def main(argv: list[str]) -> int:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--reactions", type=int, default=10_000)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.issues, args.reactions))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
