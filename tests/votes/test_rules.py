"""The vote rules as a pure function: snapshot + policy + time → decision with reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.policy import VotePolicy
from app.store.issues import body_hash
from app.votes.ballots import (
    Account,
    IssueSnapshot,
    MaintainerAct,
    Reaction,
    Standing,
    VoterFacts,
)
from app.votes.rules import decide

OPENED = datetime(2026, 1, 1, tzinfo=UTC)
LATER = OPENED + timedelta(days=2)  # the default 24 h window has passed
OLD = OPENED - timedelta(days=365)
POLICY = VotePolicy()
FACTS = VoterFacts(app_login="townhall[bot]")


def vote(
    login: str,
    content: str = "+1",
    at: datetime = OPENED + timedelta(hours=1),
    created: datetime | None = OLD,
    kind: str = "User",
) -> Reaction:
    return Reaction(Account(login, kind, created), content, at)


def issue(
    *reactions: Reaction, title: str = "Add dark mode", body: str = "please"
) -> IssueSnapshot:
    return IssueSnapshot(
        number=7,
        title=title,
        body=body,
        author="alice",
        created_at=OPENED,
        updated_at=OPENED,
        reactions=tuple(reactions),
    )


def ups(*logins: str) -> list[Reaction]:
    return [vote(login) for login in logins]


def test_three_votes_after_the_window_approve() -> None:
    decision = decide(issue(*ups("b", "c", "d")), POLICY, FACTS, [], Standing(), LATER)
    assert decision.outcome == "approved"
    assert decision.score == 3
    assert decision.approved_body_hash == body_hash("Add dark mode", "please")
    assert "reached the threshold" in decision.reasons[0]


def test_two_votes_are_short() -> None:
    decision = decide(issue(*ups("b", "c")), POLICY, FACTS, [], Standing(), LATER)
    assert decision.outcome == "pending"
    assert decision.reasons == ("net score 2 of 3 needed",)
    assert decision.approved_body_hash is None


def test_tie_between_for_and_against_is_zero_and_pending() -> None:
    reactions = [*ups("b", "c", "d"), *(vote(x, "-1") for x in ("e", "f", "g"))]
    decision = decide(issue(*reactions), POLICY, FACTS, [], Standing(), LATER)
    assert decision.score == 0
    assert decision.outcome == "pending"
    assert len(decision.counted) == 6


def test_score_exactly_at_threshold_approves_even_with_float_weights() -> None:
    policy = replace(POLICY, threshold=0.3, maintainer_weight=0.1)
    facts = replace(FACTS, permissions={"b": "write", "c": "admin", "d": "maintain"})
    decision = decide(issue(*ups("b", "c", "d")), policy, facts, [], Standing(), LATER)
    assert decision.score == 0.3  # 0.1 + 0.1 + 0.1 is 0.30000000000000004 unrounded
    assert decision.outcome == "approved"


def test_window_not_elapsed_keeps_it_pending_whatever_the_score() -> None:
    early = OPENED + timedelta(hours=5)
    decision = decide(issue(*ups("b", "c", "d", "e")), POLICY, FACTS, [], Standing(), early)
    assert decision.outcome == "pending"
    assert decision.reasons == ("voting window open until 2026-01-02 00:00 UTC",)
    assert decision.window_ends == OPENED + timedelta(hours=24)


def test_both_reactions_from_one_user_count_as_neither() -> None:
    reactions = [*ups("b", "c", "d"), vote("d", "-1")]
    decision = decide(issue(*reactions), POLICY, FACTS, [], Standing(), LATER)
    assert decision.score == 2
    both = [line for line in decision.votes if line.login == "d"]
    assert len(both) == 1
    assert both[0].direction == "both"
    assert not both[0].counted
    assert both[0].contents == ("+1", "-1")


def test_one_vote_per_user_across_several_up_contents() -> None:
    policy = replace(POLICY, up=("+1", "heart"))
    reactions = [vote("b"), vote("b", "heart"), vote("c", "heart")]
    decision = decide(issue(*reactions), policy, FACTS, [], Standing(), LATER)
    assert decision.score == 2
    assert [line.login for line in decision.counted] == ["b", "c"]


def test_logins_compare_case_insensitively() -> None:
    decision = decide(issue(vote("Bob"), vote("bob", "-1")), POLICY, FACTS, [], Standing(), LATER)
    assert decision.votes[0].direction == "both"


def test_bots_and_the_app_and_unknown_accounts_are_excluded() -> None:
    reactions = [
        *ups("b", "c"),
        vote("dependabot[bot]", kind="Bot"),
        vote("townhall[bot]", kind="Bot"),
        vote("", kind="Unknown"),
        vote("", "-1", kind="Unknown"),
    ]
    decision = decide(issue(*reactions), POLICY, FACTS, [], Standing(), LATER)
    assert decision.score == 2
    reasons = sorted(line.reason for line in decision.excluded)
    assert reasons == [
        "Townhall itself",
        "bot account",
        "deleted or unknown account",
        "deleted or unknown account",
    ]


def test_the_author_is_excluded_unless_configured() -> None:
    reactions = [*ups("b", "c"), vote("alice")]
    decision = decide(issue(*reactions), POLICY, FACTS, [], Standing(), LATER)
    assert decision.outcome == "pending"
    assert [line.reason for line in decision.excluded] == ["issue author (count_author is off)"]
    counted = decide(
        issue(*reactions), replace(POLICY, count_author=True), FACTS, [], Standing(), LATER
    )
    assert counted.outcome == "approved"


def test_young_accounts_are_excluded_with_their_age() -> None:
    young = vote("newbie", created=LATER - timedelta(days=12))
    decision = decide(issue(*ups("b", "c"), young), POLICY, FACTS, [], Standing(), LATER)
    assert decision.score == 2
    assert decision.excluded[0].reason == "account 12 days old (minimum 30)"
    relaxed = replace(POLICY, min_account_age_days=10)
    assert decide(issue(*ups("b", "c"), young), relaxed, FACTS, [], Standing(), LATER).score == 3


def test_unknown_account_age_is_excluded_only_when_age_matters() -> None:
    unknown = vote("b", created=None)
    assert decide(issue(unknown), POLICY, FACTS, [], Standing(), LATER).excluded[0].reason == (
        "account age unknown"
    )
    no_minimum = replace(POLICY, min_account_age_days=0)
    assert decide(issue(unknown), no_minimum, FACTS, [], Standing(), LATER).score == 1


def test_maintainer_and_contributor_weights() -> None:
    policy = replace(POLICY, maintainer_weight=2.0, contributor_weight=1.5)
    facts = replace(FACTS, permissions={"m": "write", "r": "read"}, contributors=frozenset({"c"}))
    reactions = [vote("m"), vote("c"), vote("r"), vote("x", "-1")]
    decision = decide(issue(*reactions), policy, facts, [], Standing(), LATER)
    assert decision.score == 2.0 + 1.5 + 1.0 - 1.0
    by_login = {line.login: line for line in decision.votes}
    assert by_login["m"].weight == 2.0
    assert by_login["m"].reason == "maintainer, weight 2"
    assert by_login["c"].reason == "past contributor, weight 1.5"
    assert by_login["x"].value == -1.0
    assert decision.outcome == "approved"


def test_decay_halves_a_vote_per_half_life() -> None:
    policy = replace(POLICY, decay_half_life_days=10.0, threshold=2.0)
    fresh = LATER - timedelta(hours=1)
    old = LATER - timedelta(days=10)
    reactions = [vote("b", at=old), vote("c", at=old), vote("d", at=fresh)]
    decision = decide(issue(*reactions), policy, FACTS, [], Standing(), LATER)
    assert decision.score == pytest.approx(0.5 + 0.5 + 0.5 ** (1 / 240), abs=1e-6)
    assert decision.outcome == "pending"  # without decay these three would pass 2
    assert "decayed to 50%" in decision.votes[0].reason
    no_decay = decide(
        issue(*reactions), replace(policy, decay_half_life_days=0), FACTS, [], Standing(), LATER
    )
    assert no_decay.outcome == "approved"


def test_a_veto_beats_any_vote_count() -> None:
    veto = MaintainerAct("maint", "reject", "command", OPENED + timedelta(hours=2))
    reactions = ups(*(f"user{i}" for i in range(50)))
    decision = decide(issue(*reactions), POLICY, FACTS, [veto], Standing(), LATER)
    assert decision.outcome == "rejected"
    assert decision.score == 50
    assert decision.reasons == ("vetoed by maint (command) on 2026-01-01 02:00 UTC",)


def test_a_veto_reaction_counts_only_from_a_maintainer() -> None:
    policy = replace(POLICY, veto_reaction="confused")
    reactions = [*ups("b", "c", "d"), vote("stranger", "confused")]
    decision = decide(issue(*reactions), policy, FACTS, [], Standing(), LATER)
    assert decision.outcome == "approved"
    assert decision.signals[0].reason == "not a maintainer (needs write access)"
    facts = replace(FACTS, permissions={"stranger": "write"})
    assert decide(issue(*reactions), policy, facts, [], Standing(), LATER).outcome == "rejected"


def test_a_maintainer_approval_skips_threshold_and_window() -> None:
    early = OPENED + timedelta(minutes=5)
    rocket = vote("maint", "rocket", at=early)
    facts = replace(FACTS, permissions={"maint": "admin"})
    decision = decide(issue(rocket), POLICY, facts, [], Standing(), early)
    assert decision.outcome == "approved"
    assert decision.reasons[0].startswith("approved by maint (reaction)")


def test_the_latest_maintainer_signal_wins_and_a_tie_goes_to_the_veto() -> None:
    t = OPENED + timedelta(hours=3)
    approve = MaintainerAct("m1", "approve", "command", t)
    reject = MaintainerAct("m2", "reject", "label", t)
    later_approve = MaintainerAct("m1", "approve", "command", t + timedelta(minutes=1))
    assert (
        decide(issue(), POLICY, FACTS, [approve, reject], Standing(), LATER).outcome == "rejected"
    )
    lifted = decide(issue(), POLICY, FACTS, [approve, reject, later_approve], Standing(), LATER)
    assert lifted.outcome == "approved"
    assert [s.effective for s in lifted.signals] == [False, False, True]


def test_required_maintainer_approval_holds_back_votes() -> None:
    policy = replace(POLICY, require_maintainer_approval=True)
    reactions = ups("b", "c", "d")
    waiting = decide(issue(*reactions), policy, FACTS, [], Standing(), LATER)
    assert waiting.outcome == "pending"
    assert waiting.reasons == ("votes reached the threshold; waiting for a maintainer's approval",)
    approve = MaintainerAct("m", "approve", "command", LATER)
    assert decide(issue(*reactions), policy, FACTS, [approve], Standing(), LATER).outcome == (
        "approved"
    )


def test_votes_down_to_minus_threshold_reject_and_void_the_approval() -> None:
    reactions = [vote(x, "-1") for x in ("b", "c", "d")]
    approved = Standing("approved", body_hash("Add dark mode", "please"))
    decision = decide(issue(*reactions), POLICY, FACTS, [], approved, LATER)
    assert decision.outcome == "rejected"
    assert decision.approved_body_hash is None


def test_approval_is_sticky_when_votes_fall_back() -> None:
    approved = Standing("approved", body_hash("Add dark mode", "please"))
    decision = decide(issue(*ups("b")), POLICY, FACTS, [], approved, LATER)
    assert decision.outcome == "approved"
    assert decision.reasons == ("approved earlier; stays approved unless vetoed or voted down",)


def test_text_changed_after_approval_holds_until_confirmed() -> None:
    approved = Standing("approved", body_hash("Add dark mode", "please"))
    edited = issue(*ups("b", "c", "d"), body="please, and also delete the database")
    held = decide(edited, POLICY, FACTS, [], approved, LATER)
    assert held.outcome == "held"
    assert held.held_since == LATER
    assert held.approved_body_hash == approved.approved_body_hash  # still bound to the old text
    assert "changed after approval" in held.reasons[0]

    # Old votes do not confirm the new text; the hold keeps its start time.
    next_sweep = LATER + timedelta(hours=1)
    standing = Standing("held", approved.approved_body_hash, LATER)
    still = decide(edited, POLICY, FACTS, [], standing, next_sweep)
    assert still.outcome == "held"
    assert still.held_since == LATER

    # A maintainer approving after the change confirms it, bound to the new text.
    approve = MaintainerAct("m", "approve", "command", LATER + timedelta(minutes=30))
    confirmed = decide(edited, POLICY, FACTS, [approve], standing, next_sweep)
    assert confirmed.outcome == "approved"
    assert confirmed.approved_body_hash == body_hash(edited.title, edited.body)
    assert confirmed.held_since is None


def test_text_changed_then_new_votes_confirm() -> None:
    approved_hash = body_hash("Add dark mode", "please")
    standing = Standing("held", approved_hash, LATER)
    after = LATER + timedelta(hours=1)
    fresh = [vote(x, at=after) for x in ("x", "y", "z")]
    edited = issue(*ups("b", "c", "d"), *fresh, title="Add dark mode everywhere")
    decision = decide(edited, POLICY, FACTS, [], standing, after + timedelta(hours=1))
    assert decision.outcome == "approved"
    assert decision.reasons == ("votes cast after the text changed reached the threshold (3)",)
    strict = replace(POLICY, require_maintainer_approval=True)
    assert decide(edited, strict, FACTS, [], standing, after).outcome == "held"


def test_restoring_the_approved_text_lifts_the_hold() -> None:
    standing = Standing("held", body_hash("Add dark mode", "please"), LATER)
    decision = decide(issue(), POLICY, FACTS, [], standing, LATER + timedelta(days=1))
    assert decision.outcome == "approved"


def test_a_veto_also_beats_a_hold() -> None:
    standing = Standing("held", body_hash("x", "y"), LATER)
    veto = MaintainerAct("m", "reject", "command", LATER)
    assert decide(issue(), POLICY, FACTS, [veto], standing, LATER).outcome == "rejected"


def test_no_votes_never_pass_even_with_a_zero_threshold() -> None:
    policy = replace(POLICY, threshold=0.0)
    assert decide(issue(), policy, FACTS, [], Standing(), LATER).outcome == "pending"
    assert decide(issue(vote("b")), policy, FACTS, [], Standing(), LATER).outcome == "approved"


def test_reactions_outside_up_and_down_are_ignored() -> None:
    decision = decide(
        issue(vote("b", "heart"), vote("c", "eyes")), POLICY, FACTS, [], Standing(), LATER
    )
    assert decision.votes == ()
    assert not decision.has_activity
