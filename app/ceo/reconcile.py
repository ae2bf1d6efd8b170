"""Reconcile with GitHub: open PRs and their files, PRs merged or closed by hand, closed issues."""

from __future__ import annotations

from functools import partial
from typing import Any

from githubkit.exception import RequestFailed

from app.ceo.deps import RepoView, TickDeps
from app.clock import Clock
from app.scheduling import MissRecord, OpenPull
from app.store import Tx
from app.store.decided_reviews import merged_by_app, record_own_merge
from app.store.pull_files import (
    ListedFiles,
    changed_files_known_tx,
    keep_listed_files_tx,
    listed_files,
    remember_listed_files_tx,
    set_changed_files_tx,
)
from app.store.pulls import PullRequestRecord, upsert_pull_request_tx
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
    tx: Tx,
    *,
    clock: Clock,
    repo_id: int,
    pull: PullRequestRecord,
    app_login: str,
    changed: frozenset[str],
) -> None:
    """Upsert a Townhall PR with its actual files (the webhook may not have arrived yet).

    The first time a PR's files are seen, its prediction is scored (precision and recall) in
    an event, so the misses that widen later write-sets are on the record.
    """
    known = changed_files_known_tx(tx, repo_id, pull.number)
    task_id = upsert_pull_request_tx(tx, clock, repo_id, pull, app_login)
    if task_id is None:
        return
    set_changed_files_tx(tx, repo_id, pull.number, changed)
    if known:
        return
    task = get_task_tx(tx, task_id)
    record = MissRecord(pull.number, frozenset(task.predicted_files), changed)
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


async def _files_of(
    deps: TickDeps, repo: RepoView, pull: PullRequestRecord, known: ListedFiles | None
) -> frozenset[str]:
    """Return a PR's changed files, listing them on GitHub only when its head moved."""
    if known is not None and known.head_sha == pull.head_sha:
        return known.files
    rest = repo.client.rest.pulls
    files = await all_pages(rest.async_list_files, repo.owner, repo.name, pull.number)
    listed = ListedFiles(pull.number, pull.head_sha, frozenset(f.filename for f in files))
    await deps.store.run(partial(remember_listed_files_tx, repo_id=repo.id, listed=listed))
    return listed.files


async def open_pulls(deps: TickDeps, repo: RepoView) -> list[OpenPull]:
    """Open PRs that claim files (Townhall's, and people's with a role here), with their files.

    An outsider's PR claims nothing, so its files are never even listed.
    """
    rest = repo.client.rest.pulls
    listed = await all_pages(rest.async_list, repo.owner, repo.name, state="open")
    known = await listed_files(deps.store, repo.id)
    result: list[OpenPull] = []
    for item in listed:
        pull = PullRequestRecord.from_github(item.model_dump(mode="json"))
        if not pull.claims_files(deps.app_login):
            continue
        changed = await _files_of(deps, repo, pull, known.get(pull.number))
        result.append(OpenPull(pull.number, changed, pull.author))
        if pull.is_townhalls(deps.app_login):
            record = partial(
                _record_pull,
                clock=deps.clock,
                repo_id=repo.id,
                pull=pull,
                app_login=deps.app_login,
                changed=changed,
            )
            await deps.store.run(record)
    numbers = [pull.number for pull in result]
    await deps.store.run(partial(keep_listed_files_tx, repo_id=repo.id, numbers=numbers))
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
        merger = pull.merged_by.login if pull.merged and pull.merged_by else None
        if merged_by_app(merger, deps.app_login):
            # Townhall's own merge, which its reviewer stopped before recording: recorded as
            # such, so the merge gets its review row and its post-merge check.
            await record_own_merge(
                deps.store, deps.clock, task.id,
                head_sha=pull.head.sha, merge_sha=pull.merge_commit_sha,
            )  # fmt: skip
            notes.append(f"#{task.issue_number}: PR #{task.pr_number} merged by Townhall")
            continue
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
