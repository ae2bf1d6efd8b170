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
# What a command may write over an environment's directories (memory, thrown away after it).
LAYER_BYTES = 256 * 1024 * 1024


def bwrap_argv(
    bwrap: str,
    *,
    writable: Path,
    cwd: str,
    read_only: Sequence[Path] = (),
    binds: Sequence[tuple[Path, str]] = (),
    proxy_dir: Path | None = None,
    tmp_bytes: int = TMPFS_BYTES,
    layers: Path | None = None,
    layer_bytes: int = LAYER_BYTES,
) -> list[str]:
    """Return the bwrap prefix that runs a command in `cwd` (a path inside the sandbox).

    `writable` (the sandbox directory, bounded by the local backend) appears at WORKSPACE;
    `read_only` host directories appear at their own paths; each (host dir, inside path) of
    `binds` (an environment's directories over the checkout) appears at its inside path with
    a throwaway writable layer over it where bwrap supports overlays, else read-only;
    `proxy_dir` appears read-only at PROXY_MOUNT. /tmp is a tmpfs of `tmp_bytes`. `layers`
    (an empty host directory) lets a bwrap without overlays have them all the same
    (layers_prefix): their writes take at most `layer_bytes` of memory.
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
    # The cached directories are read-only lower layers; what a command writes over them (a
    # tool's cache in node_modules) lands in a layer of its own, discarded when it ends.
    native = overlays_supported(bwrap)
    # Overlay options cannot spell a path with a comma or a colon: such a cache stays read-only.
    plain = all(not set(str(source)) & set(",:\\") for source, _ in binds)
    layered = layers is not None and not native and bool(binds) and plain and layers_work()
    for source, target in binds:
        if native:
            argv += ["--overlay-src", str(source), "--tmp-overlay", target]
        else:  # the overlay mounted over `source` in a namespace of the command's own
            argv += ["--bind" if layered else "--ro-bind", str(source), target]
    if proxy_dir is not None:
        argv += ["--ro-bind", str(proxy_dir), PROXY_MOUNT]
    # Last: the root tmpfs bwrap built (mount points) must not be writable memory.
    argv += ["--remount-ro", "/", "--chdir", cwd]
    if layered and layers is not None:
        return [*layers_prefix(layers, [source for source, _ in binds], layer_bytes), *argv]
    return argv


def layers_prefix(layers: Path, sources: Sequence[Path], size: int) -> list[str]:
    """The command that runs what follows it with a throwaway overlay over each of `sources`.

    For a bwrap without overlays (before 0.10): a user and mount namespace of the command's
    own, where a tmpfs of `size` bytes at `layers` (an empty directory) holds one writable
    layer per source, mounted over the source itself. The host's mounts, and the sources,
    never change; the namespace, and what was written, end with the command.
    """
    found = _layer_tools()
    assert found is not None, "layers_prefix needs layers_work()"
    unshare, mount = found
    return [
        unshare, "--user", "--map-root-user", "--mount", "--propagation", "private",
        "/bin/sh", "-c", _LAYERS_SCRIPT, "sh", mount, str(layers), str(size),
        *map(str, sources), "--",
    ]  # fmt: skip


# $1 mount, $2 the tmpfs's directory, $3 its size, then the sources, "--" and the command.
_LAYERS_SCRIPT = """set -e
mount=$1 layers=$2; "$mount" -t tmpfs -o "size=$3,mode=0700" townhall-layers "$layers"
shift 3; n=0
while [ "$1" != "--" ]; do
  n=$((n + 1)); /bin/mkdir "$layers/upper$n" "$layers/work$n"
  "$mount" -t overlay -o "lowerdir=$1,upperdir=$layers/upper$n,workdir=$layers/work$n" \
    townhall-layer "$1"
  shift
done
shift; exec "$@"
"""


def _layer_tools() -> tuple[str, str] | None:
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    return (unshare, mount) if unshare and mount else None


@functools.cache
def layers_work() -> bool:
    """Return whether layers_prefix works here: a write through it never reaches the source."""
    if _layer_tools() is None:
        return False
    with tempfile.TemporaryDirectory(prefix="townhall-layer-probe-") as probe:
        root = Path(probe)
        (root / "source").mkdir()
        (root / "layers").mkdir()
        (root / "source" / "kept").write_text("cache\n")
        check = 'echo layer > "$0/written" && echo layer >> "$0/kept" && grep -q layer "$0/kept"'
        argv = [*layers_prefix(root / "layers", [root / "source"], 1 << 20), "/bin/sh", "-c"]
        try:
            result = subprocess.run(
                [*argv, check, str(root / "source")],
                capture_output=True,
                timeout=30,
                env={"PATH": "/usr/bin:/bin"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        names = sorted(path.name for path in (root / "source").iterdir())
        kept = (root / "source" / "kept").read_text()
        return result.returncode == 0 and names == ["kept"] and kept == "cache\n"


@functools.cache
def supports(bwrap: str, option: str) -> bool:
    """Return whether this bwrap knows `option` (--disable-userns came with bubblewrap 0.8)."""
    try:
        result = subprocess.run([bwrap, "--help"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option.encode() in result.stdout + result.stderr


def overlays_supported(bwrap: str) -> bool:
    """Return whether this bwrap mounts throwaway overlays (`--tmp-overlay`, bubblewrap 0.10+)."""
    return supports(bwrap, "--overlay-src") and supports(bwrap, "--tmp-overlay")


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
