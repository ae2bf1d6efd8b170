"""Pull request rows: only the App's PRs from its own branches are recorded, and only an open
PR is current."""

from __future__ import annotations

from functools import partial
from typing import Any

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.pulls import (
    PullRequestRecord,
    issue_number_of_branch,
    record_review_state_tx,
    upsert_pull_request_tx,
)
from app.store.tasks import Task, create_task_tx, get_task_tx, transition_tx
from app.taskstate import TaskState

APP = "townhall[bot]"


def _pull(
    number: int,
    ref: str = "townhall/issue-3",
    state: str = "open",
    author: str = APP,
    same_repository: bool = True,
) -> PullRequestRecord:
    return PullRequestRecord(
        number, ref, f"{number:040d}", "main", state, False, None, author, "NONE", same_repository
    )


def _task(store: Store, clock: ManualClock) -> Task:
    def create(tx: Tx) -> Task:
        tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
            " VALUES (1, 1, 'o/r', '', '')"
        )
        task = create_task_tx(
            tx, clock, repo_id=1, issue_number=3, max_attempts=2, priority=1, actor="t", reason="r"
        )
        for target in (TaskState.PLANNED, TaskState.QUEUED):
            transition_tx(tx, clock, task.id, target, actor="t", reason="r")
        return transition_tx(
            tx, clock, task.id, TaskState.RUNNING, actor="t", reason="r", attempt=1
        )

    return store.run_sync(create)


def test_branch_names_name_their_issue() -> None:
    assert issue_number_of_branch("townhall/issue-12") == 12
    assert issue_number_of_branch("townhall/issue-x") is None
    assert issue_number_of_branch("feature/12") is None


def test_an_open_pr_becomes_its_tasks_current_pr(store: Store, clock: ManualClock) -> None:
    task = _task(store, clock)
    assert (
        store.run_sync(lambda tx: upsert_pull_request_tx(tx, clock, 1, _pull(10), APP)) == task.id
    )
    current = store.run_sync(lambda tx: get_task_tx(tx, task.id))
    assert (current.pr_number, current.branch) == (10, "townhall/issue-3")


def test_a_late_event_about_another_pr_does_not_repoint_a_pr_bound_task(
    store: Store, clock: ManualClock
) -> None:
    task = _task(store, clock)

    def open_pr(tx: Tx) -> None:
        upsert_pull_request_tx(tx, clock, 1, _pull(10), APP)
        transition_tx(tx, clock, task.id, TaskState.PR_OPEN, actor="t", reason="r")

    store.run_sync(open_pr)
    store.run_sync(lambda tx: upsert_pull_request_tx(tx, clock, 1, _pull(9), APP))
    assert store.run_sync(lambda tx: get_task_tx(tx, task.id)).pr_number == 10


def test_other_branches_are_not_recorded(store: Store, clock: ManualClock) -> None:
    _task(store, clock)
    assert (
        store.run_sync(lambda tx: upsert_pull_request_tx(tx, clock, 1, _pull(4, "fix"), APP))
        is None
    )
    assert store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM pull_requests")) == 0


def test_review_states_and_merges_are_kept(store: Store, clock: ManualClock) -> None:
    _task(store, clock)
    merged: dict[str, Any] = {
        "number": 10,
        "user": {"login": APP, "type": "Bot"},
        "head": {"ref": "townhall/issue-3", "sha": "a" * 40, "repo": {"id": 7}},
        "base": {"ref": "main", "repo": {"id": 7}},
        "state": "closed",
        "merged": True,
        "merge_commit_sha": "b" * 40,
    }

    def record(tx: Tx) -> None:
        upsert_pull_request_tx(tx, clock, 1, PullRequestRecord.from_github(merged), APP)
        record_review_state_tx(tx, clock, 1, 10, "commented")

    store.run_sync(record)
    row = store.run_sync(
        lambda tx: tx.fetchone(
            "SELECT state, merged, merge_sha, last_review_state FROM pull_requests"
        )
    )
    assert row == {
        "state": "merged",
        "merged": 1,
        "merge_sha": "b" * 40,
        "last_review_state": "commented",
    }


def test_a_townhall_branch_is_ours_only_in_the_base_repository_and_by_the_app(
    store: Store, clock: ManualClock
) -> None:
    task = _task(store, clock)
    fork = _pull(20, same_repository=False)
    person = _pull(21, author="mallory")
    for pull, app in ((fork, APP), (person, APP), (_pull(22), "")):
        linked = store.run_sync(
            partial(upsert_pull_request_tx, clock=clock, repo_id=1, pull=pull, app_login=app)
        )
        assert linked is None
    assert store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM pull_requests")) == 0
    assert store.run_sync(lambda tx: get_task_tx(tx, task.id)).pr_number is None


def test_a_pull_from_a_deleted_fork_is_not_the_base_repositorys() -> None:
    gone: dict[str, Any] = {
        "number": 3,
        "state": "open",
        "user": {"login": APP},
        "head": {"ref": "townhall/issue-3", "sha": "a" * 40, "repo": None},
        "base": {"ref": "main", "repo": {"id": 7}},
    }
    assert not PullRequestRecord.from_github(gone).is_townhalls(APP)


def test_only_the_app_and_people_with_a_role_claim_files() -> None:
    def claims(author: str, association: str) -> bool:
        pull = PullRequestRecord(
            1, "feature", "a" * 40, "main", "open", False, None, author, association, True
        )
        return pull.claims_files(APP)

    assert claims(APP, "NONE") and claims("TownHall[bot]", "NONE")
    assert claims("owner", "OWNER") and claims("member", "MEMBER") and claims("c", "COLLABORATOR")
    for association in (
        "NONE",
        "CONTRIBUTOR",
        "FIRST_TIME_CONTRIBUTOR",
        "FIRST_TIMER",
        "MANNEQUIN",
    ):
        assert not claims("mallory", association)
