"""A task's notes across attempts: one entry per attempt, read back by the next attempt."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.store import Tx
from app.store.times import to_db


@dataclass(frozen=True)
class Note:
    """One attempt's entry."""

    attempt: int
    kind: str
    text: str


def read_notes_tx(tx: Tx, task_id: int) -> list[Note]:
    """Every note of a task, oldest first."""
    rows = tx.fetchall(
        "SELECT attempt, kind, text FROM task_notes WHERE task_id = ? ORDER BY id", (task_id,)
    )
    return [Note(int(row["attempt"]), str(row["kind"]), str(row["text"])) for row in rows]


def add_note_tx(tx: Tx, clock: Clock, task_id: int, note: Note) -> None:
    """Append one note."""
    tx.execute(
        "INSERT INTO task_notes (task_id, attempt, kind, text, created_at) VALUES (?, ?, ?, ?, ?)",
        (task_id, note.attempt, note.kind, note.text, to_db(clock.now())),
    )
