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
    tx: Tx, clock: Clock, repo_id: int, issue_number: int, login: str, decision: str, source: str
) -> None:
    """Record a maintainer's `approve` or `reject` of an issue, from `command` or `label`."""
    tx.execute(
        "INSERT INTO maintainer_decisions (repo_id, issue_number, login, decision, source,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (repo_id, issue_number, login, decision, source, to_db(clock.now())),
    )


def withdraw_label_decisions_tx(
    tx: Tx, clock: Clock, repo_id: int, issue_number: int, decision: str
) -> None:
    """Withdraw an issue's standing `decision`s made by label (the label was removed)."""
    tx.execute(
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
