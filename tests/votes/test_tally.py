"""Tally comment and explanation rendering: stable text, marker, limits, state labels."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from app.policy import VotePolicy
from app.votes.ballots import MaintainerAct, Standing, VoterFacts
from app.votes.explain import explanation, explanation_fingerprint, render_explanation
from app.votes.rules import decide
from app.votes.tally import MAX_ROWS, fingerprint, is_tally, render_tally, state_labels
from app.votes.texts import TALLY_MARKER

from .test_rules import LATER, OPENED, issue, vote

POLICY = VotePolicy()
FACTS = VoterFacts(app_login="townhall[bot]")


def test_the_tally_starts_with_the_marker_and_lists_counted_and_excluded_votes() -> None:
    snapshot = issue(vote("bob"), vote("carol"), vote("alice"), vote("kid", created=LATER))
    decision = decide(snapshot, POLICY, FACTS, [], Standing(), LATER)
    body = render_tally(decision, "o/r#7", now_passed_window=True)
    assert is_tally(body) and body.startswith(TALLY_MARKER)
    assert "**Status: voting** (net score 2 of 3 needed)" in body
    assert "| `bob` | 👍 | +1 |" in body
    assert "| `alice` | 👍 | issue author (count_author is off) |" in body
    assert "| `kid` | 👍 | account 0 days old (minimum 30) |" in body
    assert "Voting window closed 2026-01-02 00:00 UTC." in body
    assert "@" not in body  # logins in code spans: editing the tally never pings voters


def test_the_tally_is_equal_for_an_unchanged_decision_at_a_later_time() -> None:
    snapshot = issue(vote("bob"), vote("carol"), vote("dave"))
    first = decide(snapshot, POLICY, FACTS, [], Standing(), LATER)
    later = decide(snapshot, POLICY, FACTS, [], Standing(), LATER + timedelta(days=3))
    assert fingerprint(render_tally(first, "o/r#7", True)) == fingerprint(
        render_tally(later, "o/r#7", True)
    )


def test_long_voter_lists_are_cut_with_a_pointer_to_the_cli() -> None:
    snapshot = issue(*(vote(f"user{n:03d}") for n in range(MAX_ROWS + 7)))
    decision = decide(snapshot, POLICY, FACTS, [], Standing(), LATER)
    body = render_tally(decision, "o/r#7", True)
    assert body.count("| 👍 | +1 |") == MAX_ROWS
    assert "| … | 7 more | see `townhall votes o/r#7` |" in body


def test_held_and_vetoed_tallies_say_so_and_labels_follow_the_outcome() -> None:
    standing = Standing("approved", "old-hash")
    held = decide(issue(), POLICY, FACTS, [], standing, LATER)
    assert "**Held:**" in render_tally(held, "o/r#7", True)
    assert state_labels(held) == ("townhall:held",)
    veto = MaintainerAct("maint", "reject", "label", OPENED)
    vetoed = decide(issue(), POLICY, FACTS, [veto], Standing(), LATER)
    assert "| `maint` | reject | label | the latest maintainer signal |" in render_tally(
        vetoed, "o/r#7", True
    )
    assert state_labels(vetoed) == ("townhall:rejected",)
    pending = decide(issue(), POLICY, FACTS, [], Standing(), LATER)
    assert state_labels(pending) == ()


def test_the_explanation_round_trips_through_json_and_renders_for_people() -> None:
    snapshot = issue(vote("bob"), vote("alice"), vote("eve", "-1"))
    decision = decide(snapshot, POLICY, FACTS, [], Standing(), LATER)
    data = json.loads(json.dumps(explanation(decision, snapshot, POLICY)))
    assert data["policy"]["threshold"] == 3.0
    assert [v["login"] for v in data["votes"]] == ["bob", "eve", "alice"]
    text = render_explanation(data, "o/r#7", "2026-01-03T00:00:00")
    assert "decision: pending as of 2026-01-03T00:00:00" in text
    assert "counted votes (2):" in text
    assert "alice" in text and "issue author" in text


def test_the_explanation_fingerprint_ignores_decay_noise_but_not_new_votes() -> None:
    policy = replace(POLICY, decay_half_life_days=30.0)
    snapshot = issue(vote("bob"), vote("carol"))
    a = decide(snapshot, policy, FACTS, [], Standing(), LATER)
    b = decide(snapshot, policy, FACTS, [], Standing(), LATER + timedelta(minutes=5))
    assert a.score != b.score
    fa = explanation_fingerprint(explanation(a, snapshot, policy))
    fb = explanation_fingerprint(explanation(b, snapshot, policy))
    assert fa == fb
    more = issue(vote("bob"), vote("carol"), vote("dave"))
    c = decide(more, policy, FACTS, [], Standing(), LATER)
    assert explanation_fingerprint(explanation(c, more, policy)) != fa
