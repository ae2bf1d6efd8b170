"""The remaining REST endpoints, each answer validated by githubkit's parsed_data."""

from __future__ import annotations

import io
import tarfile

import pytest
from githubkit.exception import RequestFailed

from .conftest import OWNER, REPO, World
from .test_pulls import commit_files, main_sha, open_pull


def test_installation_and_repository_listings(world: World) -> None:
    app, bot = world.as_app(), world.as_installation()
    one = app.rest.apps.get_installation(world.installation_id).parsed_data
    assert one.account and one.account.login == OWNER  # type: ignore[union-attr]
    reachable = bot.rest.apps.list_repos_accessible_to_installation().parsed_data
    assert [r.full_name for r in reachable.repositories] == [f"{OWNER}/{REPO}"]
    limits = bot.rest.rate_limit.get().parsed_data
    assert limits.resources.core.limit == 5000 and limits.resources.core.used >= 1
    listing = bot.rest.repos.get_content(OWNER, REPO, "pkg").parsed_data
    assert isinstance(listing, list) and [e.path for e in listing] == ["pkg/core.py"]
    head = main_sha(bot)
    commit = bot.rest.repos.get_commit(OWNER, REPO, "main").parsed_data
    assert commit.sha == head and commit.commit.message == "Initial commit"
    refs = bot.rest.git.list_matching_refs(OWNER, REPO, "heads/ma").parsed_data
    assert [r.ref for r in refs] == ["refs/heads/main"]
    with pytest.raises(RequestFailed) as caught:
        bot.rest.repos.get_content(OWNER, REPO, "missing.txt")
    assert caught.value.response.status_code == 404


def test_labels_assignees_and_comment_reactions(world: World) -> None:
    bot, alice = world.as_installation(), world.as_user("alice")
    made = bot.rest.issues.create_label(
        OWNER, REPO, name="townhall:approved", color="0e8a16", description="Voted in"
    ).parsed_data
    assert (made.name, made.color) == ("townhall:approved", "0e8a16")
    world.ctl.create_issue(OWNER, REPO, "alice", "Labels")
    bot.rest.issues.add_labels(OWNER, REPO, 1, labels=["a", "b"])
    replaced = bot.rest.issues.set_labels(OWNER, REPO, 1, labels=["b", "townhall:approved"])
    assert sorted(label.name for label in replaced.parsed_data) == ["b", "townhall:approved"]
    names = [
        label.name for label in bot.rest.issues.list_labels_on_issue(OWNER, REPO, 1).parsed_data
    ]
    assert sorted(names) == ["b", "townhall:approved"]
    repo_labels = bot.rest.issues.list_labels_for_repo(OWNER, REPO).parsed_data
    assert {label.name for label in repo_labels} == {"townhall:approved", "a", "b"}

    bot.rest.issues.add_assignees(OWNER, REPO, 1, assignees=["carol", "bob"])
    left = bot.rest.issues.remove_assignees(OWNER, REPO, 1, assignees=["carol"]).parsed_data
    assert [a.login for a in left.assignees or []] == ["bob"]

    comment = alice.rest.issues.create_comment(OWNER, REPO, 1, body="/townhall approve")
    cid = comment.parsed_data.id
    reaction = bot.rest.reactions.create_for_issue_comment(OWNER, REPO, cid, content="eyes")
    assert reaction.status_code == 201
    listed = bot.rest.reactions.list_for_issue_comment(OWNER, REPO, cid).parsed_data
    assert [(r.content, r.user and r.user.login) for r in listed] == [("eyes", "townhall[bot]")]
    bot.rest.reactions.delete_for_issue_comment(OWNER, REPO, cid, reaction.parsed_data.id)
    assert bot.rest.reactions.list_for_issue_comment(OWNER, REPO, cid).parsed_data == []


def test_check_if_merged(world: World) -> None:
    bot = world.as_installation()
    head = commit_files(bot, main_sha(bot), {"m.txt": "m\n"}, "m")
    number = open_pull(bot, "m", head, "M")
    with pytest.raises(RequestFailed) as caught:
        bot.rest.pulls.check_if_merged(OWNER, REPO, number)
    assert caught.value.response.status_code == 404
    bot.rest.pulls.merge(OWNER, REPO, number, merge_method="squash")
    assert bot.rest.pulls.check_if_merged(OWNER, REPO, number).status_code == 204
    closed = bot.rest.pulls.list(OWNER, REPO, state="closed").parsed_data
    assert [p.number for p in closed] == [number] and closed[0].merged_at is not None


def test_tarball_holds_the_tree_at_a_ref(world: World) -> None:
    bot = world.as_installation()
    answer = bot.rest.repos.download_tarball_archive(OWNER, REPO, "main")
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        names = sorted(archive.getnames())
    prefix = f"{OWNER}-{REPO}-{main_sha(bot)[:7]}"
    assert f"{prefix}/pkg/core.py" in names and f"{prefix}/README.md" in names
