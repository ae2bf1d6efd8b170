"""The WAL checkpointer process: it keeps a busy store file's WAL small, and never outlives
the server that started it. A real libSQL file, a real child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import SystemClock
from app.serving import ServerThread
from app.store import Store, open_store
from app.store.checkpointer import Checkpointer
from app.web import WebConfig, create_web_app

BODY = "x" * 12_000  # a webhook payload's size: three overflow pages per row
ROWS = 1_200


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(str(tmp_path / "townhall.db"))
    # The store's own commits never checkpoint here: whatever copies the WAL is the process.
    store.run_sync(lambda tx: tx.fetchall("PRAGMA wal_autocheckpoint=0"))
    yield store
    store.close_sync()


def write_rows(store: Store, rows: int, prefix: str) -> None:
    for start in range(0, rows, 25):
        store.run_sync(
            lambda tx, start=start: [
                tx.execute(
                    "INSERT INTO deliveries (id, event, payload, next_attempt_at, received_at)"
                    " VALUES (?, 'ping', ?, '', '')",
                    (f"{prefix}-{n}", BODY),
                )
                for n in range(start, start + 25)
            ]
        )
        time.sleep(0.04)  # a burst of webhooks, not one transaction: checkpoints fit between


def wal_bytes(store: Store) -> int:
    assert store.file is not None
    return os.path.getsize(f"{store.file}-wal")


def gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_without_checkpoints_the_wal_grows_with_every_row(file_store: Store) -> None:
    write_rows(file_store, ROWS, "alone")
    assert wal_bytes(file_store) > ROWS * len(BODY)  # every row's pages, never copied out


def test_the_checkpointer_keeps_the_wal_small_and_the_rows_readable(file_store: Store) -> None:
    assert file_store.file is not None
    checkpointer = Checkpointer(file_store.file)
    checkpointer.start_sync()
    try:
        write_rows(file_store, ROWS, "checked")
    finally:
        checkpointer.stop_sync()
    # Copied into the database as it went, the WAL started over and over: it holds at most
    # what was written while a checkpoint lagged (a few batches; more on a loaded machine).
    assert wal_bytes(file_store) < ROWS * len(BODY) / 3
    count = file_store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM deliveries"))
    assert count == ROWS


def test_stop_ends_the_process(file_store: Store) -> None:
    assert file_store.file is not None
    checkpointer = Checkpointer(file_store.file)
    checkpointer.start_sync()
    pid = checkpointer.pid
    assert pid is not None
    checkpointer.stop_sync()
    assert checkpointer.pid is None and gone(pid, 5)


def test_the_checkpointer_does_not_outlive_a_killed_server(file_store: Store) -> None:
    assert file_store.file is not None
    server = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time; from pathlib import Path;"
            " from app.store.checkpointer import Checkpointer;"
            " c = Checkpointer(Path(sys.argv[1])); c.start_sync(); print(c.pid, flush=True);"
            " time.sleep(60)",
            str(file_store.file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert server.stdout is not None
    child = int(server.stdout.readline())
    server.send_signal(signal.SIGKILL)  # no shutdown: only the pipe closing tells the child
    server.wait()
    assert gone(child, 5), "the checkpointer outlived its server"


def checkpointers_of(file: Path) -> list[int]:
    """Checkpointer processes running for `file`, found by their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"app.store.checkpointer" in command and str(file).encode() in command:
            found.append(int(entry.name))
    return found


def test_the_served_web_app_runs_one_checkpointer_while_it_serves(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "served.db"))
    try:
        config = WebConfig(store, SystemClock(), "secret", 1024, processor=None)
        with ServerThread(create_web_app(config)):
            assert len(checkpointers_of(tmp_path / "served.db")) == 1
        deadline = time.monotonic() + 5
        while checkpointers_of(tmp_path / "served.db") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointers_of(tmp_path / "served.db") == []
    finally:
        store.close_sync()


def test_the_checkpointer_holds_none_of_the_servers_secrets(
    file_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOWNHALL_WEBHOOK_SECRET", "do-not-inherit")
    assert file_store.file is not None
    checkpointer = Checkpointer(file_store.file)
    checkpointer.start_sync()
    try:
        assert checkpointer.pid is not None
        environ = b""
        deadline = time.monotonic() + 5
        while not environ and time.monotonic() < deadline:  # empty until the exec is done
            environ = Path(f"/proc/{checkpointer.pid}/environ").read_bytes()
            time.sleep(0.01)
    finally:
        checkpointer.stop_sync()
    assert b"do-not-inherit" not in environ and b"PYTHONPATH=" in environ
