"""Issue rows: each issue's current title, body, author, state and labels."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.store.db import Tx
from app.store.times import to_db


def body_hash(title: str, body: str | None) -> str:
    """Fingerprint an issue's text, so an edit after approval is noticed."""
    return hashlib.sha256(f"{title}\0{body or ''}".encode()).hexdigest()


@dataclass(frozen=True)
class IssueRecord:
    """An issue as GitHub last described it; times are stored text (None: now)."""

    number: int
    title: str
    body: str
    author: str
    state: str = "open"
    labels: tuple[str, ...] = ()
    is_pull_request: bool = False
    created_at: str | None = None
    updated_at: str | None = None

    @staticmethod
    def from_github(issue: Mapping[str, Any], state: str | None = None) -> IssueRecord:
        """Read a REST issue (webhook payload); `state` overrides GitHub's (deleted, ...)."""
        return IssueRecord(
            number=int(issue["number"]),
            title=issue.get("title") or "",
            body=issue.get("body") or "",
            author=(issue.get("user") or {}).get("login", "ghost"),
            state=state or issue.get("state", "open"),
            labels=tuple(sorted(label["name"] for label in issue.get("labels") or [])),
            is_pull_request=bool(issue.get("pull_request")),
            created_at=issue.get("created_at"),
            updated_at=issue.get("updated_at"),
        )


def upsert_issue_tx(tx: Tx, clock: Clock, repo_id: int, issue: IssueRecord) -> None:
    """Record an issue's current title, body, author, state and labels."""
    now = to_db(clock.now())
    tx.execute(
        "INSERT INTO issues (repo_id, number, title, body, body_hash, author, state, labels,"
        " is_pull_request, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, number) DO UPDATE SET title = excluded.title,"
        " body = excluded.body, body_hash = excluded.body_hash, state = excluded.state,"
        " labels = excluded.labels, updated_at = excluded.updated_at",
        (
            repo_id,
            issue.number,
            issue.title,
            issue.body,
            body_hash(issue.title, issue.body),
            issue.author,
            issue.state,
            json.dumps(sorted(issue.labels)),
            1 if issue.is_pull_request else 0,
            issue.created_at or now,
            issue.updated_at or now,
        ),
    )
