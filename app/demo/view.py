"""The demo's progress view and final summary, read from the store (pure formatting + queries)."""

from __future__ import annotations

from typing import Any

from app.store import Store

BOARD_QUERY = (
    "SELECT i.number, i.title, i.score, i.decision, t.state, t.pr_number, t.attempt,"
    " t.waiting_reason, t.cost_usd FROM issues i LEFT JOIN tasks t"
    " ON t.repo_id = i.repo_id AND t.issue_number = i.number"
    " WHERE i.is_pull_request = 0 ORDER BY i.number"
)


def render_board(rows: list[dict[str, Any]]) -> str:
    """One line per issue: votes, decision, task state, PR, and why it waits."""
    lines = []
    for row in rows:
        title = row["title"] if len(row["title"]) <= 38 else row["title"][:37] + "…"
        task = row["state"] or "-"
        pr = f"PR #{row['pr_number']}" if row["pr_number"] else ""
        line = (
            f"  #{row['number']:<3} {title:<39} votes {row['score']:>4g}  "
            f"{row['decision']:<9} task {task:<17} {pr}"
        )
        if row["state"] == "queued" and row["waiting_reason"]:
            line += f"\n        ↳ {row['waiting_reason']}"
        lines.append(line.rstrip())
    return "\n".join(lines)


async def board(store: Store) -> str:
    """The current board."""
    return render_board(await store.fetchall(BOARD_QUERY))


async def summary(store: Store, waited: dict[int, str]) -> str:
    """What was merged, what waited and why (task id → first reason), refused, and the cost."""
    rows = await store.fetchall(BOARD_QUERY)
    merged = [r for r in rows if r["state"] == "merged"]
    waits = await store.fetchall(
        "SELECT DISTINCT t.issue_number, e.reason FROM events e JOIN tasks t ON t.id = e.task_id"
        " WHERE e.kind = 'transition' AND e.to_state = 'running' ORDER BY e.id"
    )
    numbers = {
        row["id"]: row["issue_number"]
        for row in await store.fetchall("SELECT id, issue_number FROM tasks")
    }
    costs = await store.fetchone(
        "SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input,"
        " COALESCE(SUM(output_tokens), 0) AS output,"
        " COALESCE(SUM(cache_read_tokens), 0) AS cached, COALESCE(SUM(cost_usd), 0) AS usd"
        " FROM llm_calls"
    )
    assert costs is not None
    lines = ["Summary", "  merged:"]
    lines += [f"    #{r['number']} {r['title']} (PR #{r['pr_number']})" for r in merged] or [
        "    nothing"
    ]
    lines.append("  not worked on:")
    lines += [
        f"    #{r['number']} {r['title']}: {r['decision']}"
        for r in rows
        if r["state"] is None or r["state"] == "cancelled"
    ] or ["    none"]
    if waited:
        lines.append("  waited, so that no two changes touched the same files at once:")
        lines += [f"    #{numbers[task]}: {why}" for task, why in sorted(waited.items())]
    lines.append(f"  dispatches: {len(waits)}")
    lines.append(
        f"  model: {costs['calls']} calls, {costs['input']:,} input tokens "
        f"({costs['cached']:,} from cache), {costs['output']:,} output tokens, "
        f"${costs['usd']:.4f}"
    )
    return "\n".join(lines)
