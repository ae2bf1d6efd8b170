"""Handled comments: each `/townhall` command is answered once, and each person only so often.

A reply is a comment Townhall posts in its own name on someone's say-so, so replies to one
person are counted: past the limit their commands are recorded as silenced, not answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from app.clock import Clock
from app.store.db import Store, Tx
from app.store.times import to_db

REPLY_WINDOW = timedelta(hours=1)
RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class CommandComment:
    """A comment that holds a command: where it is, who wrote it, and the verb."""

    comment_id: int
    repo_id: int
    issue_number: int
    login: str
    command: str


def claim_comment_tx(
    tx: Tx, clock: Clock, comment: CommandComment, replies_per_hour: int | None = None
) -> bool:
    """Mark a command comment as being handled; False when it was answered or is silenced.

    With `replies_per_hour`, a comment from someone who was answered that many times within
    the last hour (across repositories) is recorded as silenced and gets no reply, ever.
    """
    row = tx.fetchone(
        "SELECT reply_comment_id, silenced FROM handled_comments WHERE comment_id = ?",
        (comment.comment_id,),
    )
    if row is not None:
        return row["reply_comment_id"] is None and row["silenced"] is None
    now = clock.now()
    login = comment.login.lower()
    silenced = None
    if replies_per_hour is not None:
        answered = tx.scalar(
            "SELECT COUNT(*) FROM handled_comments"
            " WHERE login = ? AND created_at > ? AND silenced IS NULL",
            (login, to_db(now - REPLY_WINDOW)),
        )
        if int(answered or 0) >= replies_per_hour:
            silenced = RATE_LIMITED
    tx.execute(
        "INSERT INTO handled_comments (comment_id, repo_id, issue_number, command, login,"
        " silenced, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            comment.comment_id,
            comment.repo_id,
            comment.issue_number,
            comment.command,
            login,
            silenced,
            to_db(now),
        ),
    )
    return silenced is None


def save_reply_body_tx(tx: Tx, comment_id: int, body: str) -> None:
    """Keep the reply decided for a command, before it is posted (see `handled_comment_tx`)."""
    tx.execute(
        "UPDATE handled_comments SET reply_body = ? WHERE comment_id = ?", (body, comment_id)
    )


@dataclass(frozen=True)
class HandledComment:
    """What is stored about a command comment: its saved reply, whether it was posted."""

    reply_body: str | None
    reply_comment_id: int | None
    silenced: str | None


def handled_comment_tx(tx: Tx, comment_id: int) -> HandledComment | None:
    """Return what an earlier try stored about a command comment, or None: never seen.

    A crash between posting a reply and recording it leaves a saved reply and no reply id:
    the command was applied already, so a retry answers with the same words.
    """
    row = tx.fetchone(
        "SELECT reply_body, reply_comment_id, silenced FROM handled_comments WHERE comment_id = ?",
        (comment_id,),
    )
    if row is None:
        return None
    return HandledComment(row["reply_body"], row["reply_comment_id"], row["silenced"])


def finished_comment_ids_tx(tx: Tx, comment_ids: list[int]) -> set[int]:
    """Return which of `comment_ids` are done with: answered, or silenced."""
    rows = tx.fetchall(
        "SELECT comment_id FROM handled_comments"
        " WHERE comment_id IN (SELECT value FROM json_each(?))"
        " AND (reply_comment_id IS NOT NULL OR silenced IS NOT NULL)",
        (json.dumps(comment_ids),),
    )
    return {int(row["comment_id"]) for row in rows}


async def record_reply(store: Store, comment_id: int, reply_comment_id: int) -> None:
    """Remember the reply posted to a command, so a redelivery does not answer it again."""
    await store.execute(
        "UPDATE handled_comments SET reply_comment_id = ? WHERE comment_id = ?",
        (reply_comment_id, comment_id),
    )
