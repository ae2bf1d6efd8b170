"""Schedule a repository's queue: claim write-sets, admit what may run, say why the rest waits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from app.ceo.deps import RepoView, TickDeps
from app.ceo.plan_step import is_held
from app.ceo.report import TickReport
from app.github.bot_comments import BotComments
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
from app.store.attempts import StartedAttempt, start_attempt_tx, undo_dispatch_tx
from app.store.leases import process_holder
from app.store.pull_files import predicted_and_changed
from app.store.spend import budget_stop, spend_today, task_over_budget
from app.store.tasks import (
    TaskToSchedule,
    set_passed_over,
    set_waiting_reason,
    tasks_to_schedule,
    transition,
)
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


async def _misses(deps: TickDeps, repo_id: int) -> MissHistory:
    """Predicted versus actual files of this repository's Townhall PRs."""
    history = MissHistory()
    for pull in await predicted_and_changed(deps.store, repo_id):
        history.record(pull.number, pull.predicted, pull.changed)
    return history


async def schedule(
    deps: TickDeps, repo: RepoView, pulls: Sequence[OpenPull], report: TickReport
) -> None:
    """Admit queued tasks whose claims are free, dispatch them, and record why others wait."""
    tasks = await tasks_to_schedule(deps.store, repo.id)
    queued = [task for task in tasks if task.state == TaskState.QUEUED]
    if not queued:
        return
    spend = await spend_today(deps.store, deps.clock.now(), repo.id)
    stop = budget_stop(spend, deps.settings.daily_budget_usd, repo.policy.budget.per_day_usd)
    if stop is not None:
        report.budget_stop = stop
        for task in queued:
            await _say_waiting(deps, repo, task, BUDGET_COMMENT, stop)
        return
    history = await asyncio.to_thread(read_history, repo)
    misses = await _misses(deps, repo.id)

    def claim(task: TaskToSchedule) -> WriteSet:
        role = repo.policy.roles.get(task.role) if task.role else None
        return claim_write_set(
            task.predicted_files,
            cochange=history.cochange,
            misses=misses,
            barriers=history.barriers,
            # Widening stays inside what the task's role may write.
            may_write=role.writes if role is not None else None,
        )

    queue: list[QueuedTask] = []
    for task in queued:
        if await is_held(deps, repo.id, task.issue_number):
            continue
        if reason := task_over_budget(task.cost_usd, repo.policy.budget.per_task_usd):
            await _to_person(deps, task.id, reason)
            continue
        queue.append(
            QueuedTask(
                task.id,
                task.issue_number,
                task.priority,
                task.approved_at,
                claim(task),
                task.passed_over,
                task.pr_number,  # a retry replaces its own open PR: that PR never blocks it
            )
        )
    running = [
        RunningClaim(task.id, task.issue_number, claim(task))
        for task in tasks
        if task.state == TaskState.RUNNING
    ]
    plan = plan_admission(
        queue, running, pulls, AdmissionRules.from_policy(repo.policy.limits), deps.clock
    )
    for admitted in plan.admitted:
        started = await _start(deps, admitted.task_id, repo.head_sha)
        try:
            await deps.dispatcher.dispatch(started.task_id, started.attempt)
        except Exception as error:
            log.exception("dispatching task %s failed", started.task_id)
            why = f"{type(error).__name__}: {error}"
            undo = partial(undo_dispatch_tx, clock=deps.clock, started=started, error=why)
            await deps.store.run(undo)
            report.errors.append(f"dispatch of task {started.task_id}: {error}")
            continue
        report.dispatched.append((started.task_id, started.attempt))
    by_id = {task.id: task for task in queued}
    for waiting in plan.waiting:
        report.waiting[waiting.task_id] = waiting.message
        await set_passed_over(deps.store, waiting.task_id, waiting.passed_over)
        await _say_waiting(deps, repo, by_id[waiting.task_id], WAITING_COMMENT, waiting.message)


async def _start(deps: TickDeps, task_id: int, base_sha: str) -> StartedAttempt:
    """Record the attempt (state, row, worker lease) before anything is dispatched."""
    # The holder names this process, so a kill before the worker takes over is seen at once.
    worker = process_holder(f"worker:{task_id}")
    return await deps.store.run(
        lambda tx: start_attempt_tx(
            tx, deps.clock, task_id, base_sha, "ceo", worker, deps.worker_lease_ttl
        )
    )


async def _to_person(deps: TickDeps, task_id: int, reason: str) -> None:
    await transition(
        deps.store,
        deps.clock,
        task_id,
        TaskState.NEEDS_HUMAN,
        actor="ceo",
        reason=reason,
        expect=[TaskState.QUEUED],
    )


async def _say_waiting(
    deps: TickDeps, repo: RepoView, task: TaskToSchedule, template: str, message: str
) -> None:
    """Record why a task waits and say it on the issue, editing one comment in place."""
    if task.waiting_reason == message:
        return  # nothing changed: no API call, no notification
    body = template.format(marker=STATUS_MARKER, message=message)
    number = task.issue_number
    comments = BotComments(repo.client, repo.owner, repo.name, deps.app_login)
    await comments.upsert(number, STATUS_MARKER, body)
    # Recorded only once said, so a failed post is tried again next tick.
    await set_waiting_reason(deps.store, task.id, message)
