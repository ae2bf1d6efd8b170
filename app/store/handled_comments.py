"""Handled comments: each `/townhall` command is answered once, even when redelivered."""

from __future__ import annotations

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import to_db


def claim_comment_tx(
    tx: Tx, clock: Clock, comment_id: int, repo_id: int, issue_number: int, command: str
) -> bool:
    """Mark a command comment as being handled; False when a reply was already posted for it."""
    row = tx.fetchone(
        "SELECT reply_comment_id FROM handled_comments WHERE comment_id = ?", (comment_id,)
    )
    if row is None:
        tx.execute(
            "INSERT INTO handled_comments (comment_id, repo_id, issue_number, command,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (comment_id, repo_id, issue_number, command, to_db(clock.now())),
        )
        return True
    return row["reply_comment_id"] is None


async def record_reply(store: Store, comment_id: int, reply_comment_id: int) -> None:
    """Remember the reply posted to a command, so a redelivery does not answer it again."""
    await store.execute(
        "UPDATE handled_comments SET reply_comment_id = ? WHERE comment_id = ?",
        (reply_comment_id, comment_id),
    )
