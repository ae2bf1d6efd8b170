"""WAL checkpoints for a store file, in a process of their own, off the commit path.

SQLite in WAL mode appends each commit to the `-wal` file and, once the WAL holds 1,000 pages,
the committing connection copies them into the database and fsyncs both (a checkpoint). Under a
burst of webhooks that happened every few hundred deliveries, inside a COMMIT: 10-20 ms during
which the `libsql` binding holds the GIL, so the server's event loop stood still and every
request waiting on it took the stall (it set the intake's p99).

A checkpointer process runs PASSIVE checkpoints a few times a second: they copy what is in the
WAL without blocking writers or readers, so a commit finds the WAL already copied and only
appends. Once a checkpoint has caught up, the next writer starts the WAL over from the
beginning, so it stays a few megabytes. The connections keep their automatic checkpoint: if the
checkpointer falls behind or is gone, a commit checkpoints as before, just less often.

The child stops when its standard input closes, which is also what happens when the server dies.
Run as `python -m app.store.checkpointer FILE` by `Checkpointer`, never by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("townhall.store")

# Seconds between checkpoints: short enough that a commit rarely finds 1,000 pages to copy.
INTERVAL_S = 0.01
STOP_TIMEOUT_S = 10.0


class Checkpointer:
    """Runs the checkpointer process for one store file, from start() until stop()."""

    def __init__(self, file: Path, interval_s: float = INTERVAL_S) -> None:
        self._file = file
        self._interval_s = interval_s
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while the checkpointer runs."""
        running = self._process is not None and self._process.poll() is None
        return self._process.pid if running and self._process is not None else None

    async def start(self) -> None:
        """Start the process (a failure is logged: commits then checkpoint for themselves)."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        """Stop the process after its current checkpoint."""
        await asyncio.to_thread(self.stop_sync)

    def start_sync(self) -> None:
        """start() from synchronous code."""
        if self.pid is not None:
            return
        command = [
            sys.executable, "-m", "app.store.checkpointer", str(self._file), str(self._interval_s)
        ]  # fmt: skip
        # The child imports this `app`, wherever the server found it, and gets none of the
        # server's environment: it needs no secret, so it holds none.
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = {"PYTHONPATH": path, "PATH": os.environ.get("PATH", os.defpath)}
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        except OSError as error:
            log.warning("the WAL checkpointer did not start (%s); commits checkpoint", error)

    def stop_sync(self) -> None:
        """stop() from synchronous code; a child that does not stop is killed."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("the WAL checkpointer did not stop; killed")
            process.kill()
            process.wait()


def run(file: str, interval_s: float) -> None:
    """Checkpoint `file` every `interval_s` until standard input closes."""
    import libsql  # the child's only reason to exist; the server imports it through the store

    connection = libsql.connect(file, isolation_level=None, timeout=1.0)
    # Never checkpoint on its own commits (it makes none) and never wait long for a lock.
    connection.execute("PRAGMA busy_timeout=1000")
    stdin = sys.stdin.fileno()
    try:
        while True:
            ready, _, _ = select.select([stdin], [], [], interval_s)
            if ready and not os.read(stdin, 4096):
                return  # the server closed the pipe, or died
            # Busy or locked (another checkpoint running): harmless, the next round tries again.
            with contextlib.suppress(ValueError):
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        connection.close()


if __name__ == "__main__":
    run(sys.argv[1], float(sys.argv[2]))
