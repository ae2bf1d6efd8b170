"""Store side of the votes: what an issue's history says, and each decision with its task change.

A decision, its audit snapshot, the current votes and the task it creates or cancels are written
in one transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.clock import Clock, format_timestamp, parse_timestamp
from app.store import Tx
from app.store.decisions import standing_decisions_tx
from app.store.issue_tasks import (
    APPROVAL_CHANGED,
    ApprovedText,
    IssueTask,
    approved_text_tx,
    issue_hold_tx,
    set_approved_text_tx,
    set_task_priority_tx,
    task_of_issue_tx,
)
from app.store.issues import IssueRecord, upsert_issue_tx
from app.store.tasks import create_task_tx, record_event, transition_tx
from app.store.votes import (
    IssueDecisionRecord,
    IssueVoteRecord,
    VoteRecord,
    add_snapshot_tx,
    issue_votes_tx,
    record_issue_decision_tx,
    replace_votes_tx,
)
from app.taskstate import TERMINAL, TaskState
from app.votes.ballots import (
    Decision,
    IssueSnapshot,
    MaintainerAct,
    Standing,
    Verdict,
    VoteStatus,
)

ACTOR = "townhall-votes"
# Tasks not yet started follow the vote score, which is their scheduling priority.
_REPRIORITISED = (TaskState.APPROVED, TaskState.PLANNED, TaskState.QUEUED)
_SETTLED: dict[str, VoteStatus] = {"approved": "approved", "rejected": "rejected", "held": "held"}


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


def _memory(record: IssueVoteRecord, acts: Sequence[MaintainerAct]) -> IssueMemory:
    return IssueMemory(
        standing=Standing(
            _SETTLED.get(record.decision, "pending"),
            record.approved_body_hash,
            record.held_since,
        ),
        acts=tuple(acts),
        tally_comment_id=record.tally_comment_id,
        tally_fingerprint=record.tally_fingerprint,
        labels_applied=record.labels_applied,
        snapshot_fingerprint=record.snapshot_fingerprint,
    )


def load_memory_tx(tx: Tx, repo_id: int) -> dict[int, IssueMemory]:
    """Return every known issue's standing, active maintainer acts and published fingerprints."""
    acts: dict[int, list[MaintainerAct]] = {}
    for made in standing_decisions_tx(tx, repo_id):
        verdict: Verdict = "approve" if made.decision == "approve" else "reject"
        act = MaintainerAct(made.login, verdict, made.source, made.created_at)
        acts.setdefault(made.issue_number, []).append(act)
    memory = {
        record.number: _memory(record, acts.pop(record.number, []))
        for record in issue_votes_tx(tx, repo_id)
    }
    for number, issue_acts in acts.items():  # commands on issues no sweep has seen yet
        memory[number] = IssueMemory(acts=tuple(issue_acts))
    return memory


def _issue_record(issue: IssueSnapshot) -> IssueRecord:
    """Describe a swept issue as its row: open, with GitHub's timestamps."""
    return IssueRecord(
        number=issue.number,
        title=issue.title,
        body=issue.body,
        author=issue.author,
        state="open",
        labels=issue.labels,
        created_at=format_timestamp(issue.created_at),
        updated_at=format_timestamp(issue.updated_at),
    )


def _vote_records(explanation: dict[str, Any]) -> list[VoteRecord]:
    """Read the votes back from the explanation, so the rows match the stored snapshot."""
    return [
        VoteRecord(
            login=vote["login"],
            contents=tuple(vote["contents"]),
            weight=vote["weight"],
            counted=vote["counted"],
            reason=vote["reason"],
            reacted_at=parse_timestamp(vote["reacted_at"]),
        )
        for vote in explanation["votes"]
    ]


def _apply_task_tx(
    tx: Tx, clock: Clock, repo_id: int, decided: Decided, max_attempts: int
) -> str | None:
    """Create, revive, reprioritise or cancel the issue's task; return what was done.

    An approval records the text it was given for on the task: planning, attempts and reviews
    read that snapshot, never the live issue.
    """
    decision = decided.decision
    number = decision.number
    task = task_of_issue_tx(tx, repo_id, number)
    reason = "; ".join(decision.reasons)
    if decision.outcome == "approved":
        approved = ApprovedText.of(decided.issue.title, decided.issue.body)
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
                approved=approved,
            )
            return "task created"
        if task.state == TaskState.CANCELLED:
            set_approved_text_tx(tx, clock, task.id, approved)
            transition_tx(
                tx,
                clock,
                task.id,
                TaskState.APPROVED,
                actor=ACTOR,
                reason=reason,
                priority=decision.score,
            )
            return "task approved again"
        recorded = approved_text_tx(tx, task.id)
        if task.state not in TERMINAL and (recorded is None or recorded.hash != approved.hash):
            return _approve_new_text_tx(tx, clock, repo_id, number, task, approved, decided)
        if task.state in _REPRIORITISED and task.priority != decision.score:
            set_task_priority_tx(tx, clock, task.id, decision.score)
        return None
    if decision.outcome == "rejected" and task is not None and task.state not in TERMINAL:
        transition_tx(tx, clock, task.id, TaskState.CANCELLED, actor=ACTOR, reason=reason)
        return "task cancelled"
    return None


def _approve_new_text_tx(
    tx: Tx,
    clock: Clock,
    repo_id: int,
    number: int,
    task: IssueTask,
    approved: ApprovedText,
    decided: Decided,
) -> str:
    """Record newly approved text; work begun from other text starts again from planning.

    A plan, an attempt or a PR made for the old text does not answer the new one, so the task
    goes back to `approved` (through `cancelled`, the state machine's way back) and its open
    PR, if any, is replaced by the next attempt's.
    """
    reason, score = "; ".join(decided.decision.reasons), decided.decision.score
    set_approved_text_tx(tx, clock, task.id, approved)
    record_event(
        tx, clock, actor=ACTOR, kind="approved_text", reason=reason, task_id=task.id,
        repo_id=repo_id, issue_number=number,
    )  # fmt: skip
    if task.state == TaskState.APPROVED:
        return "approved text recorded"
    if task.state != TaskState.NEEDS_HUMAN:
        transition_tx(tx, clock, task.id, TaskState.CANCELLED, actor=ACTOR, reason=APPROVAL_CHANGED)
    transition_tx(
        tx, clock, task.id, TaskState.APPROVED, actor=ACTOR, reason=reason, priority=score
    )
    return "task planned again for the newly approved text"


def _record_one_tx(
    tx: Tx, clock: Clock, repo_id: int, sweep_id: int, decided: Decided, now: datetime
) -> None:
    """Write one issue's row, decision and (when its explanation changed) votes and snapshot."""
    decision, memory = decided.decision, decided.memory
    upsert_issue_tx(tx, clock, repo_id, _issue_record(decided.issue))
    record = IssueDecisionRecord(
        number=decision.number,
        decision=decision.outcome,
        reason="; ".join(decision.reasons),
        score=decision.score,
        approved_body_hash=decision.approved_body_hash,
        held_since=decision.held_since,
    )
    record_issue_decision_tx(tx, repo_id, record, swept_at=now)
    if decided.explanation_fingerprint != memory.snapshot_fingerprint:
        replace_votes_tx(tx, repo_id, decision.number, _vote_records(decided.explanation))
        add_snapshot_tx(
            tx,
            sweep_id=sweep_id,
            repo_id=repo_id,
            decision=record,
            body_hash=decision.body_hash,
            explanation=decided.explanation,
            fingerprint=decided.explanation_fingerprint,
            taken_at=now,
        )


def record_decisions_tx(
    tx: Tx,
    clock: Clock,
    repo_id: int,
    sweep_id: int,
    batch: Sequence[Decided],
    max_attempts: int,
) -> list[tuple[int, str, str]]:
    """Write a batch of decisions; return (issue, old decision, new decision) for each change."""
    now = clock.now()
    changes: list[tuple[int, str, str]] = []
    for decided in batch:
        decision = decided.decision
        number = decision.number
        _record_one_tx(tx, clock, repo_id, sweep_id, decided, now)
        previous = decided.memory.standing.decision
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
        _apply_task_tx(tx, clock, repo_id, decided, max_attempts)
    return changes


def hold_reason_tx(tx: Tx, repo_id: int, number: int) -> str | None:
    """Return why an issue's task must wait for approval to be confirmed again, or None.

    Held while the sweep holds the issue, and as soon as its recorded text differs from the
    text the task was approved with (an edit the next sweep has yet to judge).
    """
    return issue_hold_tx(tx, repo_id, number)
