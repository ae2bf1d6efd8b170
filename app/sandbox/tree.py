"""Trees handed to a sandbox: exported from git at a commit, copied without `.git`, packed.

No `.git` directory ever crosses into a sandbox: its config can hold remote URLs with tokens
and `http.*.extraheader` credentials. The sandbox starts a fresh repository instead.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Collection
from pathlib import Path

# The environment for git on the trusted side: no system or global config, no prompts.
_GIT_ENV = {
    "PATH": os.defpath,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def _skip_git(directory: str, names: list[str]) -> set[str]:
    return {".git"} & set(names)


def copy_tree(source: Path, destination: Path) -> None:
    """Copy `source` to a new `destination`: files and symlinks as they are, never `.git`."""
    # symlinks=True copies a link as a link: following it could pull a host file (a token
    # cache, say) into the sandbox.
    shutil.copytree(source, destination, symlinks=True, ignore=_skip_git)


def walk_files(root: Path, skip: Collection[str] = ()) -> list[str]:
    """Return every file (and symlink) under `root` as a sorted relative path, without `.git`.

    Directories whose relative path is in `skip` (an environment's directories, bound over
    the checkout) are left out with everything under them, as are links of those names.
    """
    found: list[str] = []
    for directory, subdirectories, files in os.walk(root):
        relative = Path(directory).relative_to(root)
        subdirectories[:] = [
            name
            for name in subdirectories
            if name != ".git" and (relative / name).as_posix() not in skip
        ]
        found.extend(
            (relative / name).as_posix()
            for name in files
            if (relative / name).as_posix() not in skip
        )
        # Symlinks to directories are listed as entries, not followed.
        found.extend(
            (relative / name).as_posix()
            for name in subdirectories
            if (Path(directory) / name).is_symlink()
        )
    return sorted(found)


def export_tree(repository: Path, commit: str, destination: Path) -> None:
    """Write the files of `commit` (no `.git`, no config) into a new `destination`."""
    archive = subprocess.run(
        ["git", "-C", str(repository), "archive", "--format=tar", commit],
        capture_output=True,
        env=_GIT_ENV,
        check=False,
    )
    if archive.returncode != 0:
        detail = archive.stderr.decode(errors="replace").strip()
        raise ValueError(f"git archive {commit} failed in {repository}: {detail}")
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "tar" filter refuses members that would land outside `destination`.
        tar.extractall(destination, filter="tar")


def pack_tree(root: Path, archive: Path) -> None:
    """Write `root` (without `.git`) as an uncompressed tar whose members are relative."""

    def without_git(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        return None if ".git" in parts else info

    with tarfile.open(archive, "w") as tar:
        for name in sorted(os.listdir(root)):
            tar.add(root / name, arcname=name, recursive=True, filter=without_git)
