"""Issue 20: a tick catches up with what webhooks missed, and a busy sweep stops only voting.

The tick world (tests/ceo/test_tick.py) has no webhook URL: localhub delivers nothing, as if
Townhall were down the whole time; only the tick's catch-up can see what people said.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from githubkit import GitHub

from app.ceo.catch_up import OVERLAP, grained
from app.ceo.tick import run_tick
from app.github.policy import policy_from_github
from app.store.catch_up import set_caught_up_tx
from app.store.leases import holder_of
from app.votes.sweep import RepoRef, VoteServices, sweep_repository
from tests.ceo.test_tick import OWNER, REPO, World, authored, file_and_vote, world

__all__ = ["world"]  # the fixture, used by name

VETO = "townhall:rejected"
BOT = "townhall[bot]"


async def vetoable(world: World) -> int:
    """Tick an approved issue into a running task with dave as a maintainer; return it."""
    world.ctl.set_collaborator(OWNER, REPO, "dave", "write")
    number = file_and_vote(world, "Cart totals")
    first = await run_tick(world.deps)
    assert first.dispatched == [(1, 1)], first.errors
    return number


async def task_state(world: World) -> str:
    row = await world.store.fetchone("SELECT state FROM tasks WHERE id = 1")
    assert row is not None
    return str(row["state"])


async def test_a_reject_command_made_while_down_stops_the_task_on_the_next_tick(
    world: World,
) -> None:
    number = await vetoable(world)
    command = world.ctl.create_comment(OWNER, REPO, number, "dave", "/townhall reject too risky")

    report = await run_tick(world.deps)
    again = await run_tick(world.deps)

    assert not report.errors, report.errors
    assert await task_state(world) == "cancelled"
    assert report.dispatched == [] and again.dispatched == []
    decisions = await world.store.fetchall(
        "SELECT login, decision, source, comment_id FROM maintainer_decisions"
    )
    assert decisions == [
        {"login": "dave", "decision": "reject", "source": "command", "comment_id": command["id"]}
    ]
    replies = [body for login, body in authored(world, number) if login == BOT]
    recorded = [body for body in replies if "Recorded: **reject** by @dave" in body]
    assert len(recorded) == 1 and f"townhall:reply:{command['id']}" in recorded[0]


async def test_a_veto_label_added_while_down_stops_the_task_on_the_next_tick(
    world: World,
) -> None:
    number = await vetoable(world)
    with GitHub("dave-token", base_url=world.hub_url + "/") as dave:
        dave.rest.issues.add_labels(OWNER, REPO, number, data={"labels": [VETO]})

    report = await run_tick(world.deps)
    await run_tick(world.deps)

    assert not report.errors, report.errors
    assert await task_state(world) == "cancelled"
    decisions = await world.store.fetchall(
        "SELECT login, decision, source, withdrawn_at FROM maintainer_decisions"
    )
    assert decisions == [
        {"login": "dave", "decision": "reject", "source": "label", "withdrawn_at": None}
    ]
    issue = await world.store.fetchone("SELECT decision FROM issues WHERE number = ?", (number,))
    assert issue == {"decision": "rejected"}


async def test_labels_that_are_not_a_maintainers_veto_are_left_alone(world: World) -> None:
    number = await vetoable(world)
    world.ctl.set_collaborator(OWNER, REPO, "carol", "triage")
    with GitHub("carol-token", base_url=world.hub_url + "/") as carol:
        carol.rest.issues.add_labels(OWNER, REPO, number, data={"labels": [VETO]})
    with GitHub("dave-token", base_url=world.hub_url + "/") as dave:
        # Added and taken off again while Townhall was down: the veto never stood.
        other = file_and_vote(world, "Search box", voters=())
        dave.rest.issues.add_labels(OWNER, REPO, other, data={"labels": [VETO]})
        dave.rest.issues.remove_label(OWNER, REPO, other, VETO)

    report = await run_tick(world.deps)

    assert not report.errors, report.errors
    assert await task_state(world) == "running"
    assert await world.store.fetchall("SELECT * FROM maintainer_decisions") == []


async def test_a_busy_sweep_skips_voting_only(world: World) -> None:
    """Issue 20, finding 8: a sweep waiting out a rate limit must not stop the repository."""
    file_and_vote(world, "Cart totals")
    file_and_vote(world, "Cart coupons")
    first = await run_tick(world.deps)
    assert first.dispatched == [(1, 1)]  # coupons waits: both change app/cart.py
    # The cart task ends, which frees app/cart.py for the coupons task.
    await world.store.execute("UPDATE tasks SET state = 'cancelled' WHERE id = 1")
    await world.store.execute("UPDATE attempts SET state = 'ended'")

    # Another sweep of the repository (the web app's, say) hits GitHub's secondary rate limit
    # and waits it out while holding the repository's sweep lease.
    world.ctl.inject_fault("/graphql", kind="secondary_rate_limit", retry_after=3, times=1)
    deps = world.deps
    services = VoteServices(deps.store, deps.clock, deps.github, deps.app_login)
    repo = RepoRef(1, (await world.store.fetchone("SELECT installation_id FROM repos") or {})[
        "installation_id"], f"{OWNER}/{REPO}")  # fmt: skip
    async with await deps.github.installation_client(repo.installation_id) as client:
        policy = await policy_from_github(client, OWNER, REPO, "main")
    other = asyncio.create_task(sweep_repository(services, repo, policy))
    while not world.ctl.counters()["faults"]:
        await asyncio.sleep(0.05)
    assert await holder_of(deps.store, deps.clock, "votes:1") is not None

    report = await run_tick(deps)
    await other

    assert not report.errors, report.errors
    assert report.sweeps_busy == [f"{OWNER}/{REPO}"] and report.swept == {}
    assert report.dispatched == [(2, 1)]


async def test_a_reply_the_catch_up_posted_before_a_crash_is_not_posted_again(
    world: World,
) -> None:
    """Issue 20, finding 7, on the tick's path: the lost write is the reply's id."""
    number = await vetoable(world)
    command = world.ctl.create_comment(OWNER, REPO, number, "dave", "/townhall reject")
    await run_tick(world.deps)
    await world.store.execute("UPDATE handled_comments SET reply_comment_id = NULL")

    await run_tick(world.deps)

    replies = [body for login, body in authored(world, number) if login == BOT]
    assert len([body for body in replies if "Recorded: **reject**" in body]) == 1
    assert await world.store.fetchall("SELECT comment_id FROM maintainer_decisions") == [
        {"comment_id": command["id"]}
    ]
    vetoes = await world.store.fetchall("SELECT id FROM events WHERE kind = 'maintainer_reject'")
    assert len(vetoes) == 1
    handled = await world.store.fetchone("SELECT reply_comment_id FROM handled_comments")
    assert handled is not None and handled["reply_comment_id"] is not None


async def test_an_idle_repository_is_caught_up_without_a_counted_request(world: World) -> None:
    # The comment listing asks from the hour, not the moment: the same URL, answered 304.
    await vetoable(world)
    for _ in range(2):  # once more if the pair straddled the hour the listing asks from
        hour = grained(world.deps.clock.now() - OVERLAP)
        await run_tick(world.deps)
        world.ctl.reset_counters()
        await asyncio.sleep(1.1)  # a later mark, to the second GitHub's timestamps have

        await run_tick(world.deps)

        if grained(world.deps.clock.now() - OVERLAP) == hour:
            break
    counted = world.ctl.counters()
    assert counted["rate_limited_requests"].get("core", 0) == 0, counted["statuses"]
    assert any(key.endswith(" 304") for key in counted["statuses"]), counted["statuses"]


async def test_the_wider_listing_acts_only_on_commands_made_since_the_mark(world: World) -> None:
    number = await vetoable(world)
    hour = grained(world.deps.clock.now()) - timedelta(hours=2)
    repo_id = await world.store.run(lambda tx: tx.scalar("SELECT id FROM repos"))
    # The mark half an hour into a past hour: the pass reads from 25 minutes in (5 of overlap),
    # but its listing reaches back to the start of the hour.
    await world.store.run(
        lambda tx: set_caught_up_tx(tx, world.deps.clock, repo_id, hour + timedelta(minutes=30))
    )
    before = world.ctl.create_comment(
        OWNER, REPO, number, "dave", "/townhall reject", created_at=hour + timedelta(minutes=10)
    )
    after = world.ctl.create_comment(
        OWNER, REPO, number, "dave", "/townhall reject", created_at=hour + timedelta(minutes=28)
    )

    report = await run_tick(world.deps)

    assert not report.errors, report.errors
    decisions = await world.store.fetchall("SELECT comment_id FROM maintainer_decisions")
    assert decisions == [{"comment_id": after["id"]}], (before["id"], decisions)
