"""No token, key or secret reaches a sandbox: not its environment, files, git config or argv."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes, export_tree
from tests.workers.sandbox_helpers import BWRAP_SKIP, ISOLATIONS, git, sandbox_options, write_tree

SECRET = "ghs_TownhallFakeSecret0123456789"
SECRET_VARIABLES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ANTHROPIC_API_KEY",
    "TOWNHALL_GITHUB_PRIVATE_KEY",
    "MODAL_TOKEN_SECRET",
    "DATABASE_PASSWORD",
    "SOME_SERVICE_KEY",
)


def _source_repository(root: Path) -> Path:
    """Return a repository whose config holds the secret the way a careless clone would."""
    repo = write_tree(root)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    git(repo, "remote", "add", "origin", f"https://x-access-token:{SECRET}@github.com/o/r.git")
    git(repo, "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {SECRET}")
    git(repo, "config", "credential.helper", f"!echo password={SECRET}")
    return repo


def _files_containing(root: Path, needle: bytes) -> list[str]:
    """Return every file (or file name) under `root` that contains `needle`."""
    hits = []
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if needle in str(path).encode() or (
                not path.is_symlink() and needle in path.read_bytes()
            ):
                hits.append(str(path))
    return hits


@pytest.fixture
def secret_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the secret in the parent's environment and global git config; return a repo."""
    for name in SECRET_VARIABLES:
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("DEPLOY_URL", f"https://deploy:{SECRET}@example.com/")
    home = tmp_path / "host-home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[http]\n\textraheader = Authorization: {SECRET}\n")
    (home / ".git-credentials").write_text(f"https://x:{SECRET}@github.com\n")
    monkeypatch.setenv("HOME", str(home))
    return _source_repository(tmp_path / "source")


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_secrets_appear_nowhere_in_the_sandbox(
    secret_host: Path, tmp_path: Path, isolation: str
) -> None:
    tree = tmp_path / "export"
    export_tree(secret_host, "HEAD", tree)
    sandbox = await LocalSandboxes(sandbox_options(isolation)).create(tree)
    assert isinstance(sandbox, LocalSandbox)
    try:
        dump = await sandbox.exec(
            "env; echo ---; git config --list --show-origin; echo ---;"
            " tr '\\0' '\\n' < /proc/self/environ; echo ---; ls -la ~ .git",
            timeout=30,
        )
        assert dump.exit_code == 0, dump.stderr
        assert "GIT_CONFIG_NOSYSTEM=1" in dump.stdout  # the dump really is the environment
        assert "user.email=townhall@localhost" in dump.stdout  # and the sandbox's git config
        assert SECRET not in dump.stdout + dump.stderr
        assert not any(name in dump.stdout for name in SECRET_VARIABLES)
        assert sorted(sandbox.env) == [
            "GIT_CONFIG_NOSYSTEM",
            "GIT_TERMINAL_PROMPT",
            "HOME",
            "LANG",
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "TMPDIR",
        ]
        base = sandbox.host_checkout.parent
        assert await asyncio.to_thread(_files_containing, base, b"SECRET") == []
        assert await asyncio.to_thread(_files_containing, base, SECRET.encode()) == []
        remotes = await sandbox.exec("git remote -v; git config --get-regexp 'http|credential'", 30)
        assert remotes.stdout == ""
    finally:
        await sandbox.close()


@BWRAP_SKIP
async def test_no_process_inside_bwrap_sees_a_secret(secret_host: Path, tmp_path: Path) -> None:
    tree = tmp_path / "export"
    export_tree(secret_host, "HEAD", tree)
    sandbox = await LocalSandboxes(LocalOptions(isolation="bwrap")).create(tree)
    try:
        seen = await sandbox.exec(
            "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; done;"
            " ls /proc | grep -c '^[0-9]'",
            timeout=30,
        )
        assert seen.exit_code == 0, seen.stderr
        assert "PATH=" in seen.stdout and SECRET not in seen.stdout
        # Only the sandbox's own processes are visible (bwrap's init, the shell, its children).
        assert int(seen.stdout.split()[-1]) < 10
    finally:
        await sandbox.close()


def test_export_tree_has_the_commits_files_and_no_git_directory(
    secret_host: Path, tmp_path: Path
) -> None:
    (secret_host / "README.md").write_text("uncommitted edit\n")
    (secret_host / "untracked.txt").write_text("not in the commit\n")
    export_tree(secret_host, "HEAD", tmp_path / "export")
    exported = tmp_path / "export"
    assert (exported / "README.md").read_text() == "# Sample\n\nA small repository.\n"
    assert not (exported / "untracked.txt").exists()
    assert not (exported / ".git").exists()
    assert (exported / "src" / "app.py").is_file()
    with pytest.raises(ValueError, match="git archive nosuchref failed"):
        export_tree(secret_host, "nosuchref", tmp_path / "other")
