"""Headless Chromium for the browser tests: Debian's binaries, flags, and a WebDriver session.

Chromium is driven through chromedriver's WebDriver protocol (plain HTTP): no Selenium, no
Node. `.ci/install-test-tools` installs both; without them a test skips saying how (and under
CI=true a skip fails the run).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.serving import free_port

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium() -> str:
    """Return Debian's Chromium, or skip the test saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed: run .ci/install-chromium (Debian's chromium)")
    return found


def chromedriver() -> str:
    """Return Debian's chromedriver, or skip the test saying how to install it."""
    found = shutil.which("chromedriver")
    if found is None:
        pytest.skip("chromedriver is not installed: run .ci/install-chromium (Debian's)")
    return found


@contextmanager
def webdriver_session(
    profile: Path, args: Sequence[str] = (), options: dict[str, Any] | None = None
) -> Iterator[httpx.Client]:
    """Start chromedriver and one headless Chromium session; yield a client at the session.

    Requests go to `/session/<id>/...` (relative paths: `driver.post("url", ...)`).
    """
    port = free_port()
    process = subprocess.Popen(
        [chromedriver(), f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as driver:
            deadline = time.monotonic() + 30
            while True:
                try:
                    driver.get("/status")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "chromedriver did not start"
                    time.sleep(0.1)
            chrome = {"binary": chromium(), **(options or {})}
            chrome["args"] = [*FLAGS, f"--user-data-dir={profile}", *args]
            capabilities = {"browserName": "chrome", "goog:chromeOptions": chrome}
            started = driver.post("/session", json={"capabilities": {"alwaysMatch": capabilities}})
            assert started.status_code == 200, started.text
            session = started.json()["value"]["sessionId"]
            driver.base_url = httpx.URL(f"http://127.0.0.1:{port}/session/{session}/")
            try:
                yield driver
            finally:
                driver.delete("")
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    """Wait until something answers HTTP at `url` (a server started in another process)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
