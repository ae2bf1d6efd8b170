"""Check runs and commit statuses over REST, and how they colour a pull request's state."""

from __future__ import annotations

import pytest
from githubkit.exception import RequestFailed

from .conftest import OWNER, REPO, World
from .test_pulls import commit_files, main_sha, open_pull


def test_check_runs_create_update_list(world: World) -> None:
    gh = world.as_installation()
    head = main_sha(gh)
    run = gh.rest.checks.create(
        OWNER, REPO, name="townhall/review", head_sha=head, status="in_progress"
    ).parsed_data
    assert run.status == "in_progress" and run.app and run.app.slug == "townhall"
    done = gh.rest.checks.update(
        OWNER,
        REPO,
        run.id,
        conclusion="success",
        output={"title": "Looks good", "summary": "No findings"},
    ).parsed_data
    assert (done.status, done.conclusion) == ("completed", "success")
    assert done.output.title == "Looks good" and done.completed_at is not None
    listed = gh.rest.checks.list_for_ref(OWNER, REPO, "main").parsed_data
    assert listed.total_count == 1 and listed.check_runs[0].id == run.id
    assert gh.rest.checks.get(OWNER, REPO, run.id).parsed_data.conclusion == "success"


def test_only_apps_create_check_runs(world: World) -> None:
    carol = world.as_user("carol")
    with pytest.raises(RequestFailed) as caught:
        carol.rest.checks.create(OWNER, REPO, name="mine", head_sha="main")
    assert caught.value.response.status_code == 403


def test_statuses_combine_and_mark_a_pull_request_unstable(world: World) -> None:
    gh = world.as_installation()
    head = commit_files(gh, main_sha(gh), {"y.txt": "y\n"}, "y")
    number = open_pull(gh, "statuses", head, "Statuses")
    ok = gh.rest.repos.create_commit_status(OWNER, REPO, head, state="success", context="build")
    assert ok.status_code == 201 and ok.parsed_data.creator
    gh.rest.repos.create_commit_status(OWNER, REPO, head, state="pending", context="tests")
    combined = gh.rest.repos.get_combined_status_for_ref(OWNER, REPO, head).parsed_data
    assert (combined.state, combined.total_count) == ("pending", 2)
    gh.rest.repos.create_commit_status(
        OWNER, REPO, head, state="failure", context="tests", description="2 failed"
    )
    combined = gh.rest.repos.get_combined_status_for_ref(OWNER, REPO, "statuses").parsed_data
    assert combined.state == "failure" and combined.sha == head
    listed = gh.rest.repos.list_commit_statuses_for_ref(OWNER, REPO, head).parsed_data
    assert [s.state for s in listed] == ["failure", "pending", "success"]
    pull = gh.rest.pulls.get(OWNER, REPO, number).parsed_data
    assert pull.mergeable is True and pull.mergeable_state == "unstable"
