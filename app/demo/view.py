"""The demo's progress view and final summary: formatting over the dashboard's progress reads."""

from __future__ import annotations

from collections.abc import Sequence

from app.dashboard.progress import (
    IssueProgress,
    call_totals_tx,
    dispatch_count_tx,
    issue_numbers_by_task_tx,
    issue_progress_tx,
)
from app.store import Store
from app.store.llm_calls import dollars_per_merged_task
from app.taskstate import TaskState


def render_board(issues: Sequence[IssueProgress]) -> str:
    """One line per issue: votes, decision, task state, PR, and why it waits."""
    lines = []
    for issue in issues:
        title = issue.title if len(issue.title) <= 38 else issue.title[:37] + "…"
        task = issue.task_state or "-"
        pr = f"PR #{issue.pr_number}" if issue.pr_number else ""
        line = (
            f"  #{issue.number:<3} {title:<39} votes {issue.score:>4g}  "
            f"{issue.decision:<9} task {task:<17} {pr}"
        )
        if issue.task_state == TaskState.QUEUED and issue.waiting_reason:
            line += f"\n        ↳ {issue.waiting_reason}"
        lines.append(line.rstrip())
    return "\n".join(lines)


async def board(store: Store) -> str:
    """The current board."""
    return render_board(await store.run(issue_progress_tx))


async def summary(store: Store, waited: dict[int, str]) -> str:
    """What was merged, what waited and why (task id → first reason), refused, and the cost."""
    issues = await store.run(issue_progress_tx)
    dispatches = await store.run(dispatch_count_tx)
    numbers = await store.run(issue_numbers_by_task_tx)
    costs = await store.run(call_totals_tx)
    merged = [issue for issue in issues if issue.task_state == TaskState.MERGED]
    lines = ["Summary", "  merged:"]
    lines += [f"    #{i.number} {i.title} (PR #{i.pr_number})" for i in merged] or ["    nothing"]
    lines.append("  not worked on:")
    lines += [
        f"    #{i.number} {i.title}: {i.decision}"
        + (f" ({i.decision_reason})" if i.decision_reason else "")
        for i in issues
        if i.task_state is None or i.task_state == TaskState.CANCELLED
    ] or ["    none"]
    if waited:
        lines.append("  waited, so that no two changes touched the same files at once:")
        lines += [f"    #{numbers[task]}: {why}" for task, why in sorted(waited.items())]
    lines.append(f"  dispatches: {dispatches}")
    lines.append(
        f"  model: {costs.calls} calls, {costs.input_tokens:,} input tokens "
        f"({costs.cache_read_tokens:,} from cache), {costs.output_tokens:,} output tokens, "
        f"${costs.cost_usd:.4f}"
    )
    per_task = await dollars_per_merged_task(store)
    if per_task.all_in_per_merged_task is not None:
        lines.append(
            f"  dollars per merged task: ${per_task.all_in_per_merged_task:.4f} (every task's "
            f"calls, failed ones included, over {per_task.merged_tasks} merged)"
        )
    return "\n".join(lines)
