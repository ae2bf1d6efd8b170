"""Upserts that keep installation, repository, issue and pull request rows current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from app.clock import Clock
from app.store.db import Tx
from app.store.times import to_db

TOWNHALL_BRANCH_PREFIX = "townhall/issue-"


def body_hash(title: str, body: str | None) -> str:
    """Fingerprint an issue's text, so an edit after approval is noticed."""
    return hashlib.sha256(f"{title}\0{body or ''}".encode()).hexdigest()


def upsert_installation_tx(tx: Tx, clock: Clock, installation: dict[str, Any]) -> None:
    """Record an installation (created, or seen again)."""
    account = installation.get("account") or {}
    tx.execute(
        "INSERT INTO installations (id, account_login, account_type, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " account_login = excluded.account_login, account_type = excluded.account_type,"
        " deleted_at = NULL",
        (
            installation["id"],
            account.get("login", ""),
            account.get("type", "Organization"),
            to_db(clock.now()),
        ),
    )


def mark_installation_tx(tx: Tx, clock: Clock, installation_id: int, column: str) -> None:
    """Set `deleted_at` or `suspended_at` now, or clear `suspended_at` (column='unsuspended')."""
    if column == "unsuspended":
        tx.execute("UPDATE installations SET suspended_at = NULL WHERE id = ?", (installation_id,))
        tx.execute("UPDATE repos SET active = 1 WHERE installation_id = ?", (installation_id,))
        return
    if column not in {"deleted_at", "suspended_at"}:
        raise ValueError(f"unknown installation mark {column!r}")
    tx.execute(
        f"UPDATE installations SET {column} = ? WHERE id = ?",  # noqa: S608 - checked above
        (to_db(clock.now()), installation_id),
    )
    tx.execute("UPDATE repos SET active = 0 WHERE installation_id = ?", (installation_id,))


def upsert_repo_tx(tx: Tx, clock: Clock, installation_id: int, repository: dict[str, Any]) -> int:
    """Record a repository of an installation as active; return its id."""
    now = to_db(clock.now())
    tx.execute(
        "INSERT INTO repos (id, installation_id, full_name, default_branch, active, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " installation_id = excluded.installation_id, full_name = excluded.full_name,"
        " default_branch = CASE WHEN excluded.default_branch = '' THEN repos.default_branch"
        " ELSE excluded.default_branch END, active = 1, updated_at = excluded.updated_at",
        (
            repository["id"],
            installation_id,
            repository["full_name"],
            repository.get("default_branch") or "",
            now,
            now,
        ),
    )
    return int(repository["id"])


def deactivate_repos_tx(tx: Tx, clock: Clock, repo_ids: Iterable[int]) -> None:
    """Mark repositories removed from an installation as inactive (their history is kept)."""
    for repo_id in repo_ids:
        tx.execute(
            "UPDATE repos SET active = 0, updated_at = ? WHERE id = ?",
            (to_db(clock.now()), repo_id),
        )


def ensure_installation_tx(tx: Tx, clock: Clock, payload: dict[str, Any]) -> int | None:
    """Make sure the payload's installation and repository rows exist; return the repo id."""
    installation = payload.get("installation")
    repository = payload.get("repository")
    if not isinstance(installation, dict) or not isinstance(repository, dict):
        return None
    tx.execute(
        "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (installation["id"], repository["owner"]["login"], to_db(clock.now())),
    )
    return upsert_repo_tx(tx, clock, installation["id"], repository)


def upsert_issue_tx(
    tx: Tx, clock: Clock, repo_id: int, issue: dict[str, Any], state: str | None = None
) -> None:
    """Record an issue's current title, body, author, state and labels."""
    labels = sorted(label["name"] for label in issue.get("labels") or [])
    title = issue.get("title") or ""
    body = issue.get("body") or ""
    tx.execute(
        "INSERT INTO issues (repo_id, number, title, body, body_hash, author, state, labels,"
        " is_pull_request, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, number) DO UPDATE SET title = excluded.title,"
        " body = excluded.body, body_hash = excluded.body_hash, state = excluded.state,"
        " labels = excluded.labels, updated_at = excluded.updated_at",
        (
            repo_id,
            issue["number"],
            title,
            body,
            body_hash(title, body),
            (issue.get("user") or {}).get("login", "ghost"),
            state or issue.get("state", "open"),
            json.dumps(labels),
            1 if issue.get("pull_request") else 0,
            issue.get("created_at") or to_db(clock.now()),
            issue.get("updated_at") or to_db(clock.now()),
        ),
    )


def issue_number_of_branch(ref: str) -> int | None:
    """Return N for Townhall's branch `townhall/issue-N`, else None."""
    if not ref.startswith(TOWNHALL_BRANCH_PREFIX):
        return None
    tail = ref.removeprefix(TOWNHALL_BRANCH_PREFIX)
    return int(tail) if tail.isdigit() else None


def upsert_pull_request_tx(tx: Tx, clock: Clock, repo_id: int, pull: dict[str, Any]) -> int | None:
    """Record a pull request on a Townhall branch; return its task id (None if not Townhall's)."""
    head_ref = pull["head"]["ref"]
    issue_number = issue_number_of_branch(head_ref)
    if issue_number is None:
        return None
    task_id = tx.scalar(
        "SELECT id FROM tasks WHERE repo_id = ? AND issue_number = ?", (repo_id, issue_number)
    )
    state = "merged" if pull.get("merged") else pull["state"]
    tx.execute(
        "INSERT INTO pull_requests (repo_id, number, task_id, head_ref, head_sha, base_ref, state,"
        " merged, merge_sha, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, number) DO UPDATE SET task_id = excluded.task_id,"
        " head_sha = excluded.head_sha, state = excluded.state, merged = excluded.merged,"
        " merge_sha = excluded.merge_sha, updated_at = excluded.updated_at",
        (
            repo_id,
            pull["number"],
            task_id,
            head_ref,
            pull["head"]["sha"],
            pull["base"]["ref"],
            state,
            1 if pull.get("merged") else 0,
            pull.get("merge_commit_sha"),
            to_db(clock.now()),
        ),
    )
    if task_id is not None and state == "open":
        # Only an open PR is the task's current one: a late event about a superseded draft
        # must not point the task back at it.
        tx.execute(
            "UPDATE tasks SET pr_number = ?, head_sha = ?, branch = ? WHERE id = ?"
            " AND (pr_number IS NULL OR pr_number = ? OR state NOT IN ('pr_open', 'reviewing'))",
            (pull["number"], pull["head"]["sha"], head_ref, task_id, pull["number"]),
        )
    return None if task_id is None else int(task_id)
