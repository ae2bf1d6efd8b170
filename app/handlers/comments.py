"""`/townhall ...` commands in issue comments, permission-checked, answered once each."""

from __future__ import annotations

from typing import Any

from app.commands import (
    HELP_TEXT,
    NOT_PERMITTED_TEXT,
    PRIVILEGED,
    RECORDED_TEXT,
    UNKNOWN_TEXT,
    Command,
    Verb,
    parse_command,
)
from app.store import Tx
from app.store.decisions import add_maintainer_decision_tx
from app.store.handled_comments import claim_comment_tx, record_reply
from app.store.issue_tasks import task_of_issue_tx
from app.store.tasks import record_event, transition_tx
from app.store.votes import issue_vote_tx
from app.taskstate import TERMINAL, TaskState
from app.webhooks.handler_context import HandlerContext, ensure_repository_tx, is_bot, repo_of
from app.webhooks.permissions import api_lookup
from app.webhooks.router import Router

router = Router()

RETRYABLE = (TaskState.NEEDS_HUMAN, TaskState.FAILED, TaskState.CHANGES_REQUESTED)


@router.register("issue_comment", "created")
async def on_comment(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Run the comment's command, if it has one, and reply on the issue."""
    comment = payload["comment"]
    if is_bot(comment.get("user")) or is_bot(payload.get("sender")):
        return  # Townhall's own replies and other bots never issue commands.
    command = parse_command(comment.get("body") or "")
    if command is None:
        return
    owner, repo = repo_of(payload)
    issue_number = payload["issue"]["number"]
    login = comment["user"]["login"]

    claimed = await context.store.run(
        lambda tx: _claim_comment(tx, context, payload, command, comment["id"])
    )
    if claimed is None:
        return  # already answered (a redelivery, or a retry after the reply was posted)
    repo_id = claimed

    # One open client for the lookup and the reply (githubkit reconnects per call otherwise).
    async with await context.client() as client:
        if command.verb in PRIVILEGED:
            lookup = api_lookup(client)
            if not await context.permissions.is_maintainer(owner, repo, login, lookup):
                reply = NOT_PERMITTED_TEXT.format(login=login, word=command.word)
            else:
                reply = await context.store.run(
                    lambda tx: _apply(tx, context, repo_id, issue_number, login, command)
                )
        elif command.verb == Verb.STATUS:
            reply = await context.store.run(lambda tx: _status(tx, repo_id, issue_number))
        elif command.verb == Verb.HELP:
            reply = HELP_TEXT
        else:
            reply = UNKNOWN_TEXT.format(word=command.word)

        response = await client.rest.issues.async_create_comment(
            owner, repo, issue_number, data={"body": reply}
        )
        await record_reply(context.store, comment["id"], response.parsed_data.id)


def _claim_comment(
    tx: Tx, context: HandlerContext, payload: dict[str, Any], command: Command, comment_id: int
) -> int | None:
    """Mark the comment as being handled; None when a reply was already posted for it."""
    repo_id = ensure_repository_tx(tx, context.clock, payload)
    if repo_id is None:
        return None
    issue_number = payload["issue"]["number"]
    if not claim_comment_tx(tx, context.clock, comment_id, repo_id, issue_number, command.verb):
        return None
    return repo_id


def _apply(
    tx: Tx, context: HandlerContext, repo_id: int, issue_number: int, login: str, command: Command
) -> str:
    """Record a maintainer's approve/reject/retry; return the reply text."""
    task = task_of_issue_tx(tx, repo_id, issue_number)
    if command.verb == Verb.RETRY:
        if task is None or task.state not in RETRYABLE:
            state = "no task" if task is None else f"its task is {task.state}"
            return f"Nothing to retry: this issue has {state}."
        transition_tx(
            tx,
            context.clock,
            task.id,
            TaskState.QUEUED,
            actor=login,
            reason=f"/townhall retry {command.reason}".strip(),
            max_attempts=max(task.max_attempts, task.attempt + 1),
        )
        return RECORDED_TEXT.format(
            verb="retry", login=login, effect="The task is back in the queue."
        )
    decision = "approve" if command.verb == Verb.APPROVE else "reject"
    add_maintainer_decision_tx(
        tx, context.clock, repo_id, issue_number, login, decision, source="command"
    )
    record_event(
        tx,
        context.clock,
        actor=login,
        kind=f"maintainer_{decision}",
        repo_id=repo_id,
        issue_number=issue_number,
        reason=command.reason or "/townhall command",
    )
    if decision == "approve":
        effect = "The issue counts as approved at the next vote sweep."
    else:
        effect = "The issue is vetoed: no vote count will approve it."
        if task is not None and task.state not in TERMINAL:
            transition_tx(
                tx,
                context.clock,
                task.id,
                TaskState.CANCELLED,
                actor=login,
                reason="vetoed with /townhall reject",
            )
            effect += " Its task was cancelled."
    return RECORDED_TEXT.format(verb=decision, login=login, effect=effect)


def _status(tx: Tx, repo_id: int, issue_number: int) -> str:
    """Describe where the issue stands: its vote decision and its task."""
    issue = issue_vote_tx(tx, repo_id, issue_number)
    task = task_of_issue_tx(tx, repo_id, issue_number)
    lines = ["**Townhall status**", ""]
    if issue is None:
        lines.append("- votes: not swept yet")
    else:
        reason = f" ({issue.decision_reason})" if issue.decision_reason else ""
        lines.append(f"- votes: score {issue.score:g}, {issue.decision}{reason}")
    if task is None:
        lines.append("- task: none yet")
    else:
        line = f"- task: {task.state}, attempt {task.attempt} of {task.max_attempts}"
        if task.pr_number:
            line += f", PR #{task.pr_number}"
        if task.waiting_reason:
            line += f"; waiting: {task.waiting_reason}"
        lines.append(line)
    return "\n".join(lines)
