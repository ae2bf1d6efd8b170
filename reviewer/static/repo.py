"""Read repository facts (file list, config files, file sizes) through the command runner."""

from __future__ import annotations

import re
from collections.abc import Iterable

from reviewer.static.runner import RunCommand

# Paths per `wc` call, far below any argv limit.
_WC_BATCH = 200
_WC_LINE = re.compile(r"^\s*(?P<size>\d+) (?P<path>.+)$")


def list_files(run: RunCommand, cwd: str) -> list[str]:
    """Return the checkout's files (tracked and untracked, not ignored), repo-relative."""
    code, stdout, _ = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd
    )
    if code != 0:
        # Not a git checkout: list everything but VCS metadata.
        code, stdout, _ = run(
            ["find", ".", "-type", "f", "-not", "-path", "./.git/*", "-print0"], cwd
        )
    return parse_nul_separated(stdout) if code == 0 else []


def read_file(run: RunCommand, cwd: str, path: str) -> str | None:
    """Return a file's text, or None when it cannot be read."""
    code, stdout, _ = run(["cat", "--", path], cwd)
    return stdout if code == 0 else None


def file_sizes(run: RunCommand, cwd: str, paths: Iterable[str]) -> dict[str, int]:
    """Return the size in bytes of each path that exists; missing paths are left out."""
    wanted = list(dict.fromkeys(paths))
    sizes: dict[str, int] = {}
    for start in range(0, len(wanted), _WC_BATCH):
        batch = wanted[start : start + _WC_BATCH]
        # wc exits 1 when a path is missing but still reports the others.
        _, stdout, _ = run(["wc", "-c", "--", *batch], cwd)
        sizes.update(parse_wc(stdout, set(batch)))
    return sizes


def parse_nul_separated(stdout: str) -> list[str]:
    """Split NUL-separated paths, dropping a leading `./`."""
    return [path.removeprefix("./") for path in stdout.split("\0") if path]


def parse_wc(stdout: str, expected: set[str]) -> dict[str, int]:
    """Parse `wc -c` output into sizes for the expected paths (its `total` line is skipped)."""
    sizes = {}
    for line in stdout.splitlines():
        match = _WC_LINE.match(line)
        if match and match["path"] in expected:
            sizes[match["path"]] = int(match["size"])
    return sizes
