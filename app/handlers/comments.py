"""`/townhall ...` commands in issue comments: permission-checked, applied and answered once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import parse_timestamp
from app.commands import (
    HELP_TEXT,
    NOT_PERMITTED_TEXT,
    PRIVILEGED,
    RECORDED_TEXT,
    REPLIES_PER_HOUR,
    REPLY_MARKER,
    UNKNOWN_TEXT,
    Command,
    Verb,
    echoed,
    parse_command,
)
from app.github.bot_comments import BotComments
from app.github.client import Client
from app.store import Tx
from app.store.decisions import add_maintainer_decision_tx, decided_by_comment_tx
from app.store.handled_comments import (
    CommandComment,
    claim_comment_tx,
    handled_comment_tx,
    record_reply,
    save_reply_body_tx,
)
from app.store.issue_tasks import task_of_issue_tx
from app.store.pulls import ROLE_HOLDERS
from app.store.tasks import record_event, transition_tx
from app.store.votes import issue_vote_tx
from app.taskstate import TERMINAL, TaskState
from app.webhooks.handler_context import HandlerContext, ensure_repository_tx, is_bot, repo_of
from app.webhooks.permissions import api_lookup
from app.webhooks.router import Router

router = Router()

RETRYABLE = (TaskState.NEEDS_HUMAN, TaskState.FAILED, TaskState.CHANGES_REQUESTED)


@dataclass(frozen=True)
class IssueComment:
    """A comment on an issue, as its webhook delivers it or GitHub's comment listing returns it."""

    owner: str
    name: str
    issue_number: int
    comment_id: int
    login: str
    body: str
    author_association: str | None
    created_at: datetime | None

    @classmethod
    def from_github(
        cls, owner: str, name: str, issue_number: int, comment: dict[str, Any]
    ) -> IssueComment:
        """Read a comment in GitHub's shape (the webhook's and the REST listing's are alike)."""
        created = comment.get("created_at")
        return cls(
            owner=owner,
            name=name,
            issue_number=issue_number,
            comment_id=int(comment["id"]),
            login=str((comment.get("user") or {}).get("login", "")),
            body=str(comment.get("body") or ""),
            author_association=comment.get("author_association"),
            created_at=parse_timestamp(created) if created else None,
        )


@dataclass(frozen=True)
class _Reply:
    body: str
    retried: bool  # an earlier try got this far: the reply may be posted already


RepoIdTx = Callable[[Tx], int | None]


@router.register("issue_comment", "created")
async def on_comment(context: HandlerContext, payload: dict[str, Any]) -> None:
    """Run the comment's command, if it has one, and reply on the issue."""
    comment = payload["comment"]
    if is_bot(comment.get("user")) or is_bot(payload.get("sender")):
        return  # Townhall's own replies and other bots never issue commands.
    owner, repo = repo_of(payload)
    seen = IssueComment.from_github(owner, repo, payload["issue"]["number"], comment)
    await answer_comment(context, seen, lambda tx: ensure_repository_tx(tx, context.clock, payload))


async def answer_comment(context: HandlerContext, seen: IssueComment, repo_id_tx: RepoIdTx) -> None:
    """Run a comment's command once, whichever path (webhook, redelivery, catch-up) brings it.

    An unknown verb from someone without write access gets no reply at all, and people
    without write access get at most REPLIES_PER_HOUR replies an hour. The command is applied
    and its reply saved in the claim's transaction; the reply starts with a marker naming the
    comment, so a retry after a crash finds a reply already posted instead of posting another.
    """
    command = parse_command(seen.body)
    if command is None:
        return
    # One open client for the lookup and the reply (githubkit reconnects per call otherwise).
    async with await context.client() as client:
        maintainer = await _has_write(context, client, seen)
        if command.verb == Verb.UNKNOWN and not maintainer:
            return  # nothing useful to say, and a reply would only repeat their words
        limit = None if maintainer else REPLIES_PER_HOUR
        reply = await context.store.run(
            lambda tx: _claim_and_decide(tx, context, seen, command, maintainer, limit, repo_id_tx)
        )
        if reply is None:
            return  # answered already (a redelivery, or a retry after the reply), or silenced
        marker = REPLY_MARKER.format(comment_id=seen.comment_id)
        if reply.retried:
            app_login = await context.github.app_login()
            comments = BotComments(client, seen.owner, seen.name, app_login)
            reply_id = await comments.post_once(seen.issue_number, marker, reply.body)
        else:
            response = await client.rest.issues.async_create_comment(
                seen.owner, seen.name, seen.issue_number, data={"body": reply.body}
            )
            reply_id = response.parsed_data.id
    await record_reply(context.store, seen.comment_id, reply_id)


async def _has_write(context: HandlerContext, client: Client, seen: IssueComment) -> bool:
    """Tell whether the commenter has write access to the repository.

    Write access comes with a role on the repository, which the comment's author_association
    shows: without one, no API call is needed to say no.
    """
    association = seen.author_association
    if association is not None and association not in ROLE_HOLDERS:
        return False
    lookup = api_lookup(client)
    return await context.permissions.is_maintainer(seen.owner, seen.name, seen.login, lookup)


def _claim_and_decide(
    tx: Tx,
    context: HandlerContext,
    seen: IssueComment,
    command: Command,
    maintainer: bool,
    replies_per_hour: int | None,
    repo_id_tx: RepoIdTx,
) -> _Reply | None:
    """Claim the comment, apply its command and save the reply; None: answered or silenced."""
    repo_id = repo_id_tx(tx)
    if repo_id is None:
        return None
    earlier = handled_comment_tx(tx, seen.comment_id)
    claim = CommandComment(
        comment_id=seen.comment_id,
        repo_id=repo_id,
        issue_number=seen.issue_number,
        login=seen.login,
        command=command.verb,
    )
    if not claim_comment_tx(tx, context.clock, claim, replies_per_hour):
        return None
    if earlier is not None and earlier.reply_body is not None:
        return _Reply(earlier.reply_body, retried=True)
    # A decision already recorded for this comment means an earlier try got this far too.
    retried = earlier is not None or decided_by_comment_tx(tx, seen.comment_id)
    text = _reply_text(tx, context, repo_id, seen, command, maintainer)
    body = f"{REPLY_MARKER.format(comment_id=seen.comment_id)}\n{text}"
    save_reply_body_tx(tx, seen.comment_id, body)
    return _Reply(body, retried=retried)


def _reply_text(
    tx: Tx,
    context: HandlerContext,
    repo_id: int,
    seen: IssueComment,
    command: Command,
    maintainer: bool,
) -> str:
    """Carry the command out (privileged ones only for maintainers); return what to say."""
    if command.verb in PRIVILEGED:
        if not maintainer:
            return NOT_PERMITTED_TEXT.format(login=seen.login, command=echoed(command))
        return _apply(tx, context, repo_id, seen, command)
    if command.verb == Verb.STATUS:
        return _status(tx, repo_id, seen.issue_number)
    if command.verb == Verb.HELP:
        return HELP_TEXT
    return UNKNOWN_TEXT.format(command=echoed(command))


def _apply(
    tx: Tx, context: HandlerContext, repo_id: int, seen: IssueComment, command: Command
) -> str:
    """Record a maintainer's approve/reject/retry once per comment; return the reply text."""
    login, issue_number = seen.login, seen.issue_number
    task = task_of_issue_tx(tx, repo_id, issue_number)
    decision = {Verb.APPROVE: "approve", Verb.REJECT: "reject"}.get(command.verb, "retry")
    if decision == "retry" and (task is None or task.state not in RETRYABLE):
        state = "no task" if task is None else f"its task is {task.state}"
        return f"Nothing to retry: this issue has {state}."
    first = add_maintainer_decision_tx(
        tx, context.clock, repo_id, issue_number, login, decision, source="command",
        comment_id=seen.comment_id, made_at=seen.created_at,
    )  # fmt: skip
    if not first:
        return RECORDED_TEXT.format(verb=decision, login=login, effect="(recorded earlier)")
    if decision == "retry":
        assert task is not None
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
