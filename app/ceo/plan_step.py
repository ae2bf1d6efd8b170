"""Plan every approved (and not held) task of a repository: approved → planned → queued.

The planner reads the text the issue was approved with (the task's snapshot), never the live
issue, which its author may have edited since. When the model cannot be reached, the task
waits and says why (its waiting reason, shown as "why it waits"); after MODEL_FAILURES_FOR_PERSON
failed ticks in a row it goes to a person, told on the issue like any other hand-off, so a
broken model key or a long outage does not postpone planning forever in silence.
"""

from __future__ import annotations

import asyncio
import logging

import anthropic

from app.ceo.deps import RepoView, TickDeps
from app.ceo.planning import Plan, PlanError, plan_issue, planning_message
from app.codemap import build_map
from app.pathrules import WriteRules
from app.sandbox.tree import walk_files
from app.store import Tx
from app.store.issue_tasks import approved_text_tx
from app.store.tasks import (
    record_event,
    set_waiting_reason,
    tasks_to_plan,
    transition,
    transition_tx,
)
from app.taskstate import TaskState
from app.untrusted import Fence, fence_issue
from app.votes.record import hold_reason_tx

log = logging.getLogger("townhall.ceo")

# Ticks in a row whose planning call failed before the task is handed to a person.
MODEL_FAILURES_FOR_PERSON = 3
PLANNING_POSTPONED = "planning_postponed"  # the event each failed planning call leaves
ERROR_CHARS = 300  # how much of the model's error a waiting reason keeps

PLAN_FAILED_COMMENT = (
    "Townhall could not plan this issue automatically, so it needs a person: {problems}\n\n"
    "A maintainer can clarify the issue and comment `/townhall retry`."
)


async def plan_approved(deps: TickDeps, repo: RepoView) -> tuple[list[int], list[int]]:
    """Plan the repository's approved tasks; return (planned ids, failed ids)."""
    tasks = await tasks_to_plan(deps.store, repo.id)
    if not tasks:
        return [], []
    tree = await asyncio.to_thread(walk_files, repo.mirror)
    codebase_map = await asyncio.to_thread(build_map, repo.mirror)
    rules = WriteRules(protected=(*WriteRules().protected, *repo.policy.paths.protected))
    planned: list[int] = []
    failed: list[int] = []
    for task in tasks:
        if await is_held(deps, repo.id, task.issue_number):
            continue  # the issue's text changed after approval: wait for it to be confirmed
        message = planning_message(fence_issue(task.title, task.body, Fence()), tree, codebase_map)
        try:
            plan = await plan_issue(
                deps.llm,
                task_id=task.id,
                message=message,
                roles=repo.policy.roles,
                tree=tree,
                is_protected=lambda path: rules.violation(path) is not None,
            )
        except anthropic.APIError as error:
            # The model is out of reach for now: this task waits for the next tick (or, after
            # too many failures, for a person); the others, and the rest of the tick, go on.
            log.warning("planning task %s postponed: %s", task.id, error)
            if await _postpone(deps, repo.id, task.id, task.issue_number, error):
                failed.append(task.id)
            continue
        except PlanError as error:
            await _give_up(deps, repo, task.id, task.issue_number, error.problems)
            failed.append(task.id)
            continue

        if await _record_plan(deps, task.id, task.approved_hash, plan):
            planned.append(task.id)
    return planned, failed


async def is_held(deps: TickDeps, repo_id: int, issue_number: int) -> bool:
    """Tell whether the issue's text changed after approval (then it waits to be confirmed)."""
    return await deps.store.run(lambda tx: hold_reason_tx(tx, repo_id, issue_number)) is not None


async def _record_plan(deps: TickDeps, task_id: int, approved_hash: str, plan: Plan) -> bool:
    """Store the plan and queue the task, in one transaction; False if approval moved meanwhile.

    A plan answers the text it was made from: when the issue was approved again with other
    text while the planner worked, the plan is dropped and the next tick plans the new text.
    """

    def record(tx: Tx) -> bool:
        recorded = approved_text_tx(tx, task_id)
        if recorded is None or recorded.hash != approved_hash:
            return False
        transition_tx(
            tx,
            deps.clock,
            task_id,
            TaskState.PLANNED,
            actor="ceo",
            reason="planned",
            expect=[TaskState.APPROVED],
            waiting_reason=None,  # a postponement's reason is over
            role=plan.role,
            brief=plan.brief(),
            predicted_files=list(plan.files),
            complexity=plan.complexity,
        )
        transition_tx(
            tx,
            deps.clock,
            task_id,
            TaskState.QUEUED,
            actor="ceo",
            reason=f"queued: {len(plan.files)} predicted file(s)",
        )
        return True

    return await deps.store.run(record)


def model_error_text(error: anthropic.APIError) -> str:
    """The model's error on one line, short enough for a table cell and an issue comment."""
    status = getattr(error, "status_code", None)
    text = " ".join(str(error).split())
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 1] + "…"
    return f"{type(error).__name__}{f' {status}' if status else ''}: {text}"


def failures_in_a_row_tx(tx: Tx, task_id: int) -> int:
    """Count the task's failed planning calls since it last changed state."""
    return int(
        tx.scalar(
            "SELECT COUNT(*) FROM events WHERE task_id = ? AND kind = ? AND id >"
            " COALESCE((SELECT MAX(id) FROM events WHERE task_id = ? AND to_state IS NOT NULL), 0)",
            (task_id, PLANNING_POSTPONED, task_id),
        )
        or 0
    )


async def _postpone(
    deps: TickDeps, repo_id: int, task_id: int, issue_number: int, error: anthropic.APIError
) -> bool:
    """Record a failed planning call; hand the task to a person after too many. True if handed."""
    detail = model_error_text(error)

    def record(tx: Tx) -> int:
        record_event(
            tx,
            deps.clock,
            actor="ceo",
            kind=PLANNING_POSTPONED,
            task_id=task_id,
            repo_id=repo_id,
            issue_number=issue_number,
            reason=detail,
        )
        return failures_in_a_row_tx(tx, task_id)

    failures = await deps.store.run(record)
    if failures < MODEL_FAILURES_FOR_PERSON:
        await set_waiting_reason(
            deps.store, task_id, f"planning postponed ({failures} failed in a row): {detail}"
        )
        return False
    reason = (
        f"planning failed {failures} ticks in a row, the model could not be reached: {detail}."
        " The operator should check the model key and service (`townhall doctor`)"
    )
    await transition(
        deps.store,
        deps.clock,
        task_id,
        TaskState.NEEDS_HUMAN,
        actor="ceo",
        reason=reason,
        expect=[TaskState.APPROVED],
        waiting_reason=None,  # the hand-off's event says why, and notify_step tells the issue
    )
    log.warning("planning task %s handed to a person after %s failures", task_id, failures)
    return True


async def _give_up(
    deps: TickDeps, repo: RepoView, task_id: int, issue_number: int, problems: list[str]
) -> None:
    await transition(
        deps.store,
        deps.clock,
        task_id,
        TaskState.NEEDS_HUMAN,
        actor="ceo",
        reason="planning failed: " + "; ".join(problems),
        expect=[TaskState.APPROVED],
    )
    await repo.client.rest.issues.async_create_comment(
        repo.owner,
        repo.name,
        issue_number,
        data={"body": PLAN_FAILED_COMMENT.format(problems="; ".join(problems))},
    )
    log.warning("planning task %s failed: %s", task_id, problems)
