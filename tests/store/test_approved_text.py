"""The task's snapshot of its issue's approved text, and when the task is held."""

from __future__ import annotations

from pathlib import Path

from app.clock import SystemClock
from app.store import Store, Tx
from app.store.issue_tasks import (
    APPROVAL_CHANGED,
    NO_APPROVED_TEXT,
    TEXT_CHANGED,
    ApprovedText,
    approved_text_tx,
    task_hold_tx,
)
from app.store.issues import IssueRecord, body_hash, upsert_issue_tx
from app.store.migrations import MIGRATIONS, apply_migrations
from app.store.tasks import create_task_tx, tasks_to_plan

CLOCK = SystemClock()


def _seed(tx: Tx) -> None:
    tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
    tx.execute(
        "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
        " VALUES (1, 1, 'o/r', '', '')"
    )


def _issue(tx: Tx, body: str, title: str = "Fix it") -> None:
    upsert_issue_tx(tx, CLOCK, 1, IssueRecord(7, title, body, "alice"))


def _task(tx: Tx, approved: ApprovedText | None = None) -> int:
    return create_task_tx(
        tx, CLOCK, repo_id=1, issue_number=7, max_attempts=3, priority=1, actor="t",
        reason="approved", approved=approved,
    ).id  # fmt: skip


async def test_a_task_keeps_the_text_it_was_approved_with(store: Store) -> None:
    def run(tx: Tx) -> tuple[ApprovedText | None, str | None]:
        _seed(tx)
        _issue(tx, "the approved body")
        task_id = _task(tx)
        _issue(tx, "an edited body")
        return approved_text_tx(tx, task_id), task_hold_tx(tx, task_id)

    text, hold = await store.run(run)
    assert text == ApprovedText(
        "Fix it", "the approved body", body_hash("Fix it", "the approved body")
    )
    assert hold == TEXT_CHANGED
    [planned] = await tasks_to_plan(store, 1)
    assert (planned.title, planned.body) == ("Fix it", "the approved body")


async def test_why_a_task_is_held(store: Store) -> None:
    def run(tx: Tx) -> list[str | None]:
        _seed(tx)
        _issue(tx, "body")
        task_id = _task(tx)
        approved = body_hash("Fix it", "body")
        reasons = [task_hold_tx(tx, task_id), task_hold_tx(tx, task_id, approved)]
        reasons.append(task_hold_tx(tx, task_id, body_hash("Fix it", "older body")))
        _issue(tx, "body", title="Fix it now")  # the title counts as much as the body
        reasons.append(task_hold_tx(tx, task_id))
        _issue(tx, "body")  # restored
        reasons.append(task_hold_tx(tx, task_id))
        tx.execute("UPDATE issues SET decision = 'held', decision_reason = 'held by the sweep'")
        reasons.append(task_hold_tx(tx, task_id))
        return reasons

    assert await store.run(run) == [
        None, None, APPROVAL_CHANGED, TEXT_CHANGED, None, "held by the sweep",
    ]  # fmt: skip


async def test_a_task_without_a_recorded_issue_has_no_snapshot_and_waits(store: Store) -> None:
    def run(tx: Tx) -> str | None:
        _seed(tx)
        return task_hold_tx(tx, _task(tx))

    assert await store.run(run) == NO_APPROVED_TEXT
    assert await tasks_to_plan(store, 1) == []


def test_the_migration_keeps_the_approved_text_of_existing_tasks(tmp_path: Path) -> None:
    import libsql

    connection = libsql.connect(str(tmp_path / "old.db"), isolation_level=None)
    before = tuple((v, script) for v, script in MIGRATIONS if v < 7)
    apply_migrations(connection, before)
    connection.execute("INSERT INTO installations VALUES (1, 'o', 'Organization', '', NULL, NULL)")
    connection.execute(
        "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
        " VALUES (1, 1, 'o/r', '', '')"
    )
    approved, edited = body_hash("A", "approved"), body_hash("B", "edited")
    for number, title, body, current in (
        (1, "A", "approved", approved),
        (2, "B", "edited", edited),
    ):
        connection.execute(
            "INSERT INTO issues (repo_id, number, title, body, body_hash, author, decision,"
            " approved_body_hash, created_at, updated_at)"
            " VALUES (1, ?, ?, ?, ?, 'alice', ?, ?, '', '')",
            (number, title, body, current, "approved" if number == 1 else "held", approved),
        )
        connection.execute(
            "INSERT INTO tasks (repo_id, issue_number, state, approved_at, created_at,"
            " updated_at) VALUES (1, ?, 'queued', '', '', '')",
            (number,),
        )
    apply_migrations(connection, MIGRATIONS)
    rows = connection.execute(
        "SELECT issue_number, approved_title, approved_body, approved_hash FROM tasks"
        " ORDER BY issue_number"
    ).fetchall()
    connection.close()
    # The held issue's live text was never approved: its task waits for approval again.
    assert [tuple(row) for row in rows] == [(1, "A", "approved", approved), (2, None, None, None)]
