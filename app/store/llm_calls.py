"""Model calls: one row per call to the model, priced, whether it succeeded or not."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from app.store import Store, Tx
from app.store.times import to_db
from app.taskstate import TaskState


@dataclass(frozen=True)
class LLMCall:
    """One model call as stored in `llm_calls`."""

    phase: str
    model: str
    task_id: int | None
    attempt: int | None
    role: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    latency_ms: float
    error: str | None
    created_at: datetime


async def record_llm_call(store: Store, call: LLMCall) -> None:
    """Append one model call."""
    await store.execute(
        "INSERT INTO llm_calls (task_id, attempt, role, phase, model, input_tokens,"
        " output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, latency_ms,"
        " error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            call.task_id,
            call.attempt,
            call.role,
            call.phase,
            call.model,
            call.input_tokens,
            call.output_tokens,
            call.cache_creation_tokens,
            call.cache_read_tokens,
            call.cost_usd,
            call.latency_ms,
            call.error,
            to_db(call.created_at),
        ),
    )


@dataclass(frozen=True)
class MergedTaskCost:
    """What the tasks that merged cost in model calls, and what every task cost beside them."""

    merged_tasks: int
    merged_usd: float  # every call of the merged tasks: planning, all attempts, reviews
    all_tasks_usd: float  # every call of every task in scope, failed and unfinished included

    @property
    def per_merged_task(self) -> float | None:
        """Average dollars of one merged task (None when nothing merged)."""
        return self.merged_usd / self.merged_tasks if self.merged_tasks else None

    @property
    def all_in_per_merged_task(self) -> float | None:
        """All task spend divided by the merged tasks: failures carried by the successes."""
        return self.all_tasks_usd / self.merged_tasks if self.merged_tasks else None


def dollars_per_merged_task_tx(
    tx: Tx, since: datetime | None = None, repo_ids: Collection[int] | None = None
) -> MergedTaskCost:
    """Read the cost of merged tasks; `since` bounds merges and calls, `repo_ids` the repos.

    A merged task is one whose state is `merged` now (a reverted merge does not count), merged
    at or after `since` when given; its cost is every call recorded against it, whenever made.
    """
    where, params = ["t.state = ?"], [str(TaskState.MERGED)]
    spent_where, spent_params = ["1 = 1"], []
    if since is not None:
        where.append(
            # `+` keeps SQLite on the per-task index: by to_state it scans every merge per task.
            "EXISTS (SELECT 1 FROM events e WHERE e.task_id = t.id AND +e.to_state = ?"
            " AND e.created_at >= ?)"
        )
        params += [str(TaskState.MERGED), to_db(since)]
        spent_where.append("c.created_at >= ?")
        spent_params.append(to_db(since))
    if repo_ids is not None:
        ids = json.dumps(sorted(repo_ids))
        where.append("t.repo_id IN (SELECT value FROM json_each(?))")
        params.append(ids)
        spent_where.append("t.repo_id IN (SELECT value FROM json_each(?))")
        spent_params.append(ids)
    merged = tx.fetchone(
        "SELECT COUNT(*) AS tasks, COALESCE(SUM("  # noqa: S608 - only fixed fragments joined
        "(SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c WHERE c.task_id = t.id)"
        "), 0) AS usd FROM tasks t WHERE " + " AND ".join(where),
        params,
    )
    spent = tx.scalar(
        "SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c"  # noqa: S608 - fixed fragments
        " JOIN tasks t ON t.id = c.task_id WHERE " + " AND ".join(spent_where),
        spent_params,
    )
    assert merged is not None  # an aggregate always returns a row
    return MergedTaskCost(int(merged["tasks"]), float(merged["usd"]), float(spent))


async def dollars_per_merged_task(
    store: Store, since: datetime | None = None, repo_ids: Collection[int] | None = None
) -> MergedTaskCost:
    """Read the cost of merged tasks in one transaction (see `dollars_per_merged_task_tx`)."""
    return await store.run(lambda tx: dollars_per_merged_task_tx(tx, since, repo_ids))
