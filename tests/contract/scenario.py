"""Run Townhall's whole loop against a recording localhub and keep every exchange.

It is the demo (app/demo/run.py) with the hub's exchange recorder on: people file and vote,
a maintainer vetoes, CEO ticks plan, workers publish PRs, the reviewer merges. Then the few
calls the demo's happy path never makes (listing contributors, a second attempt reusing its
branch and PR, a revert's reopen and unlabel) are made through the same Townhall functions.
What localhub saw is what GitHub would see.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.demo.run import APP_ID, OWNER, REPO, _file_issues, _loop, _seed_hub, _settle
from app.demo.sample import ISSUES
from app.demo.script import build_demo_model
from app.github.client import GitHubAccess
from app.serving import ServerThread
from app.settings import GitHubAppCredentials, load_settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.votes.facts import VoterCaches, VoterLookup
from app.votes.fetch import Meter
from app.wiring import build_runtime, build_tick_deps, build_web_app
from reviewer.actions import remove_label, reopen_issue
from workers.publish import FileChange, PullRequestText, publish_change

JSON = dict[str, Any]


@dataclass(frozen=True)
class Recorded:
    """What localhub saw and sent while Townhall ran."""

    exchanges: list[JSON]
    deliveries: list[JSON]


async def _townhall_calls_the_demo_skips(access: GitHubAccess, installation_id: int) -> None:
    """Make, through Townhall's own code, the calls the demo's happy path never needs."""
    async with await access.installation_client(installation_id) as client:
        # The demo's policy weighs every voter alike, so its sweeps never list contributors.
        lookup = VoterLookup(client, OWNER, REPO, VoterCaches(SystemClock()), Meter())
        await lookup.contributors()
        # A second attempt at an issue moves its branch and reuses its open PR (then closes a
        # draft it supersedes); a revert reopens the issue and takes the approval label off.
        refs = await client.rest.git.async_list_matching_refs(OWNER, REPO, "heads/main")
        main_sha = refs.parsed_data[0].object_.sha
        for attempt, draft in ((1, True), (2, True), (3, False)):
            published = await publish_change(
                client,
                owner=OWNER,
                repo=REPO,
                base_branch="main",
                base_sha=main_sha,
                issue_number=1,
                changes={"NOTES.md": FileChange(f"attempt {attempt}\n".encode())},
                message=f"Attempt {attempt}",
                pr=PullRequestText(f"Attempt {attempt}", "Closes #1"),
                draft=draft,
                labels=("townhall",),
            )
        await remove_label(client, OWNER, REPO, published.pr_number, "townhall")
        await reopen_issue(client, OWNER, REPO, 1)


async def run_scenario(workdir: Path) -> Recorded:
    """Run the demo's loop with recording on; return the exchanges and webhook deliveries."""
    keys = generate_app_keypair()
    secret = secrets.token_hex(16)
    hub = LocalHub(workdir / "hub", token_ttl=timedelta(hours=1))
    model = build_demo_model()
    base = load_settings({"TOWNHALL_DB_URL": str(workdir / "townhall.db")})
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(model.create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.record_exchanges()
        settings = replace(
            base,
            github_api_url=hub_server.url,
            github_app=GitHubAppCredentials(APP_ID, keys.private_key_pem),
            webhook_secret=secret,
            anthropic_api_key="scripted-model",
            anthropic_base_url=model_server.url,
            sandbox_backend="local",
            dispatch_backend="inline",
        )
        runtime = build_runtime(settings, sweep_on_webhooks=False)
        try:
            with ServerThread(build_web_app(runtime, process=False)) as web:
                _seed_hub(ctl, workdir, keys.public_key_pem)
                ctl.set_webhook(f"{web.url}/webhook", secret)
                installation = ctl.create_installation(APP_ID, OWNER)
                await _settle(runtime, ctl)
                numbers = await asyncio.to_thread(_file_issues, ctl, lambda line: None)
                await _settle(runtime, ctl)
                deps = build_tick_deps(runtime, workdir / "townhall")
                approved = {
                    numbers[i.key] for i in ISSUES if not i.veto_by and i.key != "unpopular"
                }
                await _loop(deps, runtime, ctl, approved, {}, lambda line: None)
                await _townhall_calls_the_demo_skips(runtime.github, int(installation["id"]))
                await _settle(runtime, ctl)
        finally:
            runtime.store.close_sync()
        return Recorded(ctl.exchanges(), ctl.deliveries(with_payload=True))
