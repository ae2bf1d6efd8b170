"""Issue 20, finding 7: a crash after a command's reply was posted never posts it again.

The reply names the command's comment in a hidden marker; the reply and the decision are saved
in the claim's transaction, so a retry finds the reply already posted and applies nothing twice.
"""

from __future__ import annotations

from tests.webhooks.test_end_to_end import OWNER, REPO, Loop, bot_replies, loop

__all__ = ["loop"]  # the fixture, used by name

PAST = "2000-01-01T00:00:00.000000+00:00"


def crash_after_posting(loop: Loop, comment_id: int) -> None:
    """Leave the store as a process killed right after posting the reply would leave it."""
    # The reply's id was never recorded, and the delivery stays claimed by the dead process
    # (its claim long expired), so the inbox hands it to the handler again.
    loop.runtime.store.run_sync(
        lambda tx: tx.execute(
            "UPDATE handled_comments SET reply_comment_id = NULL WHERE comment_id = ?",
            (comment_id,),
        )
    )
    loop.runtime.store.run_sync(
        lambda tx: tx.execute(
            "UPDATE deliveries SET status = 'processing', claimed_until = ?"
            " WHERE event = 'issue_comment' AND json_extract(payload, '$.comment.id') = ?",
            (PAST, comment_id),
        )
    )
    loop.runtime.processor.wake()


def test_a_reply_posted_before_a_crash_is_not_posted_again(loop: Loop) -> None:
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Add dark mode", "Please.")["number"]
    command = loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall approve")
    loop.settle()
    assert len(bot_replies(loop, number)) == 1

    crash_after_posting(loop, command["id"])
    loop.settle()

    replies = bot_replies(loop, number)
    assert len(replies) == 1, replies
    assert replies[0].startswith(f"<!-- townhall:reply:{command['id']} -->")
    decisions = loop.rows("SELECT login, decision, comment_id FROM maintainer_decisions")
    assert decisions == [{"login": "carol", "decision": "approve", "comment_id": command["id"]}]
    handled = loop.rows("SELECT reply_comment_id FROM handled_comments")
    assert handled[0]["reply_comment_id"] is not None
    retried = loop.rows(
        "SELECT tries, status FROM deliveries WHERE event = 'issue_comment'"
        " AND json_extract(payload, '$.comment.id') = ?",
        (command["id"],),
    )
    assert retried == [{"tries": 2, "status": "done"}]  # the handler really ran again


def test_a_reject_whose_handled_record_is_lost_is_answered_and_applied_once(loop: Loop) -> None:
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Add dark mode", "Please.")["number"]
    command = loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall reject no")
    loop.settle()
    # Worse than a lost reply id: the whole record of the comment is gone.
    loop.runtime.store.run_sync(lambda tx: tx.execute("DELETE FROM handled_comments"))
    crash_after_posting(loop, command["id"])
    loop.settle()

    assert len(bot_replies(loop, number)) == 1
    decisions = loop.rows("SELECT decision, comment_id FROM maintainer_decisions")
    assert decisions == [{"decision": "reject", "comment_id": command["id"]}]
    vetoes = loop.rows("SELECT id FROM events WHERE kind = 'maintainer_reject'")
    assert len(vetoes) == 1
