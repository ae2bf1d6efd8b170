"""What open PRs change: actual files next to each task's predicted files.

The CEO records a PR's files when it lists open PRs, keeping them with the head SHA they were
listed at so a PR's files are listed again only when its head moves; the scheduler learns
from predicted versus actual files, and the review step holds a PR whose files collide with
an earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from app.store.db import Store, Tx
from app.taskstate import TaskState


def changed_files_known_tx(tx: Tx, repo_id: int, number: int) -> bool:
    """Whether a PR's changed files were recorded before (a new PR has none)."""
    files = tx.scalar(
        "SELECT changed_files FROM pull_requests WHERE repo_id = ? AND number = ?",
        (repo_id, number),
    )
    return files is not None and files != "[]"


def set_changed_files_tx(tx: Tx, repo_id: int, number: int, changed: Iterable[str]) -> None:
    """Record the files a PR actually changes."""
    tx.execute(
        "UPDATE pull_requests SET changed_files = ? WHERE repo_id = ? AND number = ?",
        (json.dumps(sorted(changed)), repo_id, number),
    )


@dataclass(frozen=True)
class ListedFiles:
    """An open PR's changed files as GitHub listed them at one head commit."""

    number: int
    head_sha: str
    files: frozenset[str]


async def listed_files(store: Store, repo_id: int) -> dict[int, ListedFiles]:
    """Return the files last listed for each open PR of a repository, by PR number."""
    rows = await store.fetchall(
        "SELECT number, head_sha, files FROM open_pull_files WHERE repo_id = ?", (repo_id,)
    )
    return {
        r["number"]: ListedFiles(r["number"], r["head_sha"], frozenset(json.loads(r["files"])))
        for r in rows
    }


def remember_listed_files_tx(tx: Tx, repo_id: int, listed: ListedFiles) -> None:
    """Keep an open PR's files with the head SHA they were listed at."""
    tx.execute(
        "INSERT INTO open_pull_files (repo_id, number, head_sha, files) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (repo_id, number) DO UPDATE SET head_sha = excluded.head_sha,"
        " files = excluded.files",
        (repo_id, listed.number, listed.head_sha, json.dumps(sorted(listed.files))),
    )


def keep_listed_files_tx(tx: Tx, repo_id: int, numbers: Iterable[int]) -> None:
    """Forget the listed files of every PR of a repository but `numbers` (the open ones)."""
    tx.execute(
        "DELETE FROM open_pull_files WHERE repo_id = ?"
        " AND number NOT IN (SELECT value FROM json_each(?))",
        (repo_id, json.dumps(sorted(set(numbers)))),
    )


@dataclass(frozen=True)
class ReviewablePull:
    """An open PR of a task in pr_open, with the files it changes."""

    number: int
    task_id: int
    changed_files: frozenset[str]


async def reviewable_pulls(store: Store, repo_id: int) -> list[ReviewablePull]:
    """Return a repository's open PRs whose task waits for a review."""
    rows = await store.fetchall(
        "SELECT p.number, p.task_id, p.changed_files FROM pull_requests p"
        " JOIN tasks t ON t.id = p.task_id"
        " WHERE p.repo_id = ? AND p.state = 'open' AND t.state = ?",
        (repo_id, TaskState.PR_OPEN),
    )
    return [
        ReviewablePull(r["number"], r["task_id"], frozenset(json.loads(r["changed_files"] or "[]")))
        for r in rows
    ]


@dataclass(frozen=True)
class PredictedAndChanged:
    """One Townhall PR: the files its task predicted and the files it changed."""

    number: int
    predicted: tuple[str, ...]
    changed: tuple[str, ...]


async def predicted_and_changed(store: Store, repo_id: int) -> list[PredictedAndChanged]:
    """Return a repository's Townhall PRs whose files are known, oldest update first."""
    rows = await store.fetchall(
        "SELECT p.number, t.predicted_files, p.changed_files FROM pull_requests p"
        " JOIN tasks t ON t.id = p.task_id WHERE p.repo_id = ? AND p.changed_files != '[]'"
        " ORDER BY p.updated_at",
        (repo_id,),
    )
    return [
        PredictedAndChanged(
            r["number"],
            tuple(json.loads(r["predicted_files"] or "[]")),
            tuple(json.loads(r["changed_files"])),
        )
        for r in rows
    ]
