"""Signed webhooks from localhub through Townhall's web app, inbox and routers to early sweeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from githubkit import GitHub

from app.handlers import build_router
from app.serving import ServerThread
from app.votes.debounce import SweepDebouncer
from app.votes.sweep import RepoRef, sweep_repository
from app.votes.webhooks import build_vote_router
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor
from app.webhooks.router import Router

from .conftest import OWNER, POLICY, REPO, Hub

SECRET = "votes-webhook-secret"


@dataclass
class Townhall:
    """Townhall's webhook intake (store only) with a processor and debouncer run by the test."""

    hub: Hub
    processor: InboxProcessor
    debouncer: SweepDebouncer
    swept: list[frozenset[int] | None]

    async def settle(self) -> None:
        """Wait for localhub's deliveries, process them, and run the sweeps they asked for."""
        self.hub.ctl.wait_for_webhooks()
        await self.processor.drain()
        await self.debouncer.drain()

    async def as_user(self, login: str) -> GitHub[object]:
        """Return a client acting as `login` with a fresh personal token."""
        token = self.hub.ctl.set_user_token(login)
        return GitHub(token, base_url=self.hub.services.github.api_url)


@pytest.fixture
async def townhall(hub: Hub) -> AsyncIterator[Townhall]:
    swept: list[frozenset[int] | None] = []

    async def sweep(repo: RepoRef, numbers: frozenset[int] | None) -> None:
        swept.append(numbers)
        await sweep_repository(hub.services, repo, POLICY, numbers=numbers)

    debouncer = SweepDebouncer(sweep, quiet=0.01, max_wait=1.0)
    router = Router(build_router(), build_vote_router(debouncer))
    processor = InboxProcessor(hub.store, hub.clock, router, hub.services.github)
    app = create_web_app(WebConfig(hub.store, hub.clock, SECRET, 1 << 20, processor=None))
    with ServerThread(app) as server:
        hub.ctl.set_webhook(server.url + "/webhook", SECRET)
        yield Townhall(hub, processor, debouncer, swept)
        await debouncer.close()


async def decision(hub: Hub, number: int) -> object:
    row = await hub.store.fetchone("SELECT decision FROM issues WHERE number = ?", (number,))
    return None if row is None else row["decision"]


async def test_a_maintainers_label_vetoes_and_removing_it_withdraws_the_veto(
    townhall: Townhall,
) -> None:
    hub = townhall.hub
    number = hub.issue("Label me")
    await townhall.settle()
    assert townhall.swept == [frozenset({number})]  # `opened` asked for an early sweep
    async with await townhall.as_user("maint") as maint:
        await maint.rest.issues.async_add_labels(
            OWNER, REPO, number, data={"labels": ["townhall:rejected"]}
        )
        await townhall.settle()
        assert await decision(hub, number) == "rejected"
        act = await hub.store.fetchone(
            "SELECT login, decision, source, withdrawn_at FROM maintainer_decisions"
        )
        assert act == {
            "login": "maint",
            "decision": "reject",
            "source": "label",
            "withdrawn_at": None,
        }
        assert "vetoed by maint (label)" in hub.comments(number)[0].body

        await maint.rest.issues.async_remove_label(OWNER, REPO, number, "townhall:rejected")
        await townhall.settle()
    assert await decision(hub, number) == "pending"
    withdrawn = await hub.store.fetchone("SELECT withdrawn_at FROM maintainer_decisions")
    assert withdrawn is not None and withdrawn["withdrawn_at"] is not None


async def test_a_label_from_someone_without_write_access_is_not_an_approval(
    townhall: Townhall,
) -> None:
    hub = townhall.hub
    hub.ctl.set_collaborator(OWNER, REPO, "stranger", "triage")  # may label, may not approve
    number = hub.issue("Sneaky")
    async with await townhall.as_user("stranger") as stranger:
        await stranger.rest.issues.async_add_labels(
            OWNER, REPO, number, data={"labels": ["townhall:approved"]}
        )
    await townhall.settle()
    assert await decision(hub, number) == "pending"
    assert await hub.store.fetchone("SELECT * FROM maintainer_decisions") is None
    task = await hub.store.fetchone("SELECT * FROM tasks")
    assert task is None


async def test_a_reject_command_is_recorded_and_swept_at_once(townhall: Townhall) -> None:
    hub = townhall.hub
    number = hub.issue("Command me")
    await townhall.settle()
    townhall.swept.clear()
    hub.ctl.create_comment(OWNER, REPO, number, "maint", "/townhall reject not in scope")
    await townhall.settle()
    assert townhall.swept == [frozenset({number})]
    assert await decision(hub, number) == "rejected"
    assert hub.labels(number) == {"townhall:rejected"}


async def test_townhalls_own_writes_do_not_ask_for_more_sweeps(townhall: Townhall) -> None:
    hub = townhall.hub
    number = hub.issue("Busy")
    hub.react(number, ["maint"], "rocket")
    await townhall.settle()
    assert hub.labels(number) == {"townhall:approved"}  # the sweep labelled and commented
    townhall.swept.clear()
    await townhall.settle()  # deliver the `labeled` and `issue_comment` webhooks it caused
    assert townhall.swept == []
