"""`townhall setup` end to end in headless Chromium, offline: localhub plays GitHub.

The browser signs in to localhub, opens the setup page, presses its button (the manifest is
POSTed to localhub's "new App" page), presses "Create GitHub App", and is sent back to the
setup command, which exchanges the code and writes .env. The App in that file must then work:
its JWT is accepted by `GET /app` and its webhook secret is the one localhub signs with.

Chromium is driven through chromedriver's WebDriver protocol (plain HTTP, no extra library);
both come from Debian (`.ci/install-chromium`), and without them the test is skipped, saying so.
"""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.serving import ServerThread, free_port
from app.settings import Need, load_settings, read_dotenv
from app.standins.localhub import LocalHub, LocalHubControl
from tests.browser import chromedriver, chromium, wait_until_up, webdriver_session

TOWNHALL = str(Path(sys.executable).parent / "townhall")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element key


class Browser:
    """One headless Chromium session, driven over WebDriver."""

    def __init__(self, driver: httpx.Client) -> None:
        self.driver = driver  # at the session: relative paths

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.driver.request(method, path.lstrip("/"), json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()["value"]

    def open(self, url: str) -> None:
        """Navigate to `url` and wait for the page to load."""
        self._call("POST", "/url", {"url": url})

    def click(self, css: str) -> None:
        """Click the element `css` selects (a form's button: its submission is followed)."""
        found = self._call("POST", "/element", {"using": "css selector", "value": css})
        self._call("POST", f"/element/{found[ELEMENT]}/click", {})

    @property
    def url(self) -> str:
        """Return the address of the page shown."""
        return str(self._call("GET", "/url"))

    def wait_for(self, prefix: str, timeout: float = 30.0) -> str:
        """Wait until the page shown is at an address starting with `prefix`; return it."""
        deadline = time.monotonic() + timeout
        while not (shown := self.url).startswith(prefix):
            assert time.monotonic() < deadline, f"still at {shown}, expected {prefix}..."
            time.sleep(0.1)
        return shown

    def text(self, css: str = "body") -> str:
        """Return the visible text of the element `css` selects."""
        found = self._call("POST", "/element", {"using": "css selector", "value": css})
        return str(self._call("GET", f"/element/{found[ELEMENT]}/text"))


@contextmanager
def browser(profile: Path) -> Iterator[Browser]:
    """Start chromedriver and one headless Chromium session; stop both afterwards."""
    with webdriver_session(profile) as driver:
        yield Browser(driver)


@contextmanager
def setup_command(workdir: Path, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """Run `townhall setup` in `workdir` with a clean environment; stop it if still running."""
    process = subprocess.Popen(
        [TOWNHALL, "setup", *arguments],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=30)


def test_chromium_creates_the_app_and_setup_writes_a_working_env_file(tmp_path: Path) -> None:
    chromium()
    chromedriver()
    hub = LocalHub(tmp_path / "hub")
    workdir = tmp_path / "operator"
    workdir.mkdir()
    (workdir / ".env").write_text("# the operator's own line\nTOWNHALL_LOG_LEVEL=INFO\n")
    with ServerThread(hub.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_user("alice")
        port = free_port()
        local = f"http://127.0.0.1:{port}"
        with (
            setup_command(
                workdir,
                "--github-url",
                server.url,
                "--port",
                str(port),
                "--webhook-url",
                "http://127.0.0.1:9/webhook",
            ) as command,
            browser(tmp_path / "profile") as chrome,
        ):
            wait_until_up(local + "/")
            # Signed in to "GitHub" first, as an operator would be; then to the setup page.
            chrome.open(f"{server.url}/login?login=alice&return_to={quote(local + '/', safe='')}")
            assert chrome.wait_for(local + "/") == local + "/"
            assert "Create the GitHub App on 127.0.0.1" in chrome.text("#create")
            chrome.click("#create")
            chrome.wait_for(server.url + "/settings/apps/new?state=")
            assert "Create GitHub App for alice" in chrome.text("h1")
            chrome.click("#create")
            chrome.wait_for(local + "/callback?code=")
            assert "TOWNHALL_GITHUB_APP_ID" in chrome.text("#written")
            out, err = command.communicate(timeout=60)
        # The App works: a JWT from the written key is accepted by localhub's GET /app.
        settings = load_settings(read_dotenv(workdir / ".env"), [Need.GITHUB_APP, Need.WEBHOOK])
        access = GitHubAccess(server.url, settings.require_github_app(), SystemClock())
        login = asyncio.run(access.app_login())

    assert command.returncode == 0, err
    assert "Traceback" not in err
    env_file = workdir / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = read_dotenv(env_file)
    assert values["TOWNHALL_LOG_LEVEL"] == "INFO"  # the operator's lines are kept
    assert values["TOWNHALL_GITHUB_API_URL"] == server.url
    for key in (
        "TOWNHALL_GITHUB_PRIVATE_KEY",
        "TOWNHALL_WEBHOOK_SECRET",
        "TOWNHALL_SESSION_SECRET",
    ):
        assert values[key][-12:] not in out + err  # no secret printed
    assert "modal secret create --force townhall-github" in out
    assert "TOWNHALL_WEBHOOK_SECRET=\"$(sed -n 's/^TOWNHALL_WEBHOOK_SECRET=//p' .env)\"" in out

    app = hub.state.data.apps[settings.require_github_app().app_id]
    assert login == f"{app.slug}[bot]" and app.owner_login == "alice"
    assert settings.webhook_secret == hub.state.data.webhook.secret  # the hub signs with it
    assert settings.oauth_client_id and settings.session_secret
