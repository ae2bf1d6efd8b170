"""Run one local command: its own process group, a timeout that kills the group, capped output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from workers.sandbox.base import ExecResult
from workers.sandbox.output import CappedBuffer

# After the command ends, how long to wait for its pipes to close before giving up on them
# (a grandchild that left the process group can keep them open forever).
DRAIN_SECONDS = 2.0


async def _pump(stream: asyncio.StreamReader, buffer: CappedBuffer) -> None:
    while chunk := await stream.read(65536):
        buffer.feed(chunk)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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
        await asyncio.wait_for(process.wait(), time_limit)
    except TimeoutError:
        timed_out = True
    finally:
        # Always, so background children die with the command (and on cancellation too).
        _kill_group(process.pid)
        await process.wait()
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
