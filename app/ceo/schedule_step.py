"""Schedule a repository's queue: claim write-sets, admit what may run, say why the rest waits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from app.ceo.deps import RepoView, TickDeps, TickReport
from app.ceo.plan_step import is_held
from app.ceo.reconcile import all_pages
from app.clock import Clock
from app.scheduling import (
    AdmissionRules,
    BarrierRules,
    CoChange,
    MissHistory,
    OpenPull,
    QueuedTask,
    RunningClaim,
    WriteSet,
    barrier_rules,
    build_cochange,
    claim_write_set,
)
from app.scheduling.admission import plan_admission
from app.scheduling.sources import read_git_history
from app.store import Tx
from app.store.attempts import StartedAttempt, end_attempt_tx, start_attempt_tx
from app.store.spend import budget_stop, spend_today, task_over_budget
from app.store.tasks import transition_tx
from app.store.times import from_db
from app.taskstate import TaskState

log = logging.getLogger("townhall.ceo")

STATUS_MARKER = "<!-- townhall:queue-status -->"
WAITING_COMMENT = "{marker}\n⏳ **Queued.** {message}\n\nTownhall starts it as soon as that clears."
BUDGET_COMMENT = "{marker}\n⏸️ **Waiting for budget.** {message}"


@dataclass(frozen=True)
class History:
    """What the repository's history says about files: co-change and barriers."""

    cochange: CoChange
    barriers: BarrierRules


def read_history(repo: RepoView) -> History:
    """Read co-change statistics and barrier files from the trusted mirror's history."""
    commits = read_git_history(repo.mirror)
    files = [commit.files for commit in commits]
    return History(
        build_cochange(files),
        barrier_rules(repo.policy.paths.barriers, history=files),
    )


def _predicted(row: dict[str, object]) -> list[str]:
    return list(json.loads(str(row["predicted_files"] or "[]")))


async def _misses(deps: TickDeps, repo_id: int) -> MissHistory:
    """Predicted versus actual files of this repository's Townhall PRs."""
    rows = await deps.store.fetchall(
        "SELECT p.number, t.predicted_files, p.changed_files FROM pull_requests p"
        " JOIN tasks t ON t.id = p.task_id WHERE p.repo_id = ? AND p.changed_files != '[]'"
        " ORDER BY p.updated_at",
        (repo_id,),
    )
    history = MissHistory()
    for row in rows:
        history.record(row["number"], _predicted(row), json.loads(row["changed_files"]))
    return history


async def schedule(
    deps: TickDeps, repo: RepoView, pulls: Sequence[OpenPull], report: TickReport
) -> None:
    """Admit queued tasks whose claims are free, dispatch them, and record why others wait."""
    rows = await deps.store.fetchall(
        "SELECT id, issue_number, state, role, priority, approved_at, passed_over, predicted_files,"
        " cost_usd, waiting_reason, pr_number FROM tasks"
        " WHERE repo_id = ? AND state IN ('queued', 'running')",
        (repo.id,),
    )
    queued_rows = [row for row in rows if row["state"] == TaskState.QUEUED]
    if not queued_rows:
        return
    spend = await spend_today(deps.store, deps.clock.now(), repo.id)
    stop = budget_stop(spend, deps.settings.daily_budget_usd, repo.policy.budget.per_day_usd)
    if stop is not None:
        report.budget_stop = stop
        for row in queued_rows:
            await _say_waiting(deps, repo, row, BUDGET_COMMENT, stop)
        return
    history = await asyncio.to_thread(read_history, repo)
    misses = await _misses(deps, repo.id)

    def claim(row: dict[str, object]) -> WriteSet:
        role = repo.policy.roles.get(str(row["role"]))
        return claim_write_set(
            _predicted(row),
            cochange=history.cochange,
            misses=misses,
            barriers=history.barriers,
            # Widening stays inside what the task's role may write.
            may_write=role.writes if role is not None else None,
        )

    queue: list[QueuedTask] = []
    for row in queued_rows:
        if await is_held(deps, repo.id, row["issue_number"]):
            continue
        if reason := task_over_budget(row["cost_usd"], repo.policy.budget.per_task_usd):
            await _to_person(deps, row["id"], reason)
            continue
        queue.append(
            QueuedTask(
                row["id"],
                row["issue_number"],
                row["priority"],
                from_db(row["approved_at"]),
                claim(row),
                row["passed_over"],
                row["pr_number"],  # a retry replaces its own open PR: that PR never blocks it
            )
        )
    running = [
        RunningClaim(row["id"], row["issue_number"], claim(row))
        for row in rows
        if row["state"] == TaskState.RUNNING
    ]
    plan = plan_admission(
        queue, running, pulls, AdmissionRules.from_policy(repo.policy.limits), deps.clock
    )
    for task in plan.admitted:
        started = await _start(deps, task.task_id, repo.head_sha)
        try:
            await deps.dispatcher.dispatch(started.task_id, started.attempt)
        except Exception as error:
            log.exception("dispatching task %s failed", started.task_id)
            await deps.store.run(
                partial(_undo_start, clock=deps.clock, started=started, error=error)
            )
            report.errors.append(f"dispatch of task {started.task_id}: {error}")
            continue
        report.dispatched.append((started.task_id, started.attempt))
    by_id = {row["id"]: row for row in queued_rows}
    for waiting in plan.waiting:
        report.waiting[waiting.task_id] = waiting.message
        await deps.store.execute(
            "UPDATE tasks SET passed_over = ? WHERE id = ?", (waiting.passed_over, waiting.task_id)
        )
        await _say_waiting(deps, repo, by_id[waiting.task_id], WAITING_COMMENT, waiting.message)


async def _start(deps: TickDeps, task_id: int, base_sha: str) -> StartedAttempt:
    """Record the attempt (state, row, worker lease) before anything is dispatched."""
    return await deps.store.run(
        lambda tx: start_attempt_tx(tx, deps.clock, task_id, base_sha, "ceo", f"worker:{task_id}")
    )


def _undo_start(tx: Tx, *, clock: Clock, started: StartedAttempt, error: Exception) -> None:
    """A dispatch that never started: end the attempt and queue the task without using one up."""
    end_attempt_tx(
        tx, clock, started.task_id, started.attempt, outcome="dispatch_failed",
        log=f"{type(error).__name__}: {error}",
    )  # fmt: skip
    transition_tx(
        tx, clock, started.task_id, TaskState.FAILED, actor="ceo", reason="dispatch failed",
        expect=[TaskState.RUNNING],
    )  # fmt: skip
    # Attempt numbers stay unique (each has its row); one more is allowed instead.
    max_attempts = int(
        tx.scalar("SELECT max_attempts FROM tasks WHERE id = ?", (started.task_id,)) or 0
    )
    transition_tx(
        tx, clock, started.task_id, TaskState.QUEUED, actor="ceo",
        reason="dispatch failed; the attempt does not count", max_attempts=max_attempts + 1,
    )  # fmt: skip


async def _to_person(deps: TickDeps, task_id: int, reason: str) -> None:
    await deps.store.run(
        lambda tx: transition_tx(
            tx,
            deps.clock,
            task_id,
            TaskState.NEEDS_HUMAN,
            actor="ceo",
            reason=reason,
            expect=[TaskState.QUEUED],
        )
    )


async def _say_waiting(
    deps: TickDeps, repo: RepoView, row: dict[str, object], template: str, message: str
) -> None:
    """Record why a task waits and say it on the issue, editing one comment in place."""
    if row["waiting_reason"] == message:
        return  # nothing changed: no API call, no notification
    body = template.format(marker=STATUS_MARKER, message=message)
    number = int(str(row["issue_number"]))
    issues = repo.client.rest.issues
    comments = await all_pages(issues.async_list_comments, repo.owner, repo.name, number)
    own = next((c for c in comments if STATUS_MARKER in (c.body or "")), None)
    if own is None:
        await issues.async_create_comment(repo.owner, repo.name, number, data={"body": body})
    else:
        await issues.async_update_comment(repo.owner, repo.name, own.id, data={"body": body})
    # Recorded only once said, so a failed post is tried again next tick.
    await deps.store.execute(
        "UPDATE tasks SET waiting_reason = ? WHERE id = ?", (message, row["id"])
    )
