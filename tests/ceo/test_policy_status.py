"""An invalid `.townhall.toml` is said on GitHub: a commit status on the default branch's head."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ceo.policy_status import CONTEXT, MAX_DESCRIPTION, policy_status, report_policy
from app.clock import ManualClock, SystemClock
from app.github.client import Client, GitHubAccess
from app.github.policy import policy_from_github
from app.policy import PolicyError
from app.serving import ServerThread
from app.settings import GitHubAppCredentials
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.store import Store
from app.store.repos import ActiveRepo
from tests.contract.checker import contract

APP_ID = 77
OWNER, NAME = "octo", "shop"
BROKEN = "[votes]\nthreshold = 'lots'\n"
FIXED = "[votes]\nthreshold = 2\n"


@dataclass
class Hub:
    ctl: LocalHubControl
    url: str
    client: Client
    repo: ActiveRepo
    clock: ManualClock
    token: str


@asynccontextmanager
async def open_hub(tmp_path: Path, permissions: dict[str, str] | None) -> AsyncIterator[Hub]:
    """localhub with the App installed on octo/shop (with `permissions`, or the defaults)."""
    keys = generate_app_keypair()
    source = tmp_path / "source"
    source.mkdir()
    (source / ".townhall.toml").write_text(BROKEN)
    localhub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    with (
        ServerThread(localhub.create_app()) as server,
        LocalHubControl(server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        ctl.create_repo_from_dir(OWNER, NAME, source)
        found = localhub.state.find_repo(OWNER, NAME)
        assert found is not None
        installed = ctl.create_installation(APP_ID, OWNER, permissions=permissions)
        installation = int(installed["id"])
        ctl.create_user("reader")
        token = ctl.set_user_token("reader")
        clock = ManualClock(datetime.now(UTC))
        credentials = GitHubAppCredentials(APP_ID, keys.private_key_pem)
        access = GitHubAccess(server.url, credentials, SystemClock())
        repo = ActiveRepo(found.id, installation, f"{OWNER}/{NAME}", "main")
        async with await access.installation_client(installation) as client:
            yield Hub(ctl, server.url, client, repo, clock, token)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with open_hub(tmp_path, None) as opened:
        yield opened


def assert_conform(exchanges: list[dict[str, Any]], expected: set[str]) -> None:
    """Townhall's requests and localhub's answers match GitHub's published description."""
    description = contract()
    seen = set()
    for exchange in exchanges:
        found = description.find(str(exchange["method"]), str(exchange["path"]))
        assert found is not None, exchange["route"]
        operation = found[0]
        seen.add(operation.operation_id)
        query, body = exchange["query"], exchange["request_body"]
        assert description.check_request(operation, query, body) == []
        answer = description.check_response(
            operation,
            int(exchange["status"]),
            exchange["response_body"],
            dict(exchange["response_headers"]),
            conditional=False,
        )
        assert answer == []
    assert seen == expected


def combined(hub: Hub, ref: str = "main") -> dict[str, Any]:
    """GitHub's combined status of `ref`, read as any user would."""
    response = httpx.get(
        f"{hub.url}/repos/{OWNER}/{NAME}/commits/{ref}/status",
        headers={"Authorization": f"token {hub.token}"},
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def push_main(hub: Hub, files: dict[str, str]) -> None:
    bare = hub.ctl.repo_path(OWNER, NAME)
    work = bare.parent / "work-clone"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    for path, text in files.items():
        (work / path).write_text(text)
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "edit policy"],
        ["push", "-q", "origin", "HEAD:main"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)


async def current_error(hub: Hub) -> PolicyError | None:
    try:
        await policy_from_github(hub.client, OWNER, NAME, "main")
    except PolicyError as error:
        return error
    return None


async def test_invalid_policy_fails_the_head_then_fixed_succeeds(hub: Hub, store: Store) -> None:
    error = await current_error(hub)
    assert error is not None
    hub.ctl.record_exchanges()
    posted = await report_policy(
        hub.client, store, hub.repo, error, clock=hub.clock, public_url="https://th.example/"
    )
    assert posted
    assert_conform(hub.ctl.exchanges(), {"git/list-matching-refs", "repos/create-commit-status"})
    status = combined(hub)
    assert status["state"] == "failure"
    [item] = status["statuses"]
    assert item["context"] == CONTEXT
    assert "votes.threshold" in item["description"] and "expected a number" in item["description"]
    assert item["target_url"] == f"https://th.example/#repo-{hub.repo.id}"

    # The next ticks find the same error: nothing more is posted.
    for _ in range(3):
        again = await report_policy(hub.client, store, hub.repo, error, clock=hub.clock)
        assert not again
    statuses = httpx.get(
        f"{hub.url}/repos/{OWNER}/{NAME}/commits/main/statuses",
        headers={"Authorization": f"token {hub.token}"},
    ).json()
    assert len(statuses) == 1

    push_main(hub, {".townhall.toml": FIXED})
    assert await current_error(hub) is None
    assert await report_policy(hub.client, store, hub.repo, None, clock=hub.clock)
    fixed = combined(hub)
    assert fixed["state"] == "success"
    assert fixed["statuses"][0]["description"] == ".townhall.toml is valid"
    assert "target_url" not in fixed["statuses"][0] or fixed["statuses"][0]["target_url"] is None
    assert not await report_policy(hub.client, store, hub.repo, None, clock=hub.clock)


async def test_a_refused_status_is_retried_a_day_later_not_every_tick(
    tmp_path: Path, store: Store
) -> None:
    # An installation made before the App asked for `statuses: write`: GitHub answers 403.
    old = {"metadata": "read", "contents": "write", "issues": "write", "pull_requests": "write"}
    rows = "SELECT reason FROM events WHERE kind = 'policy_status' ORDER BY id"
    async with open_hub(tmp_path, old) as hub:
        assert not await report_policy(hub.client, store, hub.repo, "bad", clock=hub.clock)
        notes = [row["reason"] for row in await store.fetchall(rows)]
        assert notes == ["refused (403) failure: .townhall.toml invalid: bad"]
        hub.clock.advance(timedelta(hours=1))
        assert not await report_policy(hub.client, store, hub.repo, "bad", clock=hub.clock)
        assert len(await store.fetchall(rows)) == 1  # not asked again the next tick
        hub.clock.advance(timedelta(hours=24))
        assert not await report_policy(hub.client, store, hub.repo, "bad", clock=hub.clock)
        assert len(await store.fetchall(rows)) == 2  # asked again, a day later
        assert combined(hub)["statuses"] == []


def test_descriptions_name_the_key_and_fit_githubs_limit() -> None:
    long = PolicyError([f"limits.max_{'x' * 200}: unknown key", "votes.window_hours: must be >= 0"])
    status = policy_status(long)
    assert status.state == "failure"
    assert len(status.description) <= MAX_DESCRIPTION
    assert status.description.startswith(".townhall.toml invalid: limits.max_x")
    assert status.description.endswith("… (+1 more)")
    assert policy_status(None).state == "success"
