"""Local environments: a plan's setup run once per key into a cache directory, then reused.

An entry `<cache>/envs/<key>/` is the setup sandbox's own directory: its `checkout/` holds
the environment directories (.venv, node_modules) where setup made them, so paths written into
them (a venv's shebangs) stay valid: under bwrap the checkout is always /workspace/checkout,
and unisolated the entry's checkout is where later sandboxes link to. `ready.json` is written
last; an entry without it is a failed or interrupted build and is never served. A lock file
per key makes concurrent prepares (threads, tasks or processes) share one setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.sandbox.bwrap import WORKSPACE
from app.sandbox.environment import Environment, EnvironmentFailed, env_dirs_of, environment_key
from app.sandbox.local import LocalOptions, LocalSandbox, choose_bwrap
from app.sandbox.proxy import EgressProxy

if TYPE_CHECKING:
    from app.stacks import EnvironmentPlan

log = logging.getLogger(__name__)

READY = "ready.json"
# Setup downloads and builds dependencies: more room than an agent's sandbox.
SETUP_QUOTA_BYTES = 8 * 1024**3
# An entry used this recently is never evicted (a sandbox may still have it mounted).
KEEP_RECENT_SECONDS = 2 * 3600
LOCK_POLL_SECONDS = 0.1
# This machine's CA bundle (a public file, shown in every sandbox under /etc/ssl). Python's
# ssl reads it by default; node trusts only the CAs it was built with unless told, so behind
# a gateway that re-signs TLS with its own CA, npm and pnpm could not reach a registry.
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def default_cache_dir() -> Path:
    """Return this user's cache directory for Townhall (XDG_CACHE_HOME, else ~/.cache)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "townhall"


@contextlib.asynccontextmanager
async def locked(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock on `path` (polled, so waiting can be cancelled)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(LOCK_POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def system_trust() -> dict[str, str]:
    """The variables that make setup's tools trust this machine's CA bundle, when it has one."""
    return {"NODE_EXTRA_CA_CERTS": str(SYSTEM_CA_BUNDLE)} if SYSTEM_CA_BUNDLE.is_file() else {}


async def prepare_local(plan: EnvironmentPlan, tree: Path, options: LocalOptions) -> Environment:
    """Return the environment of `plan` for `tree`, building it unless the cache has it."""
    started = time.monotonic()
    dirs = env_dirs_of(plan)
    bwrap = choose_bwrap(options)  # refuses here, before any work, when isolation is missing
    key = environment_key(plan, tree, "local-bwrap" if bwrap else "local-unisolated")
    envs = (options.cache_dir or default_cache_dir()) / "envs"
    await asyncio.to_thread(envs.mkdir, parents=True, exist_ok=True)
    entry = envs / key
    async with locked(envs / f"{key}.lock"):
        ready = entry / READY
        if ready.is_file():
            os.utime(ready)  # most recently used: evicted last
            return Environment(key, plan, True, time.monotonic() - started, str(entry))
        await asyncio.to_thread(shutil.rmtree, entry, True)  # an interrupted build
        await _build(plan, tree, replace(options, isolation="bwrap" if bwrap else "none"), entry)
        for name in dirs:  # a directory setup did not make is still mounted: make it empty
            (entry / "checkout" / name).mkdir(parents=True, exist_ok=True)
        description = {"key": key, "stack": plan.stack, "setup": list(plan.setup)}
        ready.write_text(json.dumps(description))
    await asyncio.to_thread(evict, envs, options.max_environments, key)
    return Environment(key, plan, False, time.monotonic() - started, str(entry))


async def _build(plan: EnvironmentPlan, tree: Path, options: LocalOptions, entry: Path) -> None:
    """Run the plan's setup in a sandbox whose directory is `entry`; remove it on failure."""
    checkout = f"{WORKSPACE}/checkout" if options.isolation == "bwrap" else str(entry / "checkout")
    bins = [f"{checkout}/{name}" for name in plan.path_dirs]
    options = replace(
        options,
        env={**system_trust(), **options.env},
        declared_env=plan.env,
        path=":".join([*bins, options.path]),
        disk_quota_bytes=max(options.disk_quota_bytes, SETUP_QUOTA_BYTES),
    )
    proxy = EgressProxy(Path(tempfile.mkdtemp(prefix="townhall-proxy-")), plan.domains)
    try:
        await proxy.start()
        sandbox = await asyncio.to_thread(
            LocalSandbox.create, tree, options, base=entry, proxy=proxy
        )
        for command in plan.setup:
            result = await sandbox.exec(command, plan.command_timeout)
            if result.exit_code == 0 and not result.timed_out:
                continue
            output = "\n".join(part for part in (result.stdout, result.stderr) if part.strip())
            if result.timed_out:
                output += f"\n(timed out after {plan.command_timeout:g} s)"
            if proxy.refused:
                output += "\n(the egress proxy refused: " + ", ".join(proxy.refused[-5:]) + ")"
            raise EnvironmentFailed(command, result.exit_code, output)
        # What setup left in its home and tmp (download caches) is not part of the environment.
        for name in ("home", "tmp"):
            await asyncio.to_thread(shutil.rmtree, entry / name, True)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, entry, True)
        raise
    finally:
        await proxy.close()
        await asyncio.to_thread(shutil.rmtree, proxy.directory, True)


def evict(envs: Path, keep_at_most: int, current: str) -> list[str]:
    """Remove the least recently used entries beyond `keep_at_most`; return their keys.

    An entry used within KEEP_RECENT_SECONDS, or whose lock is held, stays.
    """
    entries: list[tuple[float, Path]] = []
    for ready in envs.glob(f"*/{READY}"):
        with contextlib.suppress(FileNotFoundError):
            entries.append((ready.stat().st_mtime, ready.parent))
    entries.sort(reverse=True)
    removed: list[str] = []
    now = time.time()
    for used, entry in entries[keep_at_most:]:
        if entry.name == current or now - used < KEEP_RECENT_SECONDS:
            continue
        descriptor = os.open(envs / f"{entry.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        try:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
        finally:
            os.close(descriptor)
    if removed:
        log.info("evicted %d environments from %s", len(removed), envs)
    return removed
