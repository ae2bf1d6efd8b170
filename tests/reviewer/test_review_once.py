"""A reviewer that stops midway: one review per head, and its own merge recognised afterwards.

The reviewer is stopped for real: its asyncio task is cancelled while localhub holds one of its
requests (a `delay` fault), so nothing after that request runs, its review lease is left behind
like a killed process leaves it, and localhub still completes the request. The tick's recovery
(`recover_stalled_reviews`, once the lease expires) and the next review then have to finish
the job without a second model call, a second review on GitHub, or a "merged by hand".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

from app.clock import SystemClock
from app.standins.scripted_model import Script
from app.store.reviews import recover_stalled_reviews
from reviewer import actions
from reviewer.run import run_review
from tests.reviewer.test_review_flow import (
    FIXED,
    OWNER,
    REPO,
    World,
    open_pr,
    review_rows,
    submit,
    task_row,
    world,
)

__all__ = ["world"]  # the fixture, used by name

LEASE = timedelta(seconds=1)
CHECKS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"


async def stop_after_posting(world: World) -> None:
    """Run a review and cancel it while localhub holds its read of the head's check runs.

    The checks are read after the review is posted and before the merge.
    """
    world.deps.lease_ttl = LEASE
    checks = f"/repos/{OWNER}/{REPO}/commits/*/check-runs"
    world.ctl.inject_fault(checks, kind="delay", times=1, method="GET", delay=1.5)
    world.ctl.reset_counters()
    review = asyncio.create_task(run_review(world.deps, 1))
    deadline = time.monotonic() + 60
    while not world.ctl.counters()["routes"].get(CHECKS_ROUTE):
        assert not review.done(), review.result()
        assert time.monotonic() < deadline, "the reviewer never read the checks"
        await asyncio.sleep(0.02)
    review.cancel()  # like a kill: no except, no settle; the lease stays behind
    with contextlib.suppress(asyncio.CancelledError):
        await review
    await asyncio.sleep(2.0)  # the held request completes on localhub; the lease expires
    assert (await task_row(world))["state"] == "reviewing"
    assert await recover_stalled_reviews(world.store, SystemClock()) == [1]


async def github_reviews(world: World, pr: int) -> list[Any]:
    async with world.github() as github:
        return list((await github.rest.pulls.async_list_reviews(OWNER, REPO, pr)).parsed_data)


def review_calls(world: World) -> int:
    return sum(1 for r in world.model.requests if r.body.get("tool_choice"))


async def test_a_merge_that_failed_after_the_review_reuses_the_posted_review(
    world: World,
) -> None:
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit(), submit()])])
    # More 502s than the client retries: the merge fails after the review was posted.
    world.ctl.inject_fault(f"/repos/{OWNER}/{REPO}/pulls/*/merge", times=4, method="PUT")

    failed = await run_review(world.deps, 1)
    merged = await run_review(world.deps, 1)

    assert failed.outcome == "error" and "502" in failed.detail
    assert (merged.outcome, merged.post_merge) == ("merged", "passed"), merged
    assert review_calls(world) == 1  # the stored verdict was acted on; the model asked once
    reviews = await github_reviews(world, pr)
    assert len(reviews) == 1 and "Townhall review: approved" in (reviews[0].body or "")
    rows = await review_rows(world)
    assert [r["outcome"] for r in rows] == ["error", "merged"]
    assert rows[1]["github_review_id"] == reviews[0].id


async def test_a_reviewer_stopped_after_posting_merges_on_its_posted_review(
    world: World,
) -> None:
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit(), submit()])])
    # Stopped while it reads the head's checks: after the post, before the merge.
    await stop_after_posting(world)
    assert len(await github_reviews(world, pr)) == 1

    result = await run_review(world.deps, 1)

    assert (result.outcome, result.post_merge) == ("merged", "passed"), result
    assert review_calls(world) == 1
    assert len(await github_reviews(world, pr)) == 1
    assert [r["outcome"] for r in await review_rows(world)] == ["merged"]


async def merge_as_the_app(world: World, pr: int) -> str:
    """Merge the PR as the stopped reviewer was about to: as the App, pinned to its head."""
    client = await world.deps.github.installation_client(world.installation_id, [REPO])
    async with client:
        pull = await actions.read_pull(client, OWNER, REPO, pr)
        merged = await actions.merge_pull(
            client, OWNER, REPO, pr, sha=pull.head_sha, method="squash", title=pull.title
        )
    assert merged.status == "merged" and merged.sha is not None
    return merged.sha


async def test_a_merge_whose_recording_was_cut_off_is_townhalls_and_checked(
    world: World,
) -> None:
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit(), submit()])])
    # Stopped after the post; the merge it then made was never recorded. (localhub drops a
    # request whose client went away before its body was read, so a reviewer stopped while
    # the merge is held would never merge: the test makes the stopped reviewer's merge.)
    await stop_after_posting(world)
    merge_sha = await merge_as_the_app(world, pr)

    result = await run_review(world.deps, 1)

    assert (result.outcome, result.post_merge) == ("merged", "passed"), result
    assert review_calls(world) == 1
    assert len(await github_reviews(world, pr)) == 1
    assert (await task_row(world))["state"] == "merged"
    [row] = await review_rows(world)
    assert (row["outcome"], row["decision"], row["post_merge"]) == ("merged", "approve", "passed")
    assert row["merge_sha"] == merge_sha == world.main_sha()
    merges = await world.store.fetchall(
        "SELECT reason FROM events WHERE task_id = 1 AND to_state = 'merged'"
    )
    assert len(merges) == 1 and "by Townhall" in merges[0]["reason"], merges


async def test_a_merge_by_a_person_is_still_followed_as_by_hand(world: World) -> None:
    pr = await open_pr(world, {"calc/core.py": FIXED})
    world.model.load([Script("reviewer", [submit(), submit()])])
    await stop_after_posting(world)
    async with world.github() as alice:  # a maintainer merges the approved PR herself
        await alice.rest.pulls.async_merge(OWNER, REPO, pr, merge_method="squash")

    result = await run_review(world.deps, 1)

    assert result.outcome == "closed" and result.post_merge is None
    assert (await task_row(world))["state"] == "merged"
    merges = await world.store.fetchall(
        "SELECT reason FROM events WHERE task_id = 1 AND to_state = 'merged'"
    )
    assert [m["reason"] for m in merges] == ["PR merged by hand"]
