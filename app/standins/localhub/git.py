"""A bare git repository driven through the `git` CLI: objects, refs, merges and diffs."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ZERO_SHA = "0" * 40


class GitError(Exception):
    """A git command failed; carries its arguments, exit status and stderr."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class Signature:
    """An author or committer line: who and when."""

    name: str
    email: str
    date: datetime


@dataclass(frozen=True)
class TreeEntry:
    """One row of `git ls-tree`."""

    mode: str
    type: str
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True)
class TreeChange:
    """One entry of a tree-creation request: set `path` to a blob/tree/commit, or delete it."""

    path: str
    mode: str
    type: str
    sha: str | None


@dataclass(frozen=True)
class CommitInfo:
    """A parsed commit object."""

    sha: str
    tree: str
    parents: list[str]
    author: Signature
    committer: Signature
    message: str


@dataclass(frozen=True)
class MergeResult:
    """The outcome of a three-way tree merge: the tree when clean, else the conflicted paths."""

    tree: str | None
    conflicts: list[str]


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # A clean environment so a developer's GIT_DIR or global hooks never leak into the hub.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    env.update(extra or {})
    return env


def _signature_env(role: str, signature: Signature) -> dict[str, str]:
    stamp = f"{int(signature.date.timestamp())} +0000"
    return {
        f"GIT_{role}_NAME": signature.name,
        f"GIT_{role}_EMAIL": signature.email,
        f"GIT_{role}_DATE": stamp,
    }


def _parse_signature(text: str) -> Signature:
    name_part, _, rest = text.partition(" <")
    email, _, stamp = rest.partition("> ")
    seconds = stamp.split(" ")[0]
    return Signature(name_part, email, datetime.fromtimestamp(int(seconds), UTC))


async def run_git(
    args: tuple[str, ...],
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
    cwd: Path | None = None,
) -> tuple[int, bytes]:
    """Run `git <args>`; return (exit status, stdout), raising GitError on other statuses."""
    # Empty input goes in as /dev/null: under uvloop, writing b"" to a process that has already
    # exited raises instead of being a no-op.
    stdin = stdin or None
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_git_env(env),
        cwd=cwd,
    )
    out, err = await proc.communicate(stdin)
    code = proc.returncode or 0
    if code not in ok_codes:
        raise GitError(args, code, err.decode(errors="replace"))
    return code, out


async def _tracked_files(source: Path) -> list[str]:
    """The files a checkout at `source` tracks that exist on disk (none when it is no checkout)."""
    # Paths come out relative to `source`, also when it is a directory inside a checkout.
    code, out = await run_git(("-C", str(source), "ls-files", "-z", "--cached"), ok_codes=(0, 128))
    if code != 0:
        return []
    names = [name for name in out.decode().split("\0") if name]
    return await asyncio.to_thread(_present_files, source, names)


def _present_files(source: Path, names: list[str]) -> list[str]:
    # A tracked file deleted from the work tree, or a submodule's directory, is not added.
    return [
        name for name in names if os.path.lexists(source / name) and not (source / name).is_dir()
    ]


class GitRepo:
    """A bare repository on disk; every method runs one or a few git commands."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> tuple[int, bytes]:
        """Run `git <args>` against this repository; return (exit status, stdout)."""
        return await run_git(
            ("--git-dir", str(self.path), *args), stdin=stdin, env=env, ok_codes=ok_codes
        )

    async def text(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a git command and return its stdout stripped."""
        _, out = await self.run(*args, env=env)
        return out.decode().strip()

    async def init(self, default_branch: str) -> None:
        """Create the bare repository and allow pushes over smart HTTP."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await run_git(
            ("init", "--bare", "--quiet", f"--initial-branch={default_branch}", str(self.path))
        )
        # Appending to the fresh config file saves two `git config` processes per repository.
        with (self.path / "config").open("a") as config:
            config.write(
                "[http]\n\treceivepack = true\n[uploadpack]\n\tallowAnySHA1InWant = true\n"
            )

    async def import_directory(
        self, source: Path, branch: str, message: str, author: Signature
    ) -> str:
        """Commit the files under `source` as `branch`'s root commit.

        Untracked files are added as `git add --all` would (honouring .gitignore); when
        `source` is a git checkout, every file it tracks is added too, even one its own
        .gitignore lists (a repository may track such files, and a copy must keep them).
        """
        tracked = await _tracked_files(source)
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            await self.run("--work-tree", str(source), "add", "--all", ".", env=env)
            if tracked:
                await self.run(
                    "--work-tree", str(source), "add", "--force",
                    "--pathspec-from-file=-", "--pathspec-file-nul",
                    stdin=b"".join(path.encode() + b"\0" for path in tracked), env=env,
                )  # fmt: skip
            tree = await self.text("write-tree", env=env)
        sha = await self.write_commit(tree, [], message, author, author)
        await self.update_ref(f"refs/heads/{branch}", sha, None)
        return sha

    async def write_blob(self, data: bytes) -> str:
        """Store `data` as a blob and return its sha."""
        _, out = await self.run("hash-object", "-w", "--stdin", stdin=data)
        return out.decode().strip()

    async def object_type(self, sha: str) -> str | None:
        """Return the type of object `sha` ("blob", "tree", "commit", ...) or None if absent."""
        return (await self.object_types([sha]))[0]

    async def object_types(self, shas: list[str]) -> list[str | None]:
        """Return the type of each object (None where absent) with one `cat-file` process."""
        if not shas:
            return []
        query = "".join(f"{sha.strip() or '-'}\n" for sha in shas).encode()
        _, out = await self.run("cat-file", "--batch-check=%(objecttype)", stdin=query)
        return [None if line.endswith("missing") else line for line in out.decode().splitlines()]

    async def read_object(self, kind: str, sha: str) -> bytes:
        """Return the raw content of object `sha` of type `kind`."""
        _, out = await self.run("cat-file", kind, sha)
        return out

    async def read_tree(
        self, treeish: str, *, recursive: bool = False, path: str | None = None
    ) -> list[TreeEntry]:
        """List a tree's entries (recursively: subtrees and their contents too), or one path."""
        args = ["ls-tree", "-z", "-l", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(treeish)
        if path is not None:
            args += ["--", path]
        _, out = await self.run(*args)
        entries = []
        for record in out.decode().split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(mode, kind, sha, path, None if size == "-" else int(size)))
        return entries

    async def write_tree(self, base_tree: str | None, changes: list[TreeChange]) -> str:
        """Apply `changes` on top of `base_tree` (or an empty tree) and return the new tree sha."""
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if base_tree:
                await self.run("read-tree", base_tree, env=env)
            else:
                await self.run("read-tree", "--empty", env=env)
            _, listed = await self.run("ls-files", "-z", env=env)
            present = [p for p in listed.decode().split("\0") if p]
            lines: list[str] = []
            for change in changes:
                path = change.path.strip("/")
                # Replacing or deleting a path also removes anything that was below it.
                doomed = [p for p in present if p == path or p.startswith(path + "/")]
                lines += [f"0 {ZERO_SHA}\t{p}" for p in doomed]
                if change.sha is None:
                    continue
                if change.type == "tree":
                    for entry in await self.read_tree(change.sha, recursive=True):
                        if entry.type != "tree":
                            lines.append(f"{entry.mode} {entry.sha}\t{path}/{entry.path}")
                else:
                    lines.append(f"{change.mode} {change.sha}\t{path}")
            if lines:
                payload = ("\n".join(lines) + "\n").encode()
                await self.run("update-index", "--index-info", stdin=payload, env=env)
            return await self.text("write-tree", env=env)

    async def write_commit(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: Signature,
        committer: Signature,
    ) -> str:
        """Create a commit object and return its sha."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = _signature_env("AUTHOR", author) | _signature_env("COMMITTER", committer)
        _, out = await self.run(*args, stdin=message.encode(), env=env)
        return out.decode().strip()

    async def read_commit(self, sha: str) -> CommitInfo:
        """Parse commit `sha`."""
        raw = (await self.read_object("commit", sha)).decode(errors="replace")
        header, _, message = raw.partition("\n\n")
        tree = ""
        parents: list[str] = []
        author = committer = Signature("", "", datetime.fromtimestamp(0, UTC))
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "author":
                author = _parse_signature(value)
            elif key == "committer":
                committer = _parse_signature(value)
        return CommitInfo(sha, tree, parents, author, committer, message)

    async def resolve(self, rev: str, kind: str = "commit") -> str | None:
        """Return the sha of the `kind` object `rev` names (peeling as needed), or None."""
        code, out = await self.run(
            "rev-parse", "--verify", "--quiet", f"{rev}^{{{kind}}}", ok_codes=(0, 1, 128)
        )
        return out.decode().strip() if code == 0 else None

    async def list_refs(self, prefix: str = "refs/") -> dict[str, str]:
        """Return every ref under `prefix` with the sha it points to."""
        _, out = await self.run("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        refs = {}
        for line in out.decode().splitlines():
            name, _, sha = line.partition(" ")
            refs[name] = sha
        return refs

    async def update_ref(self, ref: str, new: str, old: str | None) -> None:
        """Point `ref` at `new`, atomically checking it still points at `old` when given."""
        args = ["update-ref", ref, new]
        if old is not None:
            args.append(old)
        await self.run(*args)

    async def delete_ref(self, ref: str) -> None:
        """Delete `ref`."""
        await self.run("update-ref", "-d", ref)

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Tell whether `ancestor` is reachable from `descendant`."""
        code, _ = await self.run(
            "merge-base", "--is-ancestor", ancestor, descendant, ok_codes=(0, 1)
        )
        return code == 0

    async def merge_base(self, one: str, other: str) -> str | None:
        """Return the best common ancestor of two commits, or None."""
        code, out = await self.run("merge-base", one, other, ok_codes=(0, 1))
        return out.decode().strip() if code == 0 else None

    async def merge_trees(self, ours: str, theirs: str) -> MergeResult:
        """Merge two commits without a worktree (`git merge-tree --write-tree`)."""
        code, out = await self.run(
            "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs,
            ok_codes=(0, 1),
        )  # fmt: skip
        lines = out.decode().splitlines()
        if code == 0:
            return MergeResult(lines[0].strip(), [])
        return MergeResult(None, sorted({line for line in lines[1:] if line}))

    async def commits_between(self, base: str, head: str) -> list[str]:
        """Return the commits reachable from `head` but not `base`, oldest first."""
        _, out = await self.run("rev-list", "--reverse", "--topo-order", f"{base}..{head}")
        return out.decode().split()

    async def archive(self, commit: str, prefix: str) -> bytes:
        """Return the tree of `commit` as a gzipped tarball whose paths start with `prefix`/."""
        _, out = await self.run("archive", "--format=tar.gz", f"--prefix={prefix}/", commit)
        return out

    async def diff(self, base: str, head: str) -> str:
        """Return the full unified diff from `base` to `head` with full blob shas."""
        _, out = await self.run(
            "-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", "--full-index",
            "-M", base, head,
        )  # fmt: skip
        return out.decode(errors="replace")

    async def replay(self, onto: str, commits: list[str], committer: Signature) -> str:
        """Cherry-pick `commits` onto `onto` in a scratch worktree; return the new tip."""
        with tempfile.TemporaryDirectory() as scratch:
            worktree = Path(scratch) / "wt"
            await self.run("worktree", "add", "--detach", "--quiet", str(worktree), onto)
            try:
                # Inside the worktree git finds its own HEAD; --git-dir would move the bare HEAD.
                env = _signature_env("COMMITTER", committer)
                for sha in commits:
                    await run_git(
                        ("cherry-pick", "--allow-empty", "--keep-redundant-commits", sha),
                        env=env,
                        cwd=worktree,
                    )
                _, out = await run_git(("rev-parse", "HEAD"), cwd=worktree)
                return out.decode().strip()
            finally:
                await self.run("worktree", "remove", "--force", str(worktree), ok_codes=(0, 128))
                await self.run("worktree", "prune")
