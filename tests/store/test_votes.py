"""The votes' rows: decisions and what was shown round-trip as records; snapshots accumulate."""

from __future__ import annotations

from datetime import timedelta

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.decisions import (
    add_maintainer_decision_tx,
    standing_decisions_tx,
    withdraw_label_decisions_tx,
)
from app.store.handled_comments import CommandComment, claim_comment_tx, record_reply
from app.store.issue_tasks import set_task_priority_tx, task_of_issue_tx
from app.store.issues import IssueRecord, body_hash, upsert_issue_tx
from app.store.tasks import create_task_tx
from app.store.votes import (
    IssueDecisionRecord,
    SweepFigures,
    VoteRecord,
    add_snapshot_tx,
    finish_sweep_tx,
    issue_vote_tx,
    issue_votes_tx,
    record_issue_decision_tx,
    replace_votes_tx,
    save_labels_applied_tx,
    save_tally_tx,
    snapshots_tx,
    start_sweep_tx,
)
from app.taskstate import TaskState


def _repo_with_issue(store: Store, clock: ManualClock) -> None:
    def create(tx: Tx) -> None:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        upsert_issue_tx(tx, clock, 1, IssueRecord(5, "Add dark mode", "please", "alice"))

    store.run_sync(create)


def test_a_decision_and_what_was_shown_read_back(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)
    held = IssueDecisionRecord(5, "held", "text changed", 3.5, "abc", clock.now())

    def record(tx: Tx) -> None:
        record_issue_decision_tx(tx, 1, held, swept_at=clock.now())
        save_tally_tx(tx, 1, 5, comment_id=77, fingerprint="f1")
        save_labels_applied_tx(tx, 1, 5, ["townhall:held"])

    store.run_sync(record)
    remembered = store.run_sync(lambda tx: issue_vote_tx(tx, 1, 5))
    assert remembered is not None
    assert (remembered.decision, remembered.decision_reason, remembered.score) == (
        "held",
        "text changed",
        3.5,
    )
    assert (remembered.approved_body_hash, remembered.held_since) == ("abc", clock.now())
    assert (remembered.tally_comment_id, remembered.tally_fingerprint) == (77, "f1")
    assert remembered.labels_applied == ("townhall:held",)
    assert store.run_sync(lambda tx: issue_votes_tx(tx, 1)) == [remembered]
    assert store.run_sync(lambda tx: issue_vote_tx(tx, 1, 6)) is None


def test_a_fresh_issue_has_no_published_record(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)
    fresh = store.run_sync(lambda tx: issue_vote_tx(tx, 1, 5))
    assert fresh is not None
    assert (fresh.decision, fresh.labels_applied, fresh.held_since) == ("pending", None, None)
    stored = store.run_sync(lambda tx: tx.scalar("SELECT body_hash FROM issues"))
    assert stored == body_hash("Add dark mode", "please")


def test_snapshots_accumulate_and_votes_are_replaced(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)
    vote = VoteRecord("bob", ("+1",), 1.0, True, "counted", clock.now())

    def sweep(tx: Tx, score: float, votes: list[VoteRecord]) -> None:
        sweep_id = start_sweep_tx(tx, clock, 1, "all open issues")
        decision = IssueDecisionRecord(5, "pending", "window open", score, None, None)
        replace_votes_tx(tx, 1, 5, votes)
        add_snapshot_tx(
            tx,
            sweep_id=sweep_id,
            repo_id=1,
            decision=decision,
            body_hash="h",
            explanation={"score": score},
            fingerprint=f"fp{score}",
            taken_at=clock.now(),
        )
        finish_sweep_tx(tx, clock, sweep_id, SweepFigures(1, 0, 1, 1, 0))

    store.run_sync(
        lambda tx: sweep(tx, 1.0, [vote, VoteRecord("", ("-1",), 1, False, "x", clock.now())])
    )
    clock.advance(timedelta(minutes=5))
    store.run_sync(lambda tx: sweep(tx, 2.0, [vote]))
    snapshots = store.run_sync(lambda tx: snapshots_tx(tx, 1, 5))
    assert [snapshot.explanation for snapshot in snapshots] == [{"score": 1.0}, {"score": 2.0}]
    assert snapshots[0].taken_at < snapshots[1].taken_at
    logins = store.run_sync(lambda tx: tx.fetchall("SELECT login FROM votes"))
    assert logins == [{"login": "bob"}]
    remembered = store.run_sync(lambda tx: issue_vote_tx(tx, 1, 5))
    assert remembered is not None and remembered.snapshot_fingerprint == "fp2.0"


def test_removing_a_label_withdraws_only_label_decisions(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)

    def decide(tx: Tx) -> None:
        add_maintainer_decision_tx(tx, clock, 1, 5, "maya", "approve", "label")
        add_maintainer_decision_tx(tx, clock, 1, 5, "max", "approve", "command")
        add_maintainer_decision_tx(tx, clock, 1, 6, "maya", "reject", "label")
        withdraw_label_decisions_tx(tx, clock, 1, 5, "approve")

    store.run_sync(decide)
    standing = store.run_sync(lambda tx: standing_decisions_tx(tx, 1))
    assert [(d.issue_number, d.login, d.decision, d.source) for d in standing] == [
        (5, "max", "approve", "command"),
        (6, "maya", "reject", "label"),
    ]
    assert standing[0].created_at == clock.now()


async def test_a_comment_is_claimed_until_its_reply_is_recorded(
    store: Store, clock: ManualClock
) -> None:
    _repo_with_issue(store, clock)
    comment = CommandComment(900, 1, 5, "alice", "status")
    assert store.run_sync(lambda tx: claim_comment_tx(tx, clock, comment))
    # A retry before the reply was posted may answer it.
    assert store.run_sync(lambda tx: claim_comment_tx(tx, clock, comment))
    await record_reply(store, 900, 901)
    assert not store.run_sync(lambda tx: claim_comment_tx(tx, clock, comment))


def test_replies_to_one_person_are_limited_per_hour(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)

    def claim(comment_id: int, login: str = "alice") -> bool:
        comment = CommandComment(comment_id, 1, 5, login, "status")
        return store.run_sync(lambda tx: claim_comment_tx(tx, clock, comment, 2))

    assert [claim(1), claim(2), claim(3)] == [True, True, False]
    assert claim(3) is False  # a silenced command stays unanswered when redelivered
    assert claim(4, "ALICE") is False and claim(5, "bob") is True
    clock.advance(timedelta(hours=1))
    assert claim(6) is True


def test_an_issues_task_is_found_and_reprioritised(store: Store, clock: ManualClock) -> None:
    _repo_with_issue(store, clock)
    assert store.run_sync(lambda tx: task_of_issue_tx(tx, 1, 5)) is None
    task = store.run_sync(
        lambda tx: create_task_tx(
            tx, clock, repo_id=1, issue_number=5, max_attempts=3, priority=1, actor="t", reason="r"
        )
    )
    store.run_sync(lambda tx: set_task_priority_tx(tx, clock, task.id, 4.5))
    found = store.run_sync(lambda tx: task_of_issue_tx(tx, 1, 5))
    assert found is not None
    assert (found.id, found.state, found.priority, found.max_attempts) == (
        task.id,
        TaskState.APPROVED,
        4.5,
        3,
    )


def test_issue_payloads_read_into_records() -> None:
    issue = {
        "number": 5,
        "title": "T",
        "body": None,
        "user": {"login": "alice"},
        "state": "open",
        "labels": [{"name": "b"}, {"name": "a"}],
        "pull_request": {"url": "x"},
        "created_at": "2026-01-01T00:00:00Z",
    }
    record = IssueRecord.from_github(issue, "deleted")
    assert record == IssueRecord(
        5, "T", "", "alice", "deleted", ("a", "b"), True, "2026-01-01T00:00:00Z", None
    )
    assert IssueRecord.from_github({"number": 1}).author == "ghost"
