"""Store side of the votes: what an issue's history says, and each decision with its task change.

A decision, its audit snapshot, the current votes and the task it creates or cancels are written
in one transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock, format_timestamp, parse_timestamp
from app.store import Tx
from app.store.entities import upsert_issue_tx
from app.store.tasks import create_task_tx, record_event, transition_tx
from app.store.times import from_db, to_db
from app.taskstate import TERMINAL, TaskState
from app.votes.ballots import Decision, IssueSnapshot, MaintainerAct, Outcome, Standing

ACTOR = "townhall-votes"
# Tasks not yet started follow the vote score, which is their scheduling priority.
_REPRIORITISED = (TaskState.APPROVED, TaskState.PLANNED, TaskState.QUEUED)


@dataclass(frozen=True)
class IssueMemory:
    """What the store knows about an issue before this sweep decides it."""

    standing: Standing = field(default_factory=Standing)
    acts: tuple[MaintainerAct, ...] = ()
    tally_comment_id: int | None = None
    tally_fingerprint: str | None = None
    labels_applied: tuple[str, ...] | None = None
    snapshot_fingerprint: str | None = None


@dataclass(frozen=True)
class Decided:
    """One issue's decision ready to be written: the snapshot, the decision, its explanation."""

    issue: IssueSnapshot
    decision: Decision
    explanation: dict[str, Any]
    explanation_fingerprint: str
    memory: IssueMemory = field(default_factory=IssueMemory)


def load_memory_tx(tx: Tx, repo_id: int) -> dict[int, IssueMemory]:
    """Return every known issue's standing, active maintainer acts and published fingerprints."""
    acts: dict[int, list[MaintainerAct]] = {}
    for row in tx.fetchall(
        "SELECT issue_number, login, decision, source, created_at FROM maintainer_decisions"
        " WHERE repo_id = ? AND decision IN ('approve', 'reject') AND withdrawn_at IS NULL"
        " ORDER BY id",
        (repo_id,),
    ):
        act = MaintainerAct(
            row["login"], row["decision"], row["source"], from_db(row["created_at"])
        )
        acts.setdefault(row["issue_number"], []).append(act)
    memory: dict[int, IssueMemory] = {}
    for row in tx.fetchall(
        "SELECT number, decision, approved_body_hash, held_since, tally_comment_id,"
        " tally_fingerprint, labels_applied, snapshot_fingerprint FROM issues WHERE repo_id = ?",
        (repo_id,),
    ):
        decision: Outcome = (
            row["decision"] if row["decision"] in {"approved", "rejected", "held"} else "pending"
        )
        labels = row["labels_applied"]
        memory[row["number"]] = IssueMemory(
            standing=Standing(
                decision,
                row["approved_body_hash"],
                from_db(row["held_since"]) if row["held_since"] else None,
            ),
            acts=tuple(acts.pop(row["number"], [])),
            tally_comment_id=row["tally_comment_id"],
            tally_fingerprint=row["tally_fingerprint"],
            labels_applied=tuple(json.loads(labels)) if labels is not None else None,
            snapshot_fingerprint=row["snapshot_fingerprint"],
        )
    for number, issue_acts in acts.items():  # commands on issues no sweep has seen yet
        memory[number] = IssueMemory(acts=tuple(issue_acts))
    return memory


def start_sweep_tx(tx: Tx, clock: Clock, repo_id: int, scope: str) -> int:
    """Open an audit row for one sweep; return its id."""
    return tx.insert(
        "INSERT INTO vote_sweeps (repo_id, scope, started_at) VALUES (?, ?, ?)",
        (repo_id, scope, to_db(clock.now())),
    )


def finish_sweep_tx(tx: Tx, clock: Clock, sweep_id: int, figures: dict[str, int]) -> None:
    """Close a sweep's audit row with what it saw and what it cost."""
    tx.execute(
        "UPDATE vote_sweeps SET finished_at = ?, issues = ?, changed = ?, graphql_requests = ?,"
        " graphql_cost = ?, rest_requests = ? WHERE id = ?",
        (
            to_db(clock.now()),
            figures["issues"],
            figures["changed"],
            figures["graphql_requests"],
            figures["graphql_cost"],
            figures["rest_requests"],
            sweep_id,
        ),
    )


def _issue_payload(issue: IssueSnapshot) -> dict[str, Any]:
    """Shape a snapshot like the REST issue the shared upsert expects."""
    return {
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "user": {"login": issue.author},
        "state": "open",
        "labels": [{"name": name} for name in issue.labels],
        "created_at": format_timestamp(issue.created_at),
        "updated_at": format_timestamp(issue.updated_at),
    }


def _replace_votes_tx(tx: Tx, repo_id: int, decided: Decided) -> None:
    number = decided.issue.number
    tx.execute("DELETE FROM votes WHERE repo_id = ? AND issue_number = ?", (repo_id, number))
    for index, vote in enumerate(decided.explanation["votes"]):
        tx.execute(
            "INSERT INTO votes (repo_id, issue_number, login, content, weight, counted, reason,"
            " reacted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                repo_id,
                number,
                vote["login"] or f"(unknown #{index})",
                ",".join(vote["contents"]),
                vote["weight"],
                1 if vote["counted"] else 0,
                vote["reason"],
                to_db(parse_timestamp(vote["reacted_at"])),
            ),
        )


def _apply_task_tx(
    tx: Tx, clock: Clock, repo_id: int, decision: Decision, max_attempts: int
) -> str | None:
    """Create, revive, reprioritise or cancel the issue's task; return what was done."""
    number = decision.number
    task = tx.fetchone(
        "SELECT id, state, priority FROM tasks WHERE repo_id = ? AND issue_number = ?",
        (repo_id, number),
    )
    reason = "; ".join(decision.reasons)
    if decision.outcome == "approved":
        if task is None:
            create_task_tx(
                tx,
                clock,
                repo_id=repo_id,
                issue_number=number,
                max_attempts=max_attempts,
                priority=decision.score,
                actor=ACTOR,
                reason=reason,
            )
            return "task created"
        if task["state"] == TaskState.CANCELLED:
            transition_tx(
                tx,
                clock,
                task["id"],
                TaskState.APPROVED,
                actor=ACTOR,
                reason=reason,
                priority=decision.score,
            )
            return "task approved again"
        if task["state"] in _REPRIORITISED and task["priority"] != decision.score:
            tx.execute(
                "UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?",
                (decision.score, to_db(clock.now()), task["id"]),
            )
        return None
    if (
        decision.outcome == "rejected"
        and task is not None
        and TaskState(task["state"]) not in TERMINAL
    ):
        transition_tx(tx, clock, task["id"], TaskState.CANCELLED, actor=ACTOR, reason=reason)
        return "task cancelled"
    return None


def record_decisions_tx(
    tx: Tx,
    clock: Clock,
    repo_id: int,
    sweep_id: int,
    batch: Sequence[Decided],
    max_attempts: int,
) -> list[tuple[int, str, str]]:
    """Write a batch of decisions; return (issue, old decision, new decision) for each change."""
    now = to_db(clock.now())
    changes: list[tuple[int, str, str]] = []
    for decided in batch:
        decision, memory = decided.decision, decided.memory
        number = decision.number
        upsert_issue_tx(tx, clock, repo_id, _issue_payload(decided.issue))
        tx.execute(
            "UPDATE issues SET decision = ?, decision_reason = ?, score = ?,"
            " approved_body_hash = ?, held_since = ?, swept_at = ?"
            " WHERE repo_id = ? AND number = ?",
            (
                decision.outcome,
                "; ".join(decision.reasons),
                decision.score,
                decision.approved_body_hash,
                to_db(decision.held_since) if decision.held_since else None,
                now,
                repo_id,
                number,
            ),
        )
        if decided.explanation_fingerprint != memory.snapshot_fingerprint:
            _replace_votes_tx(tx, repo_id, decided)
            tx.execute(
                "INSERT INTO vote_snapshots (sweep_id, repo_id, issue_number, taken_at, decision,"
                " score, body_hash, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sweep_id,
                    repo_id,
                    number,
                    now,
                    decision.outcome,
                    decision.score,
                    decision.body_hash,
                    json.dumps(decided.explanation, sort_keys=True),
                ),
            )
            tx.execute(
                "UPDATE issues SET snapshot_fingerprint = ? WHERE repo_id = ? AND number = ?",
                (decided.explanation_fingerprint, repo_id, number),
            )
        previous = memory.standing.decision
        if decision.outcome != previous:
            changes.append((number, previous, decision.outcome))
            record_event(
                tx,
                clock,
                actor=ACTOR,
                kind=f"issue_{decision.outcome}",
                repo_id=repo_id,
                issue_number=number,
                from_state=previous,
                to_state=decision.outcome,
                reason="; ".join(decision.reasons),
            )
        _apply_task_tx(tx, clock, repo_id, decision, max_attempts)
    return changes


def save_published_tx(
    tx: Tx,
    repo_id: int,
    number: int,
    *,
    comment_id: int | None = None,
    tally_fingerprint: str | None = None,
    labels: Sequence[str] | None = None,
) -> None:
    """Remember what was shown on the issue, so an unchanged next sweep shows nothing again."""
    if comment_id is not None:
        tx.execute(
            "UPDATE issues SET tally_comment_id = ?, tally_fingerprint = ?"
            " WHERE repo_id = ? AND number = ?",
            (comment_id, tally_fingerprint, repo_id, number),
        )
    if labels is not None:
        tx.execute(
            "UPDATE issues SET labels_applied = ? WHERE repo_id = ? AND number = ?",
            (json.dumps(sorted(labels)), repo_id, number),
        )


def hold_reason_tx(tx: Tx, repo_id: int, number: int) -> str | None:
    """Return why an issue is held (its text changed after approval), or None when it is not."""
    row = tx.fetchone(
        "SELECT decision, decision_reason FROM issues WHERE repo_id = ? AND number = ?",
        (repo_id, number),
    )
    if row is None or row["decision"] != "held":
        return None
    return str(row["decision_reason"])
