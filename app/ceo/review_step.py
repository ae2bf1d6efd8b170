"""Review step: Townhall PRs go to the reviewer, one review per head; merges get checked.

A PR whose actual files collide with an earlier open Townhall PR is held until that one is
merged or closed; then it is reviewed against the new base, and a conflict sends it back to
its worker to rebase.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from app.ceo.deps import RepoView, TickDeps
from app.logs import log_context
from app.store.pull_files import ReviewablePull, reviewable_pulls
from app.store.reviews import recover_stalled_reviews, tasks_due_for_post_merge
from app.store.tasks import set_waiting_reason

log = logging.getLogger("townhall.ceo")


def review_order(pulls: Iterable[ReviewablePull]) -> tuple[list[int], dict[int, str]]:
    """Return the task ids the reviewer may look at now, and why each held one waits (pure)."""
    ready: list[int] = []
    held: dict[int, str] = {}
    earlier: list[tuple[int, frozenset[str]]] = []
    for pull in sorted(pulls, key=lambda p: p.number):
        files = pull.changed_files
        clash = next(((n, files & f) for n, f in earlier if files & f), None)
        earlier.append((pull.number, files))
        if clash is not None:
            held[pull.task_id] = (
                f"waiting for PR #{clash[0]} to land: both change {', '.join(sorted(clash[1]))}"
            )
        else:
            ready.append(pull.task_id)
    return ready, held


async def review_ready(deps: TickDeps, repo: RepoView) -> list[int]:
    """Hand the repository's reviewable PRs to the reviewer; return the tasks it acted on."""
    if deps.reviewer is None:
        return []
    ready, held = review_order(await reviewable_pulls(deps.store, repo.id))
    for task_id, reason in held.items():
        await set_waiting_reason(deps.store, task_id, reason)
    acted: list[int] = []
    for task_id in ready:
        with log_context(task=task_id):
            if await deps.reviewer.review(task_id):  # decides per head what is due
                acted.append(task_id)
    return acted


async def check_merges(deps: TickDeps) -> list[int]:
    """Recover reviews whose reviewer died, and build and test the base after each merge."""
    if deps.reviewer is None:
        return []
    await recover_stalled_reviews(deps.store, deps.clock)
    checked: list[int] = []
    for task_id in await tasks_due_for_post_merge(deps.store):
        try:
            if await deps.reviewer.post_merge_check(task_id):
                checked.append(task_id)
        except Exception:
            log.exception("post-merge check of task %s failed", task_id)
    return checked
