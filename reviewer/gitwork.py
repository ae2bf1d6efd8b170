"""Trusted-side git for the reviewer: fetch, merge a PR head with its base, compute a revert.

The repository lives in `<root>/tree`; git runs with app.github.git's clean environment (an
empty HOME, no global or system config), so a `.gitconfig` that a pull request adds is never
read as configuration. The token only travels in a header of the fetch; the tree later reaches
a sandbox without its `.git`. Output is read as bytes and decoded with
replacement, so a file in another encoding cannot stop a review.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.github.git import FetchError, Remote, run_git_bytes

POLICY_PATH = ".townhall.toml"
_DIFF_OPTIONS = ["--no-color", "--no-ext-diff", "--no-textconv", "--find-renames"]


class GitError(Exception):
    """A git command failed; the message names it and carries git's error (token removed)."""


class HeadMoved(Exception):
    """The PR head to review is no longer on its branch (a newer head was pushed)."""


@dataclass(frozen=True)
class Merged:
    """The PR head merged with the base tip, checked out in the workspace's tree."""

    base_sha: str
    head_sha: str
    diff_text: str
    policy_text: str | None


@dataclass(frozen=True)
class Conflict:
    """The PR head does not merge cleanly with the base tip."""

    base_sha: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class TreeEntry:
    """A file as the git data API wants it: mode and content (None when deleted)."""

    mode: str
    content: bytes | None


class Workspace:
    """A scratch repository under `root`, its work tree at `root/tree`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tree = root / "tree"

    def git(self, *args: str) -> str:
        """Run git on the workspace's repository; return its output as text."""
        return self.git_bytes(*args).decode("utf-8", "replace")

    def git_bytes(self, *args: str) -> bytes:
        """Run git on the workspace's repository; return its output as bytes."""
        try:
            return run_git_bytes(["-C", str(self.tree), *args], self.root)
        except FetchError as error:
            raise GitError(str(error)) from error

    def init(self, branch: str) -> None:
        """Create the empty repository."""
        self.tree.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch", branch)

    def fetch(self, remote: Remote, refspecs: list[str]) -> None:
        """Fetch `refspecs` from `remote` (its token travels in a header)."""
        try:
            remote.fetch(self.tree, refspecs)
        except FetchError as error:
            raise GitError(str(error)) from error

    def rev(self, name: str) -> str:
        """Return the commit `name` points at."""
        return self.git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()

    def has_commit(self, sha: str) -> bool:
        """Return whether `sha` is a commit in the repository."""
        try:
            self.rev(sha)
        except GitError:
            return False
        return True

    def show(self, commit: str, path: str) -> str | None:
        """Return a file's text at `commit`, or None when it is not there."""
        try:
            return self.git("show", f"{commit}:{path}")
        except GitError:
            return None

    def checkout(self, commit: str) -> None:
        """Check `commit` out (detached), discarding anything left in the tree."""
        self.git("checkout", "--quiet", "--force", "--detach", commit)
        self.git("clean", "--quiet", "-fdx")


def merge_pull_head(
    remote: Remote, base_branch: str, head_branch: str, head_sha: str, root: Path
) -> Merged | Conflict:
    """Fetch the base tip and the PR head into a workspace at `root` and merge them there."""
    space = Workspace(root)
    space.init(base_branch)
    space.fetch(
        remote, [f"+refs/heads/{base_branch}:refs/base", f"+refs/heads/{head_branch}:refs/head"]
    )
    if not space.has_commit(head_sha):
        raise HeadMoved(f"{head_sha} is not on {head_branch} any more")
    base_sha = space.rev("refs/base")
    # The diff GitHub shows for the PR, and the policy of the base, never the PR's own.
    diff_text = space.git("diff", *_DIFF_OPTIONS, f"{base_sha}...{head_sha}")
    policy_text = space.show(base_sha, POLICY_PATH)
    space.checkout(base_sha)
    try:
        space.git("merge", "--quiet", "--no-edit", "--no-verify", head_sha)
    except GitError:
        files = space.git("diff", "--name-only", "--diff-filter=U").split()
        if not files:
            raise
        return Conflict(base_sha, tuple(sorted(files)))
    return Merged(base_sha, head_sha, diff_text, policy_text)


def fetch_branch(remote: Remote, branch: str, root: Path) -> tuple[Workspace, str]:
    """Fetch `branch` with its history into a workspace at `root`; return it and the tip."""
    space = Workspace(root)
    space.init(branch)
    space.fetch(remote, [f"+refs/heads/{branch}:refs/base"])
    tip = space.rev("refs/base")
    space.checkout(tip)
    return space, tip


def revert_changes(space: Workspace, commit: str, onto: str) -> dict[str, TreeEntry] | None:
    """Revert `commit` on `onto` locally; return the changed files, None if it conflicts."""
    # It conflicts when later commits changed the same lines.
    space.checkout(onto)
    parents = space.git("rev-list", "--parents", "-n", "1", commit).split()[1:]
    mainline = ["--mainline", "1"] if len(parents) > 1 else []
    try:
        space.git("revert", "--no-edit", "--no-commit", *mainline, commit)
    except GitError:
        space.git("revert", "--abort")
        return None
    changed = space.git("diff", "--cached", "--name-only", "--no-renames", "-z", onto)
    entries: dict[str, TreeEntry] = {}
    for path in (name for name in changed.split("\0") if name):
        staged = space.git("ls-files", "--stage", "-z", "--", path).strip("\0")
        if not staged:
            entries[path] = TreeEntry("100644", None)
            continue
        mode, blob = staged.split(" ", 2)[:2]
        entries[path] = TreeEntry(mode, space.git_bytes("cat-file", "blob", blob))
    return entries
