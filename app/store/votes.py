"""The votes' rows: sweeps, each issue's decision and what was shown, votes and snapshots.

A sweep writes one audit row (`vote_sweeps`); per issue it keeps the decision on the `issues`
row, the current votes (`votes`), and an explanation snapshot (`vote_snapshots`) whenever the
explanation changed, so `townhall votes` can say why an issue stands where it does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.store.db import Row, Tx
from app.store.times import from_db, to_db


@dataclass(frozen=True)
class SweepFigures:
    """What one sweep saw, changed and cost, as stored on its audit row."""

    issues: int
    changed: int
    graphql_requests: int
    graphql_cost: int
    rest_requests: int


@dataclass(frozen=True)
class IssueVoteRecord:
    """What the store remembers of an issue's vote: its decision and what Townhall showed."""

    number: int
    decision: str
    decision_reason: str
    score: float
    approved_body_hash: str | None
    held_since: datetime | None
    tally_comment_id: int | None
    tally_fingerprint: str | None
    labels_applied: tuple[str, ...] | None
    snapshot_fingerprint: str | None


@dataclass(frozen=True)
class IssueDecisionRecord:
    """An issue's decision as one sweep made it."""

    number: int
    decision: str
    reason: str
    score: float
    approved_body_hash: str | None
    held_since: datetime | None


@dataclass(frozen=True)
class VoteRecord:
    """How one person's reactions on an issue were counted."""

    login: str
    contents: tuple[str, ...]
    weight: float
    counted: bool
    reason: str
    reacted_at: datetime


@dataclass(frozen=True)
class VoteSnapshot:
    """A stored explanation of one issue's decision, and when it was taken (stored text)."""

    taken_at: str
    explanation: dict[str, Any]


def start_sweep_tx(tx: Tx, clock: Clock, repo_id: int, scope: str) -> int:
    """Open an audit row for one sweep; return its id."""
    return tx.insert(
        "INSERT INTO vote_sweeps (repo_id, scope, started_at) VALUES (?, ?, ?)",
        (repo_id, scope, to_db(clock.now())),
    )


def finish_sweep_tx(tx: Tx, clock: Clock, sweep_id: int, figures: SweepFigures) -> None:
    """Close a sweep's audit row with what it saw and what it cost."""
    tx.execute(
        "UPDATE vote_sweeps SET finished_at = ?, issues = ?, changed = ?, graphql_requests = ?,"
        " graphql_cost = ?, rest_requests = ? WHERE id = ?",
        (
            to_db(clock.now()),
            figures.issues,
            figures.changed,
            figures.graphql_requests,
            figures.graphql_cost,
            figures.rest_requests,
            sweep_id,
        ),
    )


def issue_votes_tx(tx: Tx, repo_id: int) -> list[IssueVoteRecord]:
    """Return what the store remembers of every known issue's vote in a repository."""
    rows = tx.fetchall(
        "SELECT number, decision, decision_reason, score, approved_body_hash, held_since,"
        " tally_comment_id, tally_fingerprint, labels_applied, snapshot_fingerprint"
        " FROM issues WHERE repo_id = ?",
        (repo_id,),
    )
    return [_issue_vote(row) for row in rows]


def issue_vote_tx(tx: Tx, repo_id: int, number: int) -> IssueVoteRecord | None:
    """Return what the store remembers of one issue's vote, or None when it is not known."""
    row = tx.fetchone(
        "SELECT number, decision, decision_reason, score, approved_body_hash, held_since,"
        " tally_comment_id, tally_fingerprint, labels_applied, snapshot_fingerprint"
        " FROM issues WHERE repo_id = ? AND number = ?",
        (repo_id, number),
    )
    return None if row is None else _issue_vote(row)


def _issue_vote(row: Row) -> IssueVoteRecord:
    labels = row["labels_applied"]
    return IssueVoteRecord(
        number=row["number"],
        decision=row["decision"],
        decision_reason=row["decision_reason"],
        score=row["score"],
        approved_body_hash=row["approved_body_hash"],
        held_since=from_db(row["held_since"]) if row["held_since"] else None,
        tally_comment_id=row["tally_comment_id"],
        tally_fingerprint=row["tally_fingerprint"],
        labels_applied=tuple(json.loads(labels)) if labels is not None else None,
        snapshot_fingerprint=row["snapshot_fingerprint"],
    )


def record_issue_decision_tx(
    tx: Tx, repo_id: int, decision: IssueDecisionRecord, swept_at: datetime
) -> None:
    """Store an issue's decision, its reason and score, and when the sweep made it."""
    tx.execute(
        "UPDATE issues SET decision = ?, decision_reason = ?, score = ?,"
        " approved_body_hash = ?, held_since = ?, swept_at = ?"
        " WHERE repo_id = ? AND number = ?",
        (
            decision.decision,
            decision.reason,
            decision.score,
            decision.approved_body_hash,
            to_db(decision.held_since) if decision.held_since else None,
            to_db(swept_at),
            repo_id,
            decision.number,
        ),
    )


def replace_votes_tx(tx: Tx, repo_id: int, number: int, votes: Sequence[VoteRecord]) -> None:
    """Replace an issue's stored votes with the current ones."""
    tx.execute("DELETE FROM votes WHERE repo_id = ? AND issue_number = ?", (repo_id, number))
    for index, vote in enumerate(votes):
        tx.execute(
            "INSERT INTO votes (repo_id, issue_number, login, content, weight, counted, reason,"
            " reacted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                repo_id,
                number,
                vote.login or f"(unknown #{index})",
                ",".join(vote.contents),
                vote.weight,
                1 if vote.counted else 0,
                vote.reason,
                to_db(vote.reacted_at),
            ),
        )


def add_snapshot_tx(
    tx: Tx,
    *,
    sweep_id: int,
    repo_id: int,
    decision: IssueDecisionRecord,
    body_hash: str,
    explanation: dict[str, Any],
    fingerprint: str,
    taken_at: datetime,
) -> None:
    """Store a new explanation of an issue's decision and remember its fingerprint."""
    tx.execute(
        "INSERT INTO vote_snapshots (sweep_id, repo_id, issue_number, taken_at, decision,"
        " score, body_hash, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sweep_id,
            repo_id,
            decision.number,
            to_db(taken_at),
            decision.decision,
            decision.score,
            body_hash,
            json.dumps(explanation, sort_keys=True),
        ),
    )
    tx.execute(
        "UPDATE issues SET snapshot_fingerprint = ? WHERE repo_id = ? AND number = ?",
        (fingerprint, repo_id, decision.number),
    )


def snapshots_tx(tx: Tx, repo_id: int, number: int) -> list[VoteSnapshot]:
    """Return every stored explanation of an issue's decision, oldest first."""
    rows = tx.fetchall(
        "SELECT taken_at, explanation FROM vote_snapshots"
        " WHERE repo_id = ? AND issue_number = ? ORDER BY id",
        (repo_id, number),
    )
    return [VoteSnapshot(row["taken_at"], json.loads(row["explanation"])) for row in rows]


def save_tally_tx(tx: Tx, repo_id: int, number: int, comment_id: int, fingerprint: str) -> None:
    """Remember the tally comment shown on an issue and the fingerprint of its body."""
    tx.execute(
        "UPDATE issues SET tally_comment_id = ?, tally_fingerprint = ?"
        " WHERE repo_id = ? AND number = ?",
        (comment_id, fingerprint, repo_id, number),
    )


def save_labels_applied_tx(tx: Tx, repo_id: int, number: int, labels: Sequence[str]) -> None:
    """Remember which of Townhall's labels the issue carries now."""
    tx.execute(
        "UPDATE issues SET labels_applied = ? WHERE repo_id = ? AND number = ?",
        (json.dumps(sorted(labels)), repo_id, number),
    )
