"""Run one local command: its own process group, a timeout that kills the group, capped output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.sandbox.base import ExecResult
from app.sandbox.output import CappedBuffer

# After the command ends, how long to wait for its pipes to close before giving up on them
# (a grandchild that left the process group can keep them open forever).
DRAIN_SECONDS = 2.0
POLL_SECONDS = 0.02


async def _pump(stream: asyncio.StreamReader, buffer: CappedBuffer) -> None:
    while chunk := await stream.read(65536):
        buffer.feed(chunk)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _exited_within(process: asyncio.subprocess.Process, seconds: float) -> bool:
    """Return whether the process exited within `seconds`."""
    # Polled: in Python 3.11 `Process.wait()` also waits for the pipes to close, which a
    # background child holding them would delay until the time limit.
    deadline = time.monotonic() + seconds
    while process.returncode is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    time_limit: float,
    output_cap: int,
) -> ExecResult:
    """Run `argv` until it ends or `time_limit` passes; nothing it started outlives the call."""
    started = time.monotonic()
    stdout, stderr = CappedBuffer(output_cap), CappedBuffer(output_cap)
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        asyncio.create_task(_pump(process.stdout, stdout)),
        asyncio.create_task(_pump(process.stderr, stderr)),
    ]
    timed_out = False
    try:
        timed_out = not await _exited_within(process, time_limit)
    finally:
        # Always, so background children die with the command (and on cancellation too).
        _kill_group(process.pid)
        await _exited_within(process, DRAIN_SECONDS)
        _, pending = await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
        for pump in pending:
            pump.cancel()
    return ExecResult(
        exit_code=process.returncode if process.returncode is not None else -1,
        stdout=stdout.text(),
        stderr=stderr.text(),
        timed_out=timed_out,
        truncated=stdout.truncated or stderr.truncated,
        duration=time.monotonic() - started,
    )
