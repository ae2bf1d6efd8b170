"""Reading co-change history from a real git repository and from a JSONL file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.scheduling import build_cochange
from app.scheduling.sources import GitHistoryError, load_commit_file, read_git_history


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, message: str, changes: dict[str, str]) -> None:
    for name, text in changes.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository where app/routes.py and tests/test_routes.py always change together."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    git(tmp_path, "config", "commit.gpgsign", "false")
    commit(tmp_path, "start", {"README.md": "hello\n"})
    for round_number in range(3):
        commit(
            tmp_path,
            f"routes {round_number}",
            {
                "app/routes.py": f"ROUTES = {round_number}\n",
                "tests/test_routes.py": f"# {round_number}\n",
            },
        )
    commit(tmp_path, "models", {"app/models.py": "MODELS = 1\n"})
    git(tmp_path, "checkout", "--quiet", "-b", "side")
    commit(tmp_path, "side", {"docs/side.md": "side\n"})
    git(tmp_path, "checkout", "--quiet", "main")
    commit(tmp_path, "main again", {"app/models.py": "MODELS = 2\n"})
    git(tmp_path, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
    commit(tmp_path, "vendor", {f"vendor/lib{n}.py": "x = 1\n" for n in range(12)})
    return tmp_path


def test_history_is_read_oldest_first_without_merges_or_huge_commits(repo: Path) -> None:
    commits = read_git_history(repo, max_files=10)
    assert len(commits) == 7  # 8 non-merge commits, the 12-file vendor commit dropped
    assert commits[0].files == frozenset({"README.md"})
    assert commits[1].files == frozenset({"app/routes.py", "tests/test_routes.py"})
    assert commits[1].added == 2
    assert all(len(c.files) <= 10 for c in commits)
    assert frozenset({"docs/side.md"}) in [c.files for c in commits]


def test_history_is_bounded_to_recent_commits(repo: Path) -> None:
    commits = read_git_history(repo, max_commits=2, max_files=100)
    assert [len(c.files) for c in commits] == [1, 12]


def test_cochange_from_a_real_repository(repo: Path) -> None:
    stats = build_cochange(c.files for c in read_git_history(repo))
    assert stats.share("app/routes.py", "tests/test_routes.py") == 1.0
    assert stats.share("app/models.py", "app/routes.py") == 0.0
    [neighbour] = stats.neighbours("app/routes.py", min_share=0.5, min_support=3)
    assert (neighbour.path, neighbour.support) == ("tests/test_routes.py", 3)


def test_a_directory_that_is_not_a_repository_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GitHistoryError, match="git log"):
        read_git_history(tmp_path)


def test_jsonl_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"sha": "a", "files": ["x.py"], "added": 1, "deleted": 0}\n')
    [loaded] = load_commit_file(path)
    assert loaded.files == frozenset({"x.py"})
