"""Tell people when a task needs them: one comment per time a task reaches needs_human."""

from __future__ import annotations

from functools import partial

from app.ceo.deps import RepoView, TickDeps
from app.github.bot_comments import BotComments
from app.store.attempts import attempt_summaries
from app.store.tasks import NEEDS_HUMAN_TOLD, record_event, tasks_needing_human

MARKER = "<!-- townhall:needs-human:{event} -->"

NEEDS_HUMAN_COMMENT = """\
🙋 **Townhall needs a person for this issue.** {reason}

| attempt | outcome | ended |
| --- | --- | --- |
{rows}

The attempts' logs are in `townhall task {task_id}` and on the dashboard. A maintainer can
adjust the issue and comment `/townhall retry` to give it another attempt."""


async def notify_needs_human(deps: TickDeps, repo: RepoView) -> list[int]:
    """Comment on issues whose task reached needs_human since the last such comment."""
    told: list[int] = []
    for task in await tasks_needing_human(deps.store, repo.id):
        if task.already_told:
            continue
        attempts = await attempt_summaries(deps.store, task.id)
        table = (
            "\n".join(
                f"| {a.number} | {a.outcome or 'running'} | {a.ended_at or ''} |" for a in attempts
            )
            or "| – | no attempt ran | |"
        )
        # The marker names the hand-off, so a tick that died between posting and recording
        # finds its comment instead of posting it again.
        marker = MARKER.format(event=task.reached)
        body = NEEDS_HUMAN_COMMENT.format(reason=task.reason, rows=table, task_id=task.id)
        comments = BotComments(repo.client, repo.owner, repo.name, deps.app_login)
        await comments.post_once(task.issue_number, marker, f"{marker}\n{body}")
        await deps.store.run(
            partial(
                record_event,
                clock=deps.clock,
                actor="ceo",
                kind=NEEDS_HUMAN_TOLD,
                task_id=task.id,
                repo_id=repo.id,
                issue_number=task.issue_number,
                reason="commented on the issue",
            )
        )
        told.append(task.id)
    return told
