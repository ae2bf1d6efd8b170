"""Reconcile with GitHub: open PRs and their files, PRs merged or closed by hand, closed issues."""

from __future__ import annotations

from functools import partial
from typing import Any

from githubkit.exception import RequestFailed

from app.ceo.deps import RepoView, TickDeps
from app.clock import Clock
from app.scheduling import MissRecord, OpenPull
from app.store import Tx
from app.store.pull_files import changed_files_known_tx, set_changed_files_tx
from app.store.pulls import PullRequestRecord, issue_number_of_branch, upsert_pull_request_tx
from app.store.tasks import (
    get_task_tx,
    record_event,
    tasks_of_closed_issues_tx,
    tasks_with_pull,
    transition_tx,
)
from app.taskstate import TERMINAL, TaskState

PER_PAGE = 100
LIVE_WITH_PR = (TaskState.PR_OPEN, TaskState.REVIEWING)


async def all_pages(method: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Read every page of a list endpoint (never stop at the first 100)."""
    items: list[Any] = []
    page = 1
    while True:
        response = await method(*args, per_page=PER_PAGE, page=page, **kwargs)
        batch = list(response.parsed_data)
        items += batch
        if len(batch) < PER_PAGE:
            return items
        page += 1


def _record_pull(
    tx: Tx, *, clock: Clock, repo_id: int, pull: dict[str, Any], changed: frozenset[str]
) -> None:
    """Upsert a Townhall PR with its actual files (the webhook may not have arrived yet).

    The first time a PR's files are seen, its prediction is scored (precision and recall) in
    an event, so the misses that widen later write-sets are on the record.
    """
    known = changed_files_known_tx(tx, repo_id, pull["number"])
    task_id = upsert_pull_request_tx(tx, clock, repo_id, PullRequestRecord.from_github(pull))
    set_changed_files_tx(tx, repo_id, pull["number"], changed)
    if task_id is None or known:
        return
    task = get_task_tx(tx, task_id)
    record = MissRecord(pull["number"], frozenset(task.predicted_files), changed)
    missed = ", ".join(sorted(record.missed)) or "none"
    record_event(
        tx,
        clock,
        actor="ceo",
        kind="prediction_scored",
        task_id=task_id,
        repo_id=repo_id,
        issue_number=task.issue_number,
        reason=f"precision {record.precision:.2f}, recall {record.recall:.2f}; missed: {missed}",
    )


async def open_pulls(deps: TickDeps, repo: RepoView) -> list[OpenPull]:
    """Every open PR (Townhall's and people's) with its actual changed files."""
    rest = repo.client.rest.pulls
    pulls = await all_pages(rest.async_list, repo.owner, repo.name, state="open")
    result: list[OpenPull] = []
    for pull in pulls:
        files = await all_pages(rest.async_list_files, repo.owner, repo.name, pull.number)
        changed = frozenset(f.filename for f in files)
        result.append(OpenPull(pull.number, changed, pull.user.login if pull.user else ""))
        if issue_number_of_branch(pull.head.ref) is not None:
            await deps.store.run(
                partial(
                    _record_pull,
                    clock=deps.clock,
                    repo_id=repo.id,
                    pull=pull.model_dump(mode="json"),
                    changed=changed,
                )
            )
    return result


async def _follow_pull(deps: TickDeps, task_id: int, target: TaskState, reason: str) -> None:
    """Move a task after its PR was merged or closed outside Townhall."""
    await deps.store.run(
        lambda tx: transition_tx(
            tx,
            deps.clock,
            task_id,
            target,
            actor="github",
            reason=reason,
            expect=list(LIVE_WITH_PR),
        )
    )


async def reconcile(deps: TickDeps, repo: RepoView, pulls: list[OpenPull]) -> list[str]:
    """Follow what people did by hand; return a line per change made."""
    notes: list[str] = []
    open_numbers = {pull.number for pull in pulls}
    for task in await tasks_with_pull(deps.store, repo.id, LIVE_WITH_PR):
        if task.pr_number in open_numbers:
            continue
        try:
            pull = (
                await repo.client.rest.pulls.async_get(repo.owner, repo.name, task.pr_number)
            ).parsed_data
        except RequestFailed as error:
            if error.response.status_code != 404:
                raise
            await _follow_pull(deps, task.id, TaskState.CANCELLED, "PR deleted")
            notes.append(f"#{task.issue_number}: PR #{task.pr_number} is gone")
            continue
        if pull.state != "closed":
            continue  # opened after the list was read (a worker just published): not ours
        target = TaskState.MERGED if pull.merged else TaskState.CANCELLED
        how = "merged" if pull.merged else "closed without merging"
        await _follow_pull(deps, task.id, target, f"PR {how} by hand")
        notes.append(f"#{task.issue_number}: PR #{task.pr_number} {how}")

    def cancel_closed(tx: Tx) -> list[str]:
        cancelled = []
        for task in tasks_of_closed_issues_tx(tx, repo.id):
            if task.state in TERMINAL or task.state == TaskState.RUNNING:
                continue  # a running worker ends on its own; its result is cancelled next tick
            transition_tx(
                tx,
                deps.clock,
                task.id,
                TaskState.CANCELLED,
                actor="github",
                reason=f"issue {task.issue_state}",
            )
            cancelled.append(f"#{task.issue_number}: cancelled, issue {task.issue_state}")
        return cancelled

    notes += await deps.store.run(cancel_closed)
    return notes
