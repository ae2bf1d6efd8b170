"""Bubblewrap isolation for the local backend: no network, read-only system, one writable dir.

Inside, every command runs as an unprivileged user (uid/gid 65534 in a user namespace of its
own, even when Townhall runs as root), in fresh pid, network, ipc and uts namespaces, with no
capabilities, a read-only root, /proc/sys read-only, and size-limited tmpfs mounts. The sandbox
directory is bound at the fixed path WORKSPACE, so a checkout (and a virtualenv built in it)
has the same absolute path in every sandbox.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

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
# Where the sandbox directory (checkout/, home/, tmp/) appears inside bwrap.
WORKSPACE = "/workspace"
# Where a directory of the trusted side's egress proxy (its unix socket) appears, read-only.
PROXY_MOUNT = "/run/townhall-proxy"
# The user commands run as: `nobody`, never root (the host's uid is what files get on disk).
SANDBOX_UID = 65534

# The sandbox's /tmp is a tmpfs (memory): bounded, so a command cannot fill this machine's RAM.
TMPFS_BYTES = 256 * 1024 * 1024
# /dev/shm is a tmpfs too; programs need little of it.
SHM_BYTES = 64 * 1024 * 1024


def bwrap_argv(
    bwrap: str,
    *,
    writable: Path,
    cwd: str,
    read_only: Sequence[Path] = (),
    binds: Sequence[tuple[Path, str]] = (),
    proxy_dir: Path | None = None,
    tmp_bytes: int = TMPFS_BYTES,
) -> list[str]:
    """Return the bwrap prefix that runs a command in `cwd` (a path inside the sandbox).

    `writable` (the sandbox directory, bounded by the local backend) appears at WORKSPACE;
    `read_only` host directories appear at their own paths; each (host dir, inside path) of
    `binds` appears read-only at its inside path (an environment's directories over the
    checkout); `proxy_dir` appears read-only at PROXY_MOUNT. /tmp is a tmpfs of `tmp_bytes`.
    """
    argv = [
        bwrap,
        # --unshare-all includes --unshare-net (only a loopback device of its own) and pid.
        "--unshare-all",
        "--unshare-net",
        "--unshare-pid",
        # Explicit, because --unshare-all only *tries* a user namespace and as root skips it,
        # which would leave the command uid 0.
        "--unshare-user",
        *(["--disable-userns"] if supports(bwrap, "--disable-userns") else []),
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    for directory in SYSTEM_DIRS:
        argv += ["--ro-bind-try", directory, directory]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # A fresh /proc shows only the sandbox's processes; its sysctls stay read-only.
    argv += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys"]
    argv += ["--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]  # noqa: S108 - bounded
    argv += ["--remount-ro", "/dev"]
    argv += ["--size", str(tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108 - a fresh, bounded tmpfs
    for path in read_only:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--bind", str(writable), WORKSPACE]
    for source, target in binds:
        argv += ["--ro-bind", str(source), target]
    if proxy_dir is not None:
        argv += ["--ro-bind", str(proxy_dir), PROXY_MOUNT]
    # Last: the root tmpfs bwrap built (mount points) must not be writable memory.
    argv += ["--remount-ro", "/", "--chdir", cwd]
    return argv


@functools.cache
def supports(bwrap: str, option: str) -> bool:
    """Return whether this bwrap knows `option` (--disable-userns came with bubblewrap 0.8)."""
    try:
        result = subprocess.run([bwrap, "--help"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option.encode() in result.stdout + result.stderr


@functools.cache
def bwrap_unavailable_reason(bwrap: str = "bwrap") -> str | None:
    """Return why bubblewrap (`bwrap`: a name on PATH or a path) cannot isolate commands here.

    None when it can: a probe writes a file as the unprivileged user (checked once per name).
    """
    found = shutil.which(bwrap)
    if found is None:
        return f"bubblewrap is not installed ({bwrap!r} not found)"
    with tempfile.TemporaryDirectory(prefix="townhall-bwrap-probe-") as probe:
        argv = bwrap_argv(found, writable=Path(probe), cwd=WORKSPACE)
        try:
            result = subprocess.run(
                [*argv, "/bin/sh", "-c", "id -u > probe"],
                capture_output=True,
                timeout=30,
                env={"PATH": "/usr/bin:/bin"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap failed to start: {error}"
        written = Path(probe) / "probe"
        if result.returncode != 0 or not written.exists():
            detail = result.stderr.decode(errors="replace").strip()
            return f"bubblewrap does not work here (exit {result.returncode}: {detail})"
        if written.read_text().strip() != str(SANDBOX_UID):
            return f"bubblewrap ran the probe as uid {written.read_text().strip()}, not nobody"
    return None


def bwrap_path(bwrap: str = "bwrap") -> str | None:
    """Return bwrap's full path when it isolates commands here, else None."""
    if bwrap_unavailable_reason(bwrap) is not None:
        return None
    return shutil.which(bwrap)
