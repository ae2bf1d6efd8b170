"""Find and read the files a map covers: git's view of the tree, or a .gitignore-aware walk."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Collection, Iterator
from pathlib import Path

from app.codemap.ignore import GitignoreMatcher, is_vendored, is_vendored_dir, looks_generated

# Larger files are data or bundles, not code a reader needs summarized.
MAX_FILE_BYTES = 512 * 1024
_BINARY_SNIFF_BYTES = 8192


def list_files(root: Path, exclude: Collection[str] = ()) -> list[str]:
    """Return the sorted repository-relative POSIX paths under root that a map may cover."""
    paths = _git_files(root)
    if paths is None:
        paths = list(_walk_files(root))
    return sorted({p for p in paths if p not in exclude and not is_vendored(p)})


def read_source(root: Path, path: str) -> str | None:
    """Return a file's text, or None when it is missing, a link, binary, huge or generated."""
    full = root / path
    try:
        info = full.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        data = full.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return None if looks_generated(text) else text


def _git_files(root: Path) -> list[str] | None:
    """List tracked and untracked-but-not-ignored files, or None when root is not in git."""
    try:
        result = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    # Paths come relative to root (git's working directory here), with "/" separators.
    return [p for p in result.stdout.decode("utf-8", errors="replace").split("\0") if p]


def _walk_files(root: Path) -> Iterator[str]:
    """Walk root in sorted order, skipping vendored directories and .gitignore'd paths."""
    matcher = GitignoreMatcher()
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        base = "" if base == "." else base
        gitignore = Path(directory) / ".gitignore"
        if gitignore.is_file():
            matcher.add(base, gitignore.read_text(encoding="utf-8", errors="replace"))
        prefix = f"{base}/" if base else ""
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not is_vendored_dir(d) and not matcher.ignores(prefix + d, is_dir=True)
        )
        for name in sorted(filenames):
            if not matcher.ignores(prefix + name, is_dir=False):
                yield prefix + name
