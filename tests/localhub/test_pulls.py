"""Git data, pull requests, reviews and real merges, driven through githubkit."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from .conftest import OWNER, REPO, World


def commit_files(gh: GitHub[Any], parent: str, files: dict[str, str | None], message: str) -> str:
    """Create blobs, a tree on top of `parent`'s tree and a commit; return the commit sha."""
    base_tree = gh.rest.git.get_commit(OWNER, REPO, parent).parsed_data.tree.sha
    entries: list[Any] = []
    for path, text in files.items():
        if text is None:
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": None})
            continue
        encoded = base64.b64encode(text.encode()).decode()
        blob = gh.rest.git.create_blob(OWNER, REPO, content=encoded, encoding="base64")
        sha = blob.parsed_data.sha
        entries.append({"path": path, "mode": "100644", "type": "blob", "sha": sha})
    tree = gh.rest.git.create_tree(OWNER, REPO, tree=entries, base_tree=base_tree).parsed_data
    commit = gh.rest.git.create_commit(
        OWNER, REPO, message=message, tree=tree.sha, parents=[parent]
    ).parsed_data
    assert commit.parents[0].sha == parent and commit.tree.sha == tree.sha
    return commit.sha


def main_sha(gh: GitHub[Any]) -> str:
    """Return the tip of main."""
    return gh.rest.repos.get_branch(OWNER, REPO, "main").parsed_data.commit.sha


def open_pull(gh: GitHub[Any], branch: str, sha: str, title: str, body: str = "") -> int:
    """Create `branch` at `sha` and open a pull request from it into main."""
    ref = gh.rest.git.create_ref(OWNER, REPO, ref=f"refs/heads/{branch}", sha=sha).parsed_data
    assert ref.object_.sha == sha
    pull = gh.rest.pulls.create(OWNER, REPO, title=title, head=branch, base="main", body=body)
    assert pull.status_code == 201
    return pull.parsed_data.number


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git and return stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def test_git_data_api_round_trips(world: World) -> None:
    gh = world.as_installation()
    blob = gh.rest.git.create_blob(OWNER, REPO, content="plain text\n", encoding="utf-8")
    assert blob.status_code == 201
    fetched = gh.rest.git.get_blob(OWNER, REPO, blob.parsed_data.sha).parsed_data
    assert base64.b64decode(fetched.content) == b"plain text\n" and fetched.size == 11
    empty = gh.rest.git.create_blob(OWNER, REPO, content="", encoding="utf-8").parsed_data
    assert empty.sha == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    head = main_sha(gh)
    sha = commit_files(gh, head, {"docs/guide/intro.md": "hi\n", "README.md": None}, "Docs")
    tree = gh.rest.git.get_tree(OWNER, REPO, sha, recursive="1").parsed_data
    paths = {item.path for item in tree.tree}
    assert {"docs", "docs/guide", "docs/guide/intro.md", "pkg/core.py"} <= paths
    assert "README.md" not in paths
    top = gh.rest.git.get_tree(OWNER, REPO, sha).parsed_data
    assert sorted(item.path for item in top.tree) == ["docs", "pkg"]
    commit = gh.rest.git.get_commit(OWNER, REPO, sha).parsed_data
    assert commit.message == "Docs" and commit.author.name == "townhall[bot]"

    gh.rest.git.create_ref(OWNER, REPO, ref="refs/heads/topic", sha=sha)
    assert gh.rest.git.get_ref(OWNER, REPO, "heads/topic").parsed_data.object_.sha == sha
    with pytest.raises(RequestFailed) as caught:
        gh.rest.git.create_ref(OWNER, REPO, ref="refs/heads/topic", sha=sha)
    assert caught.value.response.status_code == 422
    with pytest.raises(RequestFailed) as caught:
        gh.rest.git.update_ref(OWNER, REPO, "heads/topic", sha=head)
    assert caught.value.response.json()["message"] == "Update is not a fast forward"
    forced = gh.rest.git.update_ref(OWNER, REPO, "heads/topic", sha=head, force=True)
    assert forced.parsed_data.object_.sha == head
    branches = gh.rest.repos.list_branches(OWNER, REPO).parsed_data
    assert sorted(b.name for b in branches) == ["main", "topic"]
    gh.rest.git.delete_ref(OWNER, REPO, "heads/topic")
    with pytest.raises(RequestFailed) as caught:
        gh.rest.git.get_ref(OWNER, REPO, "heads/topic")
    assert caught.value.response.status_code == 404
    content = gh.rest.repos.get_content(OWNER, REPO, "pkg/core.py", ref=sha).parsed_data
    assert not isinstance(content, list) and content.type == "file"
    assert base64.b64decode(content.content).startswith(b"line 1\n")


def test_pull_request_squash_merge_is_visible_in_a_clone(world: World, tmp_path: Path) -> None:
    gh = world.as_installation()
    world.ctl.create_issue(OWNER, REPO, "alice", "Add a greeting")
    base = main_sha(gh)
    first = commit_files(gh, base, {"pkg/greet.py": "def hi():\n    return 'hi'\n"}, "Add hi")
    second = commit_files(gh, first, {"pkg/core.py": "line 1\nline two\n"}, "Shorten core")
    number = open_pull(gh, "townhall/issue-1", second, "Add a greeting", "Closes #1")

    pull = gh.rest.pulls.get(OWNER, REPO, number).parsed_data
    assert (pull.head.sha, pull.base.sha, pull.head.ref) == (second, base, "townhall/issue-1")
    assert pull.mergeable is True and pull.mergeable_state == "clean"
    assert (pull.commits, pull.changed_files) == (2, 2)
    files = gh.rest.pulls.list_files(OWNER, REPO, number).parsed_data
    by_name = {f.filename: f for f in files}
    assert by_name["pkg/greet.py"].status == "added" and by_name["pkg/greet.py"].additions == 2
    assert by_name["pkg/core.py"].status == "modified"
    found = gh.rest.pulls.list(OWNER, REPO, head=f"{OWNER}:townhall/issue-1").parsed_data
    assert [p.number for p in found] == [number]
    assert gh.rest.pulls.list(OWNER, REPO, head=f"{OWNER}:other").parsed_data == []

    with pytest.raises(RequestFailed) as caught:
        gh.rest.pulls.merge(OWNER, REPO, number, sha=base, merge_method="squash")
    assert caught.value.response.status_code == 409

    merged = gh.rest.pulls.merge(OWNER, REPO, number, sha=second, merge_method="squash")
    assert merged.parsed_data.merged is True
    after = gh.rest.pulls.get(OWNER, REPO, number).parsed_data
    assert after.merged and after.state == "closed"
    # The pinned 2022-11-28 version keeps merge_commit_sha (2026-03-10 removed it).
    assert after.merge_commit_sha == merged.parsed_data.sha
    assert after.merged_by and after.merged_by.login == "townhall[bot]"
    assert gh.rest.issues.get(OWNER, REPO, 1).parsed_data.state == "closed"

    clone = tmp_path / "clone"
    git("clone", "--quiet", str(world.repo_path), str(clone))
    assert git("rev-parse", "HEAD", cwd=clone).strip() == merged.parsed_data.sha
    assert git("rev-list", "--count", "HEAD", cwd=clone).strip() == "2"
    assert git("log", "-1", "--format=%s", cwd=clone).strip() == "Add a greeting (#2)"
    assert (clone / "pkg" / "greet.py").read_text() == "def hi():\n    return 'hi'\n"
    assert (clone / "pkg" / "core.py").read_text() == "line 1\nline two\n"


def test_conflicting_pull_request_is_refused_with_405(world: World) -> None:
    gh = world.as_installation()
    base = main_sha(gh)
    ours = commit_files(gh, base, {"README.md": "# ours\n"}, "Ours")
    theirs = commit_files(gh, base, {"README.md": "# theirs\n"}, "Theirs")
    first = open_pull(gh, "ours", ours, "Ours")
    second = open_pull(gh, "theirs", theirs, "Theirs")
    gh.rest.pulls.merge(OWNER, REPO, first, merge_method="merge")
    log = gh.rest.git.get_commit(OWNER, REPO, main_sha(gh)).parsed_data
    assert [p.sha for p in log.parents] == [base, ours]

    pull = gh.rest.pulls.get(OWNER, REPO, second).parsed_data
    assert pull.mergeable is False and pull.mergeable_state == "dirty"
    with pytest.raises(RequestFailed) as caught:
        gh.rest.pulls.merge(OWNER, REPO, second, sha=theirs, merge_method="squash")
    assert caught.value.response.status_code == 405
    assert caught.value.response.json()["message"] == "Pull Request is not mergeable"


def test_rebase_merge_replays_commits(world: World) -> None:
    gh = world.as_installation()
    base = main_sha(gh)
    one = commit_files(gh, base, {"a.txt": "a\n"}, "One")
    two = commit_files(gh, one, {"b.txt": "b\n"}, "Two")
    number = open_pull(gh, "linear", two, "Linear")
    merged = gh.rest.pulls.merge(OWNER, REPO, number, merge_method="rebase").parsed_data
    tip = gh.rest.git.get_commit(OWNER, REPO, merged.sha).parsed_data
    assert tip.message.strip() == "Two" and tip.committer.name == "GitHub"
    parent = gh.rest.git.get_commit(OWNER, REPO, tip.parents[0].sha).parsed_data
    assert parent.message.strip() == "One" and parent.parents[0].sha == base


def test_reviews_validate_inline_comment_lines_against_the_diff(world: World) -> None:
    gh, carol = world.as_installation(), world.as_user("carol")
    base = main_sha(gh)
    lines = "".join(f"line {n}\n" for n in range(1, 21)).replace("line 10\n", "line ten\n")
    head = commit_files(gh, base, {"pkg/core.py": lines}, "Rename ten")
    number = open_pull(gh, "ten", head, "Ten")

    review = carol.rest.pulls.create_review(
        OWNER,
        REPO,
        number,
        body="One nit",
        event="REQUEST_CHANGES",
        comments=[{"path": "pkg/core.py", "line": 10, "side": "RIGHT", "body": "why?"}],
    ).parsed_data
    assert review.state == "CHANGES_REQUESTED" and review.commit_id == head
    comments = gh.rest.pulls.list_review_comments(OWNER, REPO, number).parsed_data
    assert [(c.path, c.line, c.side) for c in comments] == [("pkg/core.py", 10, "RIGHT")]
    assert comments[0].diff_hunk.endswith("+line ten")

    with pytest.raises(RequestFailed) as caught:
        carol.rest.pulls.create_review(
            OWNER,
            REPO,
            number,
            body="Far away",
            event="COMMENT",
            comments=[{"path": "pkg/core.py", "line": 19, "body": "not in the diff"}],
        )
    assert caught.value.response.status_code == 422
    assert "must be part of the diff" in caught.value.response.text
    with pytest.raises(RequestFailed) as caught:
        carol.rest.pulls.create_review_comment(
            OWNER, REPO, number, body="x", commit_id=head, path="pkg/core.py", line=1
        )
    assert caught.value.response.status_code == 422
    single = carol.rest.pulls.create_review_comment(
        OWNER, REPO, number, body="ok", commit_id=head, path="pkg/core.py", line=9, side="LEFT"
    ).parsed_data
    assert (single.line, single.side) == (9, "LEFT")

    with pytest.raises(RequestFailed) as caught:
        gh.rest.pulls.create_review(OWNER, REPO, number, event="APPROVE")
    assert "Can not approve your own pull request" in caught.value.response.text
    approved = carol.rest.pulls.create_review(OWNER, REPO, number, event="APPROVE").parsed_data
    assert approved.state == "APPROVED"
    states = [r.state for r in gh.rest.pulls.list_reviews(OWNER, REPO, number).parsed_data]
    assert states == ["CHANGES_REQUESTED", "APPROVED"]


def test_pull_request_updates_and_head_push_sync(world: World) -> None:
    gh = world.as_installation()
    base = main_sha(gh)
    first = commit_files(gh, base, {"x.txt": "1\n"}, "x1")
    number = open_pull(gh, "sync", first, "Sync")
    second = commit_files(gh, first, {"x.txt": "2\n"}, "x2")
    gh.rest.git.update_ref(OWNER, REPO, "heads/sync", sha=second)
    assert gh.rest.pulls.get(OWNER, REPO, number).parsed_data.head.sha == second
    edited = gh.rest.pulls.update(OWNER, REPO, number, title="Synced", body="b").parsed_data
    assert (edited.title, edited.body) == ("Synced", "b")
    closed = gh.rest.pulls.update(OWNER, REPO, number, state="closed").parsed_data
    assert closed.state == "closed" and not closed.merged and closed.mergeable is None
    with pytest.raises(RequestFailed) as caught:
        gh.rest.pulls.merge(OWNER, REPO, number)
    assert caught.value.response.status_code == 405
    with pytest.raises(RequestFailed) as caught:
        gh.rest.pulls.create(OWNER, REPO, title="empty", head="main", base="main")
    assert caught.value.response.status_code == 422
