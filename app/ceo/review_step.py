"""Review step: Townhall PRs go to the reviewer, one review per head; merges get checked.

A PR whose actual files collide with an earlier open Townhall PR is held until that one is
merged or closed; then it is reviewed against the new base, and a conflict sends it back to
its worker to rebase.
"""

from __future__ import annotations

import json
import logging

from app.ceo.deps import RepoView, TickDeps
from app.ceo.dispatch import spawn_review
from app.logs import log_context
from app.store.reviews import recover_stalled_reviews
from reviewer.postmerge import run_post_merge_check, tasks_due_for_post_merge
from reviewer.run import run_review

log = logging.getLogger("townhall.ceo")


def review_order(pulls: list[dict[str, object]]) -> tuple[list[int], dict[int, str]]:
    """Return the task ids the reviewer may look at now, and why each held one waits (pure)."""
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
        else:
            ready.append(task_id)
    return ready, held


async def review_ready(deps: TickDeps, repo: RepoView) -> list[int]:
    """Hand the repository's reviewable PRs to the reviewer; return the tasks it acted on."""
    if deps.review is None:
        return []
    pulls = await deps.store.fetchall(
        "SELECT p.number, p.task_id, p.changed_files FROM pull_requests p"
        " JOIN tasks t ON t.id = p.task_id"
        " WHERE p.repo_id = ? AND p.state = 'open' AND t.state = 'pr_open'",
        (repo.id,),
    )
    ready, held = review_order(pulls)
    for task_id, reason in held.items():
        await deps.store.execute(
            "UPDATE tasks SET waiting_reason = ? WHERE id = ?", (reason, task_id)
        )
    acted: list[int] = []
    for task_id in ready:
        if deps.settings.dispatch_backend == "modal":
            # Reviews take minutes (sandbox, model); on Modal each runs in its own function.
            await spawn_review(task_id)
            acted.append(task_id)
            continue
        with log_context(task=task_id):
            result = await run_review(deps.review, task_id)  # decides per head what is due
        if result.outcome != "skipped":
            acted.append(task_id)
    return acted


async def check_merges(deps: TickDeps) -> list[int]:
    """Recover reviews whose reviewer died, and build and test the base after each merge."""
    if deps.review is None:
        return []
    await recover_stalled_reviews(deps.store, deps.clock)
    checked: list[int] = []
    for task_id in await tasks_due_for_post_merge(deps.store):
        try:
            result = await run_post_merge_check(deps.review, task_id)
        except Exception:
            log.exception("post-merge check of task %s failed", task_id)
            continue
        if result.outcome != "not_due":
            checked.append(task_id)
    return checked
