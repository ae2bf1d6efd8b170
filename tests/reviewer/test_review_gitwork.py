"""Trusted-side git for the reviewer, on real repositories: merge, conflict, revert, safety."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.github.git import Remote
from reviewer.gitwork import (
    Conflict,
    HeadMoved,
    Merged,
    TreeEntry,
    fetch_branch,
    merge_pull_head,
    revert_changes,
)

IDENTITY = ["-c", "user.name=T", "-c", "user.email=t@example.com"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for path, text in files.items():
        target = repo / path
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.py": "x = 1\n", "b.py": "y = 2\n", ".townhall.toml": "[merge]\n"}, "base")
    return repo


def branch(repo: Path, name: str, files: dict[str, str | None]) -> str:
    git(repo, "checkout", "-q", "-b", name, "main")
    sha = commit(repo, files, f"work on {name}")
    git(repo, "checkout", "-q", "main")
    return sha


def test_the_head_is_merged_with_the_current_base(origin: Path, tmp_path: Path) -> None:
    head = branch(origin, "townhall/issue-1", {"a.py": "x = 10\n"})
    base = commit(origin, {"b.py": "y = 20\n"}, "meanwhile on main")

    merged = merge_pull_head(
        Remote(str(origin), "t0ken"), "main", "townhall/issue-1", head, tmp_path / "w"
    )

    assert isinstance(merged, Merged)
    assert (merged.base_sha, merged.head_sha) == (base, head)
    tree = tmp_path / "w" / "tree"
    assert (tree / "a.py").read_text() == "x = 10\n" and (tree / "b.py").read_text() == "y = 20\n"
    # The diff is the PR's own change (base...head), not the base's later commits.
    assert "+x = 10" in merged.diff_text and "y = 20" not in merged.diff_text
    assert merged.policy_text == "[merge]\n"


def test_the_policy_comes_from_the_base_not_the_pull_request(origin: Path, tmp_path: Path) -> None:
    head = branch(origin, "pr", {".townhall.toml": '[merge]\nmode = "auto"\n'})
    merged = merge_pull_head(Remote(str(origin), "t"), "main", "pr", head, tmp_path / "w")
    assert isinstance(merged, Merged) and merged.policy_text == "[merge]\n"


def test_a_conflict_names_the_files(origin: Path, tmp_path: Path) -> None:
    head = branch(origin, "pr", {"a.py": "x = 'head'\n"})
    base = commit(origin, {"a.py": "x = 'base'\n"}, "conflicting")
    result = merge_pull_head(Remote(str(origin), "t"), "main", "pr", head, tmp_path / "w")
    assert result == Conflict(base, ("a.py",))


def test_a_head_no_longer_on_its_branch_is_stale(origin: Path, tmp_path: Path) -> None:
    old = branch(origin, "pr", {"a.py": "x = 3\n"})
    git(origin, "branch", "-f", "pr", "main")  # force-pushed away
    git(origin, "gc", "-q", "--prune=now")
    with pytest.raises(HeadMoved):
        merge_pull_head(Remote(str(origin), "t"), "main", "pr", old, tmp_path / "w")


def test_a_gitconfig_in_the_pull_request_is_never_read(origin: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    hostile = f'[core]\n\tfsmonitor = "touch {marker}; false"\n'
    head = branch(origin, "pr", {".gitconfig": hostile, "a.py": "x = 4\n"})
    commit(origin, {"b.py": "y = 5\n"}, "base moves")
    # The same file does run when git's HOME is the work tree (how app.github.git.run_git
    # runs git): this is the attack the workspace layout prevents.
    probe = tmp_path / "probe"
    subprocess.run(["git", "clone", "-q", "-b", "pr", str(origin), str(probe)], check=True)
    subprocess.run(
        ["git", "-C", str(probe), "status"],
        env={"HOME": str(probe), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"},
        capture_output=True,
        check=False,
    )
    assert marker.exists()
    marker.unlink()

    merged = merge_pull_head(Remote(str(origin), "t"), "main", "pr", head, tmp_path / "w")
    assert isinstance(merged, Merged)
    assert not marker.exists()


def test_a_revert_is_computed_on_top_of_later_commits(origin: Path, tmp_path: Path) -> None:
    merge = commit(origin, {"a.py": "x = 'merged'\n", "c.py": "new = 1\n"}, "the merge")
    tip = commit(origin, {"b.py": "y = 'later'\n"}, "a later commit")
    space, fetched_tip = fetch_branch(Remote(str(origin), "t"), "main", tmp_path / "w")
    assert fetched_tip == tip

    changes = revert_changes(space, merge, tip)

    assert changes == {"a.py": TreeEntry("100644", b"x = 1\n"), "c.py": TreeEntry("100644", None)}


def test_a_revert_that_conflicts_with_later_commits_is_none(origin: Path, tmp_path: Path) -> None:
    merge = commit(origin, {"a.py": "x = 'merged'\n"}, "the merge")
    tip = commit(origin, {"a.py": "x = 'edited after'\n"}, "edits the same line")
    space, _ = fetch_branch(Remote(str(origin), "t"), "main", tmp_path / "w")
    assert revert_changes(space, merge, tip) is None
