"""Maintainer decisions: approve or reject an issue, by command, label or reaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.store.db import Tx
from app.store.times import from_db, to_db


@dataclass(frozen=True)
class MaintainerDecision:
    """A maintainer's standing approve or reject of one issue."""

    issue_number: int
    login: str
    decision: str
    source: str
    created_at: datetime


def add_maintainer_decision_tx(
    tx: Tx,
    clock: Clock,
    repo_id: int,
    issue_number: int,
    login: str,
    decision: str,
    source: str,
    *,
    comment_id: int | None = None,
    made_at: datetime | None = None,
) -> bool:
    """Record a maintainer's decision of an issue, from `command` or `label`; False if known.

    A command's decision is recorded once per command comment (`comment_id`), whichever path
    (its webhook, a redelivery, the tick's catch-up) gets there first. `made_at` is when it
    was made on GitHub, so the latest of a command and a label wins whenever each is seen.
    """
    moment = made_at if made_at is not None else clock.now()
    changed = tx.execute(
        "INSERT INTO maintainer_decisions (repo_id, issue_number, login, decision, source,"
        " comment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (comment_id) WHERE comment_id IS NOT NULL DO NOTHING",
        (repo_id, issue_number, login, decision, source, comment_id, to_db(moment)),
    )
    return changed == 1


def decided_by_comment_tx(tx: Tx, comment_id: int) -> bool:
    """Tell whether the command in comment `comment_id` was recorded as a decision already."""
    row = tx.fetchone(
        "SELECT 1 AS found FROM maintainer_decisions WHERE comment_id = ?", (comment_id,)
    )
    return row is not None


def standing_label_decision_tx(
    tx: Tx, repo_id: int, issue_number: int, login: str, decision: str
) -> bool:
    """Tell whether `login`'s label `decision` on the issue stands (was added, not removed)."""
    row = tx.fetchone(
        "SELECT 1 AS found FROM maintainer_decisions WHERE repo_id = ? AND issue_number = ?"
        " AND login = ? AND decision = ? AND source = 'label' AND withdrawn_at IS NULL",
        (repo_id, issue_number, login, decision),
    )
    return row is not None


def withdraw_label_decisions_tx(
    tx: Tx, clock: Clock, repo_id: int, issue_number: int, decision: str
) -> int:
    """Withdraw an issue's standing `decision`s made by label (the label was removed).

    Return how many were withdrawn (0: the removal was seen already, or nothing stood).
    """
    return tx.execute(
        "UPDATE maintainer_decisions SET withdrawn_at = ? WHERE repo_id = ?"
        " AND issue_number = ? AND source = 'label' AND decision = ? AND withdrawn_at IS NULL",
        (to_db(clock.now()), repo_id, issue_number, decision),
    )


def standing_decisions_tx(tx: Tx, repo_id: int) -> list[MaintainerDecision]:
    """Return a repository's approvals and rejections not withdrawn, oldest first."""
    rows = tx.fetchall(
        "SELECT issue_number, login, decision, source, created_at FROM maintainer_decisions"
        " WHERE repo_id = ? AND decision IN ('approve', 'reject') AND withdrawn_at IS NULL"
        " ORDER BY id",
        (repo_id,),
    )
    return [
        MaintainerDecision(
            issue_number=row["issue_number"],
            login=row["login"],
            decision=row["decision"],
            source=row["source"],
            created_at=from_db(row["created_at"]),
        )
        for row in rows
    ]
