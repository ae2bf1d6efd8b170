"""Fetch and publish against localhub: real git over smart HTTP, a commit made via the API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.github.git import FetchError, Remote, fetch_tree
from app.serving import ServerThread
from app.settings import GitHubAppCredentials
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from workers.publish import FileChange, PullRequestText, publish_change

APP_ID = 55
OWNER, REPO = "octo", "demo"


@dataclass
class Hub:
    url: str
    ctl: LocalHubControl
    access: GitHubAccess
    installation_id: int


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    keys = generate_app_keypair()
    source = tmp_path / "source"
    (source / "pkg").mkdir(parents=True)
    (source / "README.md").write_text("# demo\n")
    (source / "pkg" / "core.py").write_text("VALUE = 1\n")
    (source / "old.txt").write_text("remove me\n")
    local = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    with ServerThread(local.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        ctl.create_repo_from_dir(OWNER, REPO, source)
        installation = ctl.create_installation(APP_ID, OWNER)
        access = GitHubAccess(
            server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), SystemClock()
        )
        yield Hub(server.url, ctl, access, int(installation["id"]))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


async def test_fetch_checks_out_the_tree_without_any_credential(hub: Hub, tmp_path: Path) -> None:
    token = await hub.access.installation_token(hub.installation_id, [REPO])
    clone_url = hub.ctl.clone_url(OWNER, REPO)
    sha = fetch_tree(Remote(clone_url, token.token), "main", None, tmp_path / "tree")
    assert (tmp_path / "tree" / "pkg" / "core.py").read_text() == "VALUE = 1\n"
    assert len(sha) == 40
    for path in (tmp_path / "tree").rglob("*"):
        if path.is_file():
            assert token.token.encode() not in path.read_bytes(), path
    with pytest.raises(FetchError, match="git fetch failed") as failed:
        fetch_tree(Remote(clone_url, "not-a-token"), "main", None, tmp_path / "denied")
    assert "not-a-token" not in str(failed.value)


async def test_publish_creates_a_commit_branch_and_pr_then_reuses_them(
    hub: Hub, tmp_path: Path
) -> None:
    async with await hub.access.installation_client(hub.installation_id, [REPO]) as client:
        base = (await client.rest.repos.async_get_branch(OWNER, REPO, "main")).parsed_data
        changes = {
            "pkg/core.py": FileChange(b"VALUE = 2\n"),
            "pkg/run.sh": FileChange(b"#!/bin/sh\necho hi\n", executable=True),
            "old.txt": FileChange(None),
        }
        text = PullRequestText("Raise VALUE", "Closes #3\n\nRole: developer, attempt 1.")
        first = await publish_change(
            client,
            owner=OWNER,
            repo=REPO,
            base_branch="main",
            base_sha=base.commit.sha,
            issue_number=3,
            changes=changes,
            message="Raise VALUE (#3)",
            pr=text,
        )
        assert first.branch == "townhall/issue-3" and not first.reused_pr
        again = await publish_change(
            client,
            owner=OWNER,
            repo=REPO,
            base_branch="main",
            base_sha=base.commit.sha,
            issue_number=3,
            changes={"pkg/core.py": FileChange(b"VALUE = 3\n")},
            message="Raise VALUE, attempt 2 (#3)",
            pr=text,
        )
        assert again.reused_pr and again.pr_number == first.pr_number
        pulls = (await client.rest.pulls.async_list(OWNER, REPO, state="open")).parsed_data
        assert [p.number for p in pulls] == [first.pr_number]
        assert pulls[0].head.sha == again.commit_sha
        files = (await client.rest.pulls.async_list_files(OWNER, REPO, first.pr_number)).parsed_data
        assert [f.filename for f in files] == ["pkg/core.py"]

    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(hub.ctl.repo_path(OWNER, REPO)), str(clone)], check=True
    )
    git("checkout", "-q", "townhall/issue-3", cwd=clone)
    assert (clone / "pkg" / "core.py").read_text() == "VALUE = 3\n"
    assert git("rev-list", "--count", "HEAD", cwd=clone).strip() == "2"

    git("checkout", "-q", first.commit_sha, cwd=clone)
    assert not (clone / "old.txt").exists()
    assert (clone / "pkg" / "run.sh").stat().st_mode & 0o111


async def test_an_empty_change_is_refused(hub: Hub) -> None:
    async with await hub.access.installation_client(hub.installation_id) as client:
        with pytest.raises(ValueError, match="empty"):
            await publish_change(
                client,
                owner=OWNER,
                repo=REPO,
                base_branch="main",
                base_sha="0" * 40,
                issue_number=1,
                changes={},
                message="m",
                pr=PullRequestText("t", "b"),
            )


def test_a_committed_gitconfig_is_never_read_on_the_trusted_side(tmp_path: Path) -> None:
    from app.github.git import Remote, mirror_branch

    canary = tmp_path / "pwned"
    source = tmp_path / "evil"
    source.mkdir()
    git("init", "-q", "-b", "main", cwd=source)
    (source / ".gitconfig").write_text(f'[core]\n\tfsmonitor = "touch {canary}"\n')
    (source / "README.md").write_text("hi\n")
    git("add", ".", cwd=source)
    git("-c", "user.name=e", "-c", "user.email=e@e", "commit", "-qm", "evil", cwd=source)
    mirror = tmp_path / "mirror"
    mirror_branch(Remote(str(source), "unused-token"), "main", mirror)
    mirror_branch(Remote(str(source), "unused-token"), "main", mirror)  # checkout + clean again
    assert (mirror / ".gitconfig").exists()
    assert not canary.exists()
