"""Tell people when a task needs them, and close the pull request it leaves open.

One comment on the issue per time a task reaches needs_human. An open Townhall PR of such a
task would claim its files forever (nobody reviews or merges it any more), so it is closed with
a comment saying why; its branch keeps the work, and a person who reopens the PR takes it
over (Townhall does not close it again for the same hand-off).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from githubkit.exception import RequestFailed

from app.ceo.deps import RepoView, TickDeps
from app.github.bot_comments import BotComments
from app.scheduling import OpenPull
from app.store.attempts import attempt_summaries
from app.store.pulls import PullRequestRecord
from app.store.tasks import (
    NEEDS_HUMAN_TOLD,
    NeedsHumanTask,
    get_task_tx,
    record_event,
    tasks_needing_human,
)

MARKER = "<!-- townhall:needs-human:{event} -->"
PULL_MARKER = "<!-- townhall:needs-human-pull:{event} -->"

NEEDS_HUMAN_COMMENT = """\
🙋 **Townhall needs a person for this issue.** {reason}

| attempt | outcome | ended |
| --- | --- | --- |
{rows}
{pull}
The attempts' logs are in `townhall task {task_id}` and on the dashboard. A maintainer can
adjust the issue and comment `/townhall retry` to give it another attempt."""

PULL_CLOSED_LINE = """
Its pull request #{number} is closed, so it no longer holds up other work; its branch
`{branch}` keeps the work. Reopen the PR to take it over, or `/townhall retry` to start again.
"""

PULL_COMMENT = """\
{marker}
🙋 Townhall is closing this pull request: issue #{issue} needs a person (see the comment there),
and an open PR would keep other work on these files waiting. The branch `{branch}` keeps the
work: reopen this PR to take it over, or comment `/townhall retry` on the issue."""


async def notify_needs_human(
    deps: TickDeps, repo: RepoView, pulls: Sequence[OpenPull] = ()
) -> list[int]:
    """Comment on issues whose task reached needs_human, closing the PR each one left open.

    `pulls` are the repository's open PRs this tick: a task told before (an older release did
    not close PRs) whose PR is still open has it closed too.
    """
    told: list[int] = []
    open_numbers = {pull.number for pull in pulls}
    for task in await tasks_needing_human(deps.store, repo.id):
        if task.already_told:
            pr_number = await _pull_number(deps, task)
            if pr_number in open_numbers:
                await _close_pull(deps, repo, task, pr_number)
            continue
        await _tell(deps, repo, task)
        told.append(task.id)
    return told


async def _pull_number(deps: TickDeps, task: NeedsHumanTask) -> int | None:
    return (await deps.store.run(lambda tx: get_task_tx(tx, task.id))).pr_number


async def _tell(deps: TickDeps, repo: RepoView, task: NeedsHumanTask) -> None:
    """Close the task's open PR if any, then post the needs-human comment once and record it."""
    pr_number = await _pull_number(deps, task)
    pull_line = ""
    if pr_number is not None:
        closed = await _close_pull(deps, repo, task, pr_number)
        if closed is not None:
            pull_line = PULL_CLOSED_LINE.format(number=pr_number, branch=closed.head_ref)
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
    body = NEEDS_HUMAN_COMMENT.format(
        reason=task.reason, rows=table, pull=pull_line, task_id=task.id
    )
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
            reason="commented on the issue" + (f"; closed PR #{pr_number}" if pull_line else ""),
        )
    )


async def _close_pull(
    deps: TickDeps, repo: RepoView, task: NeedsHumanTask, pr_number: int
) -> PullRequestRecord | None:
    """Close the task's PR once per hand-off; return it when it is (now) closed, unmerged.

    Closed first, commented after: a tick that dies between the two finds the PR closed and
    still says so on the issue. A PR reopened after Townhall's comment was reopened by a
    person taking it over, and is left open.
    """
    rest = repo.client.rest
    try:
        data = (await rest.pulls.async_get(repo.owner, repo.name, pr_number)).json()
    except RequestFailed as error:
        if error.response.status_code == 404:
            return None  # deleted: nothing left to close or to mention
        raise
    pull = PullRequestRecord.from_github(data)
    if pull.merged or not pull.is_townhalls(deps.app_login):
        return None
    if pull.state != "open":
        return pull
    marker = PULL_MARKER.format(event=task.reached)
    comments = BotComments(repo.client, repo.owner, repo.name, deps.app_login)
    if await comments.find(pr_number, marker) is not None:
        return None  # closed once for this hand-off, and reopened by a person since
    await rest.pulls.async_update(repo.owner, repo.name, pr_number, data={"state": "closed"})
    body = PULL_COMMENT.format(marker=marker, issue=task.issue_number, branch=pull.head_ref)
    await comments.post_once(pr_number, marker, body)
    await deps.store.run(
        partial(
            record_event,
            clock=deps.clock,
            actor="ceo",
            kind="pull_closed_for_person",
            task_id=task.id,
            repo_id=repo.id,
            issue_number=task.issue_number,
            reason=f"closed PR #{pr_number}: the task needs a person",
        )
    )
    return pull
