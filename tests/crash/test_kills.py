"""Kill `townhall dev` with SIGKILL at points of the flow, restart it, and check the invariants.

The kill points are moments observed from outside, in flow order: a plan asked of the model, an
agent mid-way, a worker's commit, a PR opened, a review asked of the model, a review posted
(localhub holds the next read so the kill lands before the merge), a merge requested, a
post-merge check running (seen in the store). A seeded choice of them is used, in flow order;
a point the flow has already passed by then is replaced by a kill after a short, seeded delay.
A maintainer's veto is made while Townhall is down. Afterwards the flow must end as it does
without kills: every approved issue merged (or in a terminal state with its reason), one PR per
issue, one review per head, one reply per command, nothing stuck, no attempt counted for a
crash, and the veto honoured.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.commands import REPLY_MARKER
from app.store import Store
from app.store.attempt_results import AttemptOutcome
from app.taskstate import INFRASTRUCTURE_OUTCOMES, TERMINAL, TaskState
from tests.crash.rig import ISSUES, OWNER, REPO, Rig, crash_rig, file_issue

# A fixed seed keeps CI's run the same; set TOWNHALL_CRASH_SEED to explore others.
SEED = int(os.environ.get("TOWNHALL_CRASH_SEED", "20"))
KILLS = 6
APPROVED = ("multiply", "docs")  # disjoint files: they run side by side
VETOED = "vetoed"
FALLBACK_SECONDS = (0.5, 3.0)  # a kill at a seeded moment when the chosen point never comes
FINISH_SECONDS = 60.0
# Attempt outcomes that do not count against max_attempts (app/taskstate.py).
UNCOUNTED = {str(o) for o in INFRASTRUCTURE_OUTCOMES} | {AttemptOutcome.HELD.value}

ATTEMPTS = "SELECT task_id, number, outcome FROM attempts ORDER BY task_id, number"
CHECK_RUNS = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"


@dataclass(frozen=True)
class KillPoint:
    """A moment of the flow, told by a counter that grows when it comes."""

    name: str
    count: Callable[[Rig, Store], int]
    hold: tuple[str, str] | None = None  # (method, path glob) localhub holds while we kill
    while_down: Callable[[Rig], object] | None = None  # what happened before the kill landed


def route(template: str) -> Callable[[Rig, Store], int]:
    return lambda rig, store: rig.routes().get(template, 0)


def model(responder: str) -> Callable[[Rig, Store], int]:
    return lambda rig, store: rig.model_calls(responder)


def merged_unchecked(rig: Rig, store: Store) -> int:
    return int(
        store.run_sync(
            lambda tx: tx.scalar(
                "SELECT COUNT(*) FROM reviews WHERE outcome = 'merged' AND post_merge IS NULL"
            )
        )
    )


POINTS = (
    KillPoint("a plan is asked for", model("planner")),
    KillPoint("an agent is mid-way", model("workers")),
    KillPoint("a worker commits", route("POST /repos/{owner}/{repo}/git/commits")),
    KillPoint("a PR is opened", route("POST /repos/{owner}/{repo}/pulls")),
    KillPoint("a review is asked for", model("reviewer")),
    KillPoint(
        "a review was posted, the merge not yet made",
        route(CHECK_RUNS),
        hold=("GET", f"/repos/{OWNER}/{REPO}/commits/*/check-runs"),
    ),
    KillPoint(
        "a merge was made, not yet recorded",
        route(CHECK_RUNS),
        hold=("GET", f"/repos/{OWNER}/{REPO}/commits/*/check-runs"),
        while_down=Rig.merge_reviewed_pull_as_app,
    ),
    KillPoint("a merge is requested", route("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")),
    KillPoint("a post-merge check runs", merged_unchecked),
)


def kill_at(
    rig: Rig,
    store: Store,
    point: KillPoint,
    rng: random.Random,
    then: Callable[[], None] | None = None,
) -> str:
    """Run `townhall dev` until `point` comes (or a seeded moment passes), then SIGKILL it.

    `then` runs once `townhall dev` is up (the first run files the issues).
    """
    if point.hold is not None:
        method, path = point.hold
        rig.ctl.inject_fault(path, kind="delay", times=1, method=method, delay=1.0)
    before = point.count(rig, store)
    rig.start()
    if then is not None:
        then()
    deadline = time.monotonic() + 20
    fallback: float | None = None
    while point.count(rig, store) <= before:
        if fallback is None and time.monotonic() > deadline:
            fallback = time.monotonic() + rng.uniform(*FALLBACK_SECONDS)
        if fallback is not None and time.monotonic() > fallback:
            rig.kill()
            rig.ctl.clear_faults()
            return f"{point.name}: not reached; killed at a seeded moment"
        time.sleep(0.01)
    rig.kill()
    rig.ctl.clear_faults()
    if point.while_down is not None and (done := point.while_down(rig)) is not None:
        rig.staged.append(int(str(done)))
        return f"{point.name} (PR #{done})"
    return point.name


def finished(store: Store, issues: dict[str, int]) -> bool:
    """Whether every approved issue's task is terminal and its merge checked."""
    numbers = [issues[key] for key in APPROVED]
    rows = store.run_sync(
        lambda tx: tx.fetchall(
            "SELECT t.issue_number, t.state, (SELECT COUNT(*) FROM reviews r WHERE r.task_id ="
            " t.id AND r.outcome = 'merged' AND r.post_merge IS NULL) AS unchecked FROM tasks t"
        )
    )
    by_issue = {row["issue_number"]: row for row in rows}
    return all(
        n in by_issue
        and by_issue[n]["state"] in (*TERMINAL, TaskState.NEEDS_HUMAN)
        and by_issue[n]["unchecked"] == 0
        for n in numbers
    )


def test_kills_at_many_points_leave_every_invariant(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    plan = sorted(rng.sample(range(len(POINTS)), KILLS))
    veto_after = rng.randrange(1, KILLS)
    with crash_rig(tmp_path) as rig:
        store = rig.open_store()
        try:
            vetoed = next(i for i in ISSUES if i.key == VETOED)

            def file_issues() -> None:
                rig.install()
                for issue in ISSUES:
                    if issue.key in APPROVED:
                        file_issue(rig, issue)
                rig.issues[VETOED] = int(
                    rig.ctl.create_issue(OWNER, REPO, vetoed.author, vetoed.title, vetoed.body)[
                        "number"
                    ]
                )

            kills: list[str] = []
            veto_comment = 0
            for index, point in enumerate(plan):
                kills.append(
                    kill_at(rig, store, POINTS[point], rng, file_issues if index == 0 else None)
                )
                kills[-1] += f" ({time.monotonic() - started:.0f}s)"
                number = rig.issues[VETOED]
                if index + 1 == veto_after:
                    # Votes pass and a maintainer vetoes while Townhall is down: no webhook of
                    # either reaches it.
                    votes = [{"user": voter, "content": "+1"} for voter in vetoed.voters]
                    rig.ctl.add_reactions(OWNER, REPO, number, votes)
                    comment = rig.ctl.create_comment(
                        OWNER, REPO, number, "maintainer", "/townhall reject not for us"
                    )
                    veto_comment = int(comment["id"])
            restarted = time.monotonic()
            rig.start()
            deadline = restarted + FINISH_SECONDS
            while not finished(store, rig.issues) and time.monotonic() < deadline:
                time.sleep(0.2)
            recovery = time.monotonic() - restarted
            rig.stop()
            print(f"kills: {kills}; finished {recovery:.1f}s after the last restart")
            print("attempts:", store.run_sync(lambda tx: tx.fetchall(ATTEMPTS)))
            check_invariants(rig, store, veto_comment)
        finally:
            store.close_sync()
    assert time.monotonic() - started < 150, "the crash suite took too long"


def check_invariants(rig: Rig, store: Store, veto_comment: int) -> None:
    tasks = {
        row["issue_number"]: row
        for row in store.run_sync(lambda tx: tx.fetchall("SELECT * FROM tasks ORDER BY id"))
    }
    with rig.github() as github:
        pulls = github.rest.pulls.list(OWNER, REPO, state="all", per_page=100).parsed_data
        reviews = {
            pull.number: list(github.rest.pulls.list_reviews(OWNER, REPO, pull.number).parsed_data)
            for pull in pulls
        }
        replies = [
            comment.body or ""
            for comment in github.rest.issues.list_comments(
                OWNER, REPO, rig.issues[VETOED], per_page=100
            ).parsed_data
            if comment.user and comment.user.login == "townhall[bot]"
        ]
    stuck = {n: t["state"] for n, t in tasks.items() if t["state"] not in TERMINAL}
    stuck = {n: s for n, s in stuck.items() if s != TaskState.NEEDS_HUMAN}
    assert not stuck, f"tasks left unfinished: {stuck}"

    for key in APPROVED:
        number = rig.issues[key]
        task = tasks[number]
        # Every approved issue merged, or ended in a terminal state with its reason.
        if task["state"] != TaskState.MERGED:
            reason = _last_reason(store, task["id"])
            raise AssertionError(f"#{number} ended {task['state']}: {reason}")
        # One PR per issue.
        branch = f"townhall/issue-{number}"
        assert [p.number for p in pulls if p.head.ref == branch] == [task["pr_number"]]
        # Townhall's merge recorded as its own, with its post-merge check.
        rows = _reviews(store, task["id"])
        assert [(r["outcome"], r["post_merge"] is not None) for r in rows][-1:] == [
            ("merged", True)
        ], rows
        # No attempt counted for a crash: the scripted work always succeeds on its merits.
        outcomes = _attempt_outcomes(store, task["id"])
        counted = [o for o in outcomes if o not in UNCOUNTED and o != AttemptOutcome.VERIFIED]
        assert counted == [], f"#{number}: attempts counted though no work failed: {outcomes}"

    # One review per head.
    for number, posted in reviews.items():
        heads = [r.commit_id for r in posted if r.user and r.user.login == "townhall[bot]"]
        assert len(heads) == len(set(heads)), f"PR #{number} reviewed twice on a head: {heads}"

    # A merge the App made and a kill kept from being recorded is recorded as Townhall's.
    own = store.run_sync(
        lambda tx: tx.fetchall(
            "SELECT t.pr_number FROM events e JOIN tasks t ON t.id = e.task_id"
            " WHERE e.to_state = 'merged' AND e.reason LIKE '%by Townhall%'"
        )
    )
    assert set(rig.staged) <= {row["pr_number"] for row in own}, (rig.staged, own)
    merged_by_hand = store.run_sync(
        lambda tx: tx.scalar("SELECT COUNT(*) FROM events WHERE reason = 'PR merged by hand'")
    )
    assert merged_by_hand == 0

    # The veto made while Townhall was down is honoured, and answered once.
    vetoed = tasks.get(rig.issues[VETOED])
    assert vetoed is None or vetoed["state"] == TaskState.CANCELLED, dict(vetoed or {})
    assert not [p for p in pulls if p.head.ref == f"townhall/issue-{rig.issues[VETOED]}"]
    marker = REPLY_MARKER.format(comment_id=veto_comment)
    assert sum(1 for body in replies if body.startswith(marker)) <= 1


def _reviews(store: Store, task_id: int) -> list[dict[str, Any]]:
    return store.run_sync(
        lambda tx: tx.fetchall(
            "SELECT head_sha, outcome, post_merge FROM reviews WHERE task_id = ? ORDER BY id",
            (task_id,),
        )
    )


def _attempt_outcomes(store: Store, task_id: int) -> list[str]:
    rows = store.run_sync(
        lambda tx: tx.fetchall(
            "SELECT outcome FROM attempts WHERE task_id = ? AND outcome IS NOT NULL"
            " ORDER BY number",
            (task_id,),
        )
    )
    return [str(row["outcome"]) for row in rows]


def _last_reason(store: Store, task_id: int) -> str:
    return str(
        store.run_sync(
            lambda tx: tx.scalar(
                "SELECT reason FROM events WHERE task_id = ? ORDER BY id DESC LIMIT 1", (task_id,)
            )
        )
    )
