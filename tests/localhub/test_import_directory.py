"""Importing a directory as a repository keeps what the directory's own checkout tracks."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from app.standins.localhub.git import GitRepo, Signature


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    ).stdout


async def test_a_tracked_file_its_gitignore_lists_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "dist").mkdir(parents=True)
    (source / ".gitignore").write_text("dist/\n*.log\n")
    (source / "dist" / "schema.json").write_text("{}\n")  # tracked although ignored
    (source / "app.py").write_text("print('hi')\n")
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "add", "-f", "dist/schema.json")
    git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    (source / "debug.log").write_text("noise\n")  # ignored and untracked: left out
    (source / "notes.md").write_text("new\n")  # untracked, not ignored: added

    bare = GitRepo(tmp_path / "hub.git")
    await bare.init("main")
    author = Signature("t", "t@t", datetime(2026, 1, 1, tzinfo=UTC))
    await bare.import_directory(source, "main", "Initial commit\n", author)

    files = git(bare.path, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == [".gitignore", "app.py", "dist/schema.json", "notes.md"]


async def test_a_plain_directory_still_honours_its_gitignore(tmp_path: Path) -> None:
    source = tmp_path / "plain"
    source.mkdir()
    (source / ".gitignore").write_text("*.log\n")
    (source / "a.txt").write_text("a\n")
    (source / "b.log").write_text("b\n")
    bare = GitRepo(tmp_path / "hub.git")
    await bare.init("main")
    author = Signature("t", "t@t", datetime(2026, 1, 1, tzinfo=UTC))
    await bare.import_directory(source, "main", "Initial commit\n", author)
    files = git(bare.path, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == [".gitignore", "a.txt"]
