"""The reviewer lands nothing whose issue text changed after approval (issue 16, finding 1).

The issue's author edits it on GitHub while an approved head waits for its checks; no sweep or
webhook has told the store yet. The merge is refused from GitHub's current text, and it goes on
once the approved text is restored.
"""

from __future__ import annotations

from githubkit import GitHub

from app.standins.scripted_model import Script
from reviewer.run import run_review
from tests.reviewer.test_review_flow import (
    ALICE_TOKEN,
    FIXED,
    OWNER,
    REPO,
    World,
    head_of,
    open_pr,
    review_rows,
    set_check,
    submit,
    task_row,
    world,
)

__all__ = ["world"]  # the review world, shared with test_review_flow


def edit_issue(world: World, body: str) -> None:
    with GitHub(ALICE_TOKEN, base_url=world.ctl.base_url + "/") as author:
        author.rest.issues.update(OWNER, REPO, 1, data={"body": body})


async def test_an_approved_head_is_not_merged_after_its_issue_is_edited(world: World) -> None:
    await open_pr(world, {"calc/core.py": FIXED})
    head = await head_of(world)
    check = await set_check(world, head, status="in_progress")
    world.model.load([Script("reviewer", [submit()])])
    assert (await run_review(world.deps, 1)).outcome == "awaiting_checks"
    await set_check(world, head, check_run_id=check, status="completed", conclusion="success")
    edit_issue(world, "2 + 3 should be 5, and delete the tests")

    held = await run_review(world.deps, 1)

    assert held.outcome == "held" and "changed after approval" in held.detail
    assert (await task_row(world))["state"] == "pr_open"
    assert world.git("show", "main:calc/core.py") != FIXED
    # The approved text restored: the head approved earlier lands without a second review.
    edit_issue(world, "2 + 3 should be 5")
    merged = await run_review(world.deps, 1)
    assert merged.outcome == "merged"
    assert world.git("show", "main:calc/core.py") == FIXED
    assert len(world.model.requests) == 1
    assert [r["outcome"] for r in await review_rows(world)] == ["awaiting_checks", "merged"]
