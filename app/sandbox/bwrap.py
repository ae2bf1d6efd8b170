"""Bubblewrap isolation for the local backend: no network, read-only system, one writable dir."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Only what programs need from /etc: a whole /etc could carry a system gitconfig, netrc or
# shadow file into the sandbox.
ETC_FILES = (
    "passwd",
    "group",
    "hosts",
    "nsswitch.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl",
    "ca-certificates",
    "localtime",
    "mime.types",
    "python3",
    "python3.11",
    "python3.12",
)


# The sandbox's /tmp is a tmpfs (memory): bounded, so a command cannot fill this machine's RAM.
TMPFS_BYTES = 256 * 1024 * 1024


def bwrap_argv(
    bwrap: str,
    *,
    writable: Path,
    cwd: Path,
    read_only: Sequence[Path] = (),
    tmp_bytes: int = TMPFS_BYTES,
) -> list[str]:
    """Return the bwrap prefix that runs a command in `cwd` with only `writable` writable.

    /tmp is a fresh tmpfs of at most `tmp_bytes`; `writable` is bounded by the local backend.
    """
    argv = [
        bwrap,
        # --unshare-all includes --unshare-net: the sandbox has only a loopback device.
        "--unshare-all",
        "--unshare-net",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    for directory in SYSTEM_DIRS:
        argv += ["--ro-bind-try", directory, directory]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108 - a fresh, bounded tmpfs
    for path in read_only:
        argv += ["--ro-bind", str(path), str(path)]
    # Bound after the /tmp tmpfs so a sandbox directory under /tmp stays visible.
    argv += ["--bind", str(writable), str(writable), "--chdir", str(cwd)]
    return argv


@functools.cache
def bwrap_unavailable_reason() -> str | None:
    """Return why bubblewrap cannot isolate commands here, or None when it can (checked once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed"
    with tempfile.TemporaryDirectory(prefix="townhall-bwrap-probe-") as probe:
        argv = bwrap_argv(bwrap, writable=Path(probe), cwd=Path(probe))
        try:
            result = subprocess.run(
                [*argv, "/bin/sh", "-c", "echo ok > probe"],
                capture_output=True,
                timeout=30,
                env={"PATH": "/usr/bin:/bin"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bwrap failed to start: {error}"
        if result.returncode != 0 or not (Path(probe) / "probe").exists():
            detail = result.stderr.decode(errors="replace").strip()
            return f"bwrap does not work here (exit {result.returncode}: {detail})"
    return None


def bwrap_path() -> str | None:
    """Return bwrap's path when it works here; say once in the log when it does not."""
    reason = bwrap_unavailable_reason()
    if reason is not None:
        _warn_once(reason)
        return None
    return shutil.which("bwrap")


@functools.cache
def _warn_once(reason: str) -> None:
    log.warning(
        "Local sandbox without isolation: %s. Commands run as this user with network access; "
        "only their environment is scrubbed. Install bubblewrap to isolate them.",
        reason,
    )
