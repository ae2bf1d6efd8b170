"""Tell people when a task needs them: one comment per time a task reaches needs_human."""

from __future__ import annotations

from functools import partial

from app.ceo.deps import RepoView, TickDeps
from app.ceo.reconcile import all_pages
from app.store.tasks import record_event

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
    rows = await deps.store.fetchall(
        "SELECT t.id, t.issue_number,"
        " (SELECT MAX(e.id) FROM events e WHERE e.task_id = t.id AND e.to_state = 'needs_human')"
        " AS reached,"
        " (SELECT MAX(e.id) FROM events e WHERE e.task_id = t.id AND e.kind = 'needs_human_told')"
        " AS told,"
        " (SELECT e.reason FROM events e WHERE e.task_id = t.id AND e.to_state = 'needs_human'"
        " ORDER BY e.id DESC LIMIT 1) AS reason"
        " FROM tasks t WHERE t.repo_id = ? AND t.state = 'needs_human'",
        (repo.id,),
    )
    told: list[int] = []
    for row in rows:
        if row["told"] is not None and row["told"] > row["reached"]:
            continue
        attempts = await deps.store.fetchall(
            "SELECT number, outcome, ended_at FROM attempts WHERE task_id = ? ORDER BY number",
            (row["id"],),
        )
        table = (
            "\n".join(
                f"| {a['number']} | {a['outcome'] or 'running'} | {a['ended_at'] or ''} |"
                for a in attempts
            )
            or "| – | no attempt ran | |"
        )
        # The marker names the hand-off, so a tick that died between posting and recording
        # finds its comment instead of posting it again.
        marker = MARKER.format(event=row["reached"])
        body = NEEDS_HUMAN_COMMENT.format(reason=row["reason"], rows=table, task_id=row["id"])
        issues = repo.client.rest.issues
        posted = await all_pages(
            issues.async_list_comments, repo.owner, repo.name, row["issue_number"]
        )
        if not any(marker in (comment.body or "") for comment in posted):
            await issues.async_create_comment(
                repo.owner, repo.name, row["issue_number"], data={"body": f"{marker}\n{body}"}
            )
        await deps.store.run(
            partial(
                record_event,
                clock=deps.clock,
                actor="ceo",
                kind="needs_human_told",
                task_id=row["id"],
                repo_id=repo.id,
                issue_number=row["issue_number"],
                reason="commented on the issue",
            )
        )
        told.append(row["id"])
    return told
