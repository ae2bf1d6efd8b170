"""Sweeps against localhub through the real githubkit client: reads, decisions, tasks, comments."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from githubkit import GitHub

from app.policy import Policy, VotePolicy
from app.store import Store, leases
from app.votes.record import hold_reason_tx
from app.votes.sweep import SweepBusy
from app.votes.texts import TALLY_MARKER

from .conftest import OWNER, REPO, Hub


def voters(hub: Hub, prefix: str, count: int) -> list[str]:
    return [hub.user(f"{prefix}{n:04d}") for n in range(count)]


async def row(store: Store, number: int) -> dict[str, object]:
    found = await store.fetchone("SELECT * FROM issues WHERE number = ?", (number,))
    assert found is not None
    return found


async def test_250_reactions_on_one_issue_are_all_counted(hub: Hub) -> None:
    number = hub.issue("Popular")
    hub.react(number, voters(hub, "v", 250))
    hub.clock.advance(timedelta(hours=2))
    hub.ctl.reset_counters()

    report = await hub.sweep()

    issue = await row(hub.store, number)
    assert issue["score"] == 250
    assert issue["decision"] == "approved"
    counted = await hub.store.fetchone(
        "SELECT COUNT(*) AS n FROM votes WHERE issue_number = ? AND counted = 1", (number,)
    )
    assert counted == {"n": 250}
    # One issues page with 100 reactions inline, then two follow-up pages (100 + 50).
    assert report.meter.graphql_requests == 3
    assert report.meter.follow_ups == 2
    assert hub.counters()["routes"]["POST /graphql"] == 3


async def test_1000_open_issues_are_swept_in_ten_requests(hub: Hub) -> None:
    for n in range(1000):
        hub.ctl.create_issue(OWNER, REPO, "alice", f"Idea {n}")
    hub.ctl.reset_counters()

    report = await hub.sweep()

    assert report.issues == 1000
    assert report.meter.graphql_requests == 10
    assert report.meter.requests == 10
    counters = hub.counters()
    assert counters["routes"]["POST /graphql"] == 10
    assert hub.writes() == {}  # nobody voted: no comments, no labels
    swept = await hub.store.fetchone("SELECT COUNT(*) AS n FROM issues WHERE swept_at IS NOT NULL")
    assert swept == {"n": 1000}


async def test_crossing_the_threshold_labels_once_and_an_unchanged_sweep_writes_nothing(
    hub: Hub,
) -> None:
    number = hub.issue("Dark mode", "please")
    hub.react(number, voters(hub, "v", 2))
    hub.clock.advance(timedelta(hours=2))
    first = await hub.sweep()
    assert first.changes == []
    assert (await row(hub.store, number))["decision"] == "pending"
    assert len(hub.comments(number)) == 1  # the tally shows 2 of 3
    assert hub.labels(number) == set()

    hub.react(number, [hub.user("third")])
    second = await hub.sweep()
    assert second.changes == [(number, "pending", "approved")]
    assert hub.labels(number) == {"townhall:approved"}
    comments = hub.comments(number)
    assert len(comments) == 1
    assert comments[0].body.startswith(TALLY_MARKER)
    assert "**Status: approved**" in comments[0].body
    task = await hub.store.fetchone(
        "SELECT state, priority FROM tasks WHERE issue_number = ?", (number,)
    )
    assert task == {"state": "approved", "priority": 3.0}

    hub.ctl.reset_counters()
    third = await hub.sweep()
    assert third.changes == []
    assert third.comments_written == 0 and third.labels_synced == 0
    assert hub.writes() == {}
    assert hub.counters()["total_requests"] == 1  # the one GraphQL page


async def test_the_tally_comment_is_found_again_after_a_crash(hub: Hub) -> None:
    number = hub.issue("Crash me")
    hub.react(number, voters(hub, "v", 1))
    hub.clock.advance(timedelta(hours=2))
    await hub.sweep()
    # A crash after posting but before the comment id was stored: the store forgets it.
    await hub.store.execute(
        "UPDATE issues SET tally_comment_id = NULL, tally_fingerprint = NULL WHERE number = ?",
        (number,),
    )
    # A stranger pastes the marker: Townhall must not take their comment over.
    hub.ctl.create_comment(OWNER, REPO, number, "stranger", TALLY_MARKER + "\nfake")
    hub.react(number, voters(hub, "w", 1))

    await hub.sweep()

    ours = [c for c in hub.comments(number) if c.user_login == "townhall[bot]"]
    assert len(ours) == 1
    assert "net score 2 of 3" in ours[0].body
    stranger = [c for c in hub.comments(number) if c.user_login == "stranger"]
    assert stranger[0].body.endswith("fake")


async def test_bots_authors_and_young_accounts_are_excluded_on_the_wire(hub: Hub) -> None:
    number = hub.issue("Mixed crowd")
    hub.react(number, voters(hub, "v", 2))
    hub.react(number, ["alice"])  # the author
    hub.react(number, [hub.user("newbie", age_days=3)])
    hub.react(number, [hub.user("ci[bot]", kind="Bot")])
    hub.react(number, [hub.user("both")])
    hub.react(number, ["both"], "-1")
    hub.clock.advance(timedelta(hours=2))

    await hub.sweep()

    votes = await hub.store.fetchall(
        "SELECT login, counted, reason FROM votes WHERE issue_number = ? ORDER BY login", (number,)
    )
    reasons = {v["login"]: (v["counted"], v["reason"]) for v in votes}
    assert reasons["alice"] == (0, "issue author (count_author is off)")
    assert reasons["newbie"] == (0, "account 3 days old (minimum 30)")
    assert reasons["both"] == (0, "reacted both for and against: counts as neither")
    assert reasons["v0000"] == (1, "counted")
    # GitHub shows a bot's reaction without its user; it is excluded all the same.
    unknown = [value for login, value in reasons.items() if login.startswith("(unknown")]
    assert unknown == [(0, "deleted or unknown account")]
    assert (await row(hub.store, number))["score"] == 2


async def test_a_maintainer_rocket_approves_and_a_strangers_does_not(hub: Hub) -> None:
    first = hub.issue("Rocket from a maintainer")
    second = hub.issue("Rocket from a stranger")
    hub.react(first, ["maint"], "rocket")
    hub.react(second, ["stranger"], "rocket")
    hub.ctl.reset_counters()

    report = await hub.sweep()  # the voting window has not even passed

    assert report.changes == [(first, "pending", "approved")]
    routes = hub.counters()["routes"]
    assert routes["GET /repos/{owner}/{repo}/collaborators/{username}/permission"] == 2
    explanation = await hub.store.fetchone(
        "SELECT explanation FROM vote_snapshots WHERE issue_number = ?", (second,)
    )
    assert explanation is not None
    signals = json.loads(explanation["explanation"])["signals"]
    assert signals[0]["reason"] == "not a maintainer (needs write access)"


async def test_a_veto_cancels_the_task_and_swaps_the_label(hub: Hub) -> None:
    number = hub.issue("Approve then veto")
    hub.react(number, voters(hub, "v", 3))
    hub.clock.advance(timedelta(hours=2))
    await hub.sweep()
    assert hub.labels(number) == {"townhall:approved"}
    await hub.store.execute(
        "INSERT INTO maintainer_decisions (repo_id, issue_number, login, decision, source,"
        " created_at) VALUES (?, ?, 'maint', 'reject', 'command', ?)",
        (hub.repo.id, number, hub.clock.now().isoformat()),
    )
    hub.clock.advance(timedelta(minutes=5))

    report = await hub.sweep()

    assert report.changes == [(number, "approved", "rejected")]
    task = await hub.store.fetchone("SELECT state FROM tasks WHERE issue_number = ?", (number,))
    assert task == {"state": "cancelled"}
    assert hub.labels(number) == {"townhall:rejected"}
    body = hub.comments(number)[0].body
    assert "vetoed by maint (command)" in body


async def test_an_edit_after_approval_holds_until_a_maintainer_confirms(hub: Hub) -> None:
    number = hub.issue("Small change", "just the button")
    hub.react(number, voters(hub, "v", 3))
    hub.clock.advance(timedelta(hours=2))
    await hub.sweep()
    token = hub.ctl.set_user_token("alice")
    async with GitHub(token, base_url=hub.services.github.api_url) as alice:
        # The author edits through the REST API, as on GitHub.
        await alice.rest.issues.async_update(OWNER, REPO, number, data={"body": "rewrite it all"})
    hub.clock.advance(timedelta(minutes=5))

    held = await hub.sweep()

    assert held.changes == [(number, "approved", "held")]
    reason = await hub.store.run(lambda tx: hold_reason_tx(tx, hub.repo.id, number))
    assert reason is not None and "changed after approval" in reason
    assert hub.labels(number) == {"townhall:held"}
    assert "**Held:**" in hub.comments(number)[0].body

    hub.react(number, ["maint"], "rocket")
    confirmed = await hub.sweep()
    assert confirmed.changes == [(number, "held", "approved")]
    assert hub.labels(number) == {"townhall:approved"}
    issue = await row(hub.store, number)
    assert issue["approved_body_hash"] == issue["body_hash"]


async def test_a_sweep_of_named_issues_reads_only_those(hub: Hub) -> None:
    numbers = [hub.issue(f"Issue {n}") for n in range(5)]
    hub.react(numbers[1], voters(hub, "v", 3))
    hub.clock.advance(timedelta(hours=2))
    hub.ctl.reset_counters()

    report = await hub.sweep(numbers=[numbers[1], numbers[3], 999])

    assert report.issues == 2
    assert report.meter.graphql_requests == 1
    assert report.meter.not_found == [999]
    assert report.changes == [(numbers[1], "pending", "approved")]


async def test_weights_look_up_only_counted_voters_once_per_sweep(hub: Hub) -> None:
    policy = Policy(votes=VotePolicy(window_hours=1.0, maintainer_weight=2.0))
    first = hub.issue("Weighted")
    second = hub.issue("Weighted too")
    for number in (first, second):
        hub.react(number, ["maint", "stranger"])
    hub.react(first, [hub.user("kid", age_days=1)])  # excluded by age: no need to look it up
    hub.clock.advance(timedelta(hours=2))
    hub.ctl.reset_counters()

    report = await hub.sweep(policy)

    routes = hub.counters()["routes"]
    assert routes["GET /repos/{owner}/{repo}/collaborators/{username}/permission"] == 2
    assert report.changes == [(first, "pending", "approved"), (second, "pending", "approved")]
    assert (await row(hub.store, first))["score"] == 3.0


async def test_contributor_weight_survives_a_hub_without_a_contributors_list(hub: Hub) -> None:
    policy = Policy(votes=VotePolicy(window_hours=1.0, contributor_weight=3.0))
    number = hub.issue("Contributors")
    hub.react(number, ["maint"])
    hub.clock.advance(timedelta(hours=2))
    hub.ctl.reset_counters()

    await hub.sweep(policy)
    await hub.sweep(policy)

    # The listing (here: nobody who voted) is read once per hour, not once per sweep.
    assert hub.counters()["routes"]["GET /repos/{owner}/{repo}/contributors"] == 1
    assert (await row(hub.store, number))["score"] == 1.0


async def test_one_sweep_per_repository_at_a_time(hub: Hub) -> None:
    hub.issue("Contended")
    lease = f"votes:{hub.repo.id}"
    assert await leases.acquire(hub.store, hub.clock, lease, "the-tick", timedelta(minutes=10))
    with pytest.raises(SweepBusy):
        await hub.sweep()
    await leases.release(hub.store, lease, "the-tick")
    report = await hub.sweep()
    assert report.issues == 1
    assert await leases.holder_of(hub.store, hub.clock, lease) is None  # released after use
