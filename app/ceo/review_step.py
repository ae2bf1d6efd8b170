"""Review step: each Townhall PR whose head has not been reviewed gets one review per head.

A PR whose actual files collide with an earlier open Townhall PR is held until that one is
merged or closed; then it is reviewed against the new base, and a conflict sends it back to
its worker to rebase.
"""

from __future__ import annotations

import json

from app.ceo.context import RepoView, TickDeps


def review_order(pulls: list[dict[str, object]]) -> tuple[list[int], dict[int, str]]:
    """Return the task ids to review now, and why each held one waits (pure)."""
    ready: list[int] = []
    held: dict[int, str] = {}
    earlier: list[tuple[int, frozenset[str]]] = []
    for pull in sorted(pulls, key=lambda p: int(str(p["number"]))):
        files = frozenset(json.loads(str(pull["changed_files"] or "[]")))
        clash = next(((n, files & f) for n, f in earlier if files & f), None)
        earlier.append((int(str(pull["number"])), files))
        task_id = int(str(pull["task_id"]))
        if clash is not None:
            held[task_id] = (
                f"waiting for PR #{clash[0]} to land: both change {', '.join(sorted(clash[1]))}"
            )
        elif pull["reviewed_sha"] != pull["head_sha"]:
            ready.append(task_id)
    return ready, held


async def review_ready(deps: TickDeps, repo: RepoView) -> list[int]:
    """Run the reviewer for every ready PR of the repository; return the task ids reviewed."""
    if deps.reviewer is None:
        return []
    pulls = await deps.store.fetchall(
        "SELECT p.number, p.task_id, p.head_sha, p.reviewed_sha, p.changed_files"
        " FROM pull_requests p JOIN tasks t ON t.id = p.task_id"
        " WHERE p.repo_id = ? AND p.state = 'open' AND t.state = 'pr_open'",
        (repo.id,),
    )
    ready, held = review_order(pulls)
    for task_id, reason in held.items():
        await deps.store.execute(
            "UPDATE tasks SET waiting_reason = ? WHERE id = ?", (reason, task_id)
        )
    for task_id in ready:
        await deps.reviewer(task_id)
    return ready
