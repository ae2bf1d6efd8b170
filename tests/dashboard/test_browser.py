"""The dashboard in a real browser: headless Chromium loads the served page, phone and desktop.

Screenshots land in test-artifacts/dashboard/ (ignored by git through its own .gitignore).
Chromium comes from Debian (`.ci/install-chromium`); without it the test is skipped, saying so.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from app.clock import ManualClock
from app.store import Store, Tx, open_store
from app.store.issues import IssueRecord, upsert_issue_tx
from tests.browser import FLAGS, chromium
from tests.dashboard.access_stand import (
    PRIVATE_CLAIM,
    PRIVATE_TITLE,
    PUBLIC_TITLE,
    READER,
    access_stand,
)
from tests.dashboard.fill import fill, serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'
SECTIONS = (
    "Budget and health",
    "Leaderboard: open issues by votes",
    "Running",
    "Queue",
    "Recent pull requests and merges",
    "Failed attempts",
    "Needs a person",
    "Lead times",
    "Costs",
    "Attempt steps",
)


def artifacts() -> Path:
    """Create the artifacts folder, ignored by git whatever the root .gitignore says."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return ARTIFACTS


def browse(url: str, profile: Path, size: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one headless Chromium command against `url` with a fresh profile."""
    return subprocess.run(
        [
            chromium(),
            *FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={size}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The web app over a store with 120 synthetic tasks and one hostile issue title."""
    store = open_store(str(tmp_path / "townhall.db"))
    fill(store, NOW, 120)
    store.run_sync(lambda tx: _hostile_issue(tx, store))
    try:
        with serving(store, NOW) as url:
            yield url
    finally:
        store.close_sync()


def _hostile_issue(tx: Tx, store: Store) -> None:
    upsert_issue_tx(
        tx,
        ManualClock(NOW),
        1,
        IssueRecord(number=5000, title=HOSTILE, body="", author="mallory"),
    )
    tx.execute("UPDATE issues SET score = 999 WHERE number = 5000")


def test_chromium_renders_every_section_and_runs_nothing_from_a_title(
    served: str, tmp_path: Path
) -> None:
    chromium()
    dom = browse(served + "/", tmp_path / "profile-dom", "412,2000", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for section in SECTIONS:
        assert section in html, section
    assert "<title>Townhall</title>" in html  # the injected script did not rename the page
    assert "&lt;script&gt;document.title" in html  # the title is text in the DOM
    assert "<img" not in html and "<script" not in html
    assert html.count("<svg") == 2 and "<rect" in html

    folder = artifacts()
    for name, size in (("phone", "412,3000"), ("desktop", "1280,2600")):
        shot = folder / f"dashboard-{name}.png"
        shot.unlink(missing_ok=True)
        result = browse(served + "/", tmp_path / f"profile-{name}", size, f"--screenshot={shot}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert shot.stat().st_size > 20_000  # a real page, not a blank one
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chromium_signs_in_with_github_and_then_sees_the_private_repository(
    tmp_path: Path,
) -> None:
    chromium()
    with access_stand(tmp_path / "stand") as stand:
        anonymous = browse(
            stand.url + "/", tmp_path / "profile-anonymous", "1280,2000", "--dump-dom"
        )
        assert anonymous.returncode == 0, anonymous.stderr[-2000:]
        assert PUBLIC_TITLE in anonymous.stdout and "Sign in with GitHub" in anonymous.stdout
        assert PRIVATE_TITLE not in anonymous.stdout and PRIVATE_CLAIM not in anonymous.stdout

        # Sign in to localhub as alice, then follow Townhall's own sign-in link: authorize,
        # callback, session cookie and the dashboard, all in one navigation of the browser.
        signin = quote(stand.url + "/signin", safe="")
        chain = f"{stand.hub_url}/login?login={READER}&return_to={signin}"
        reader = browse(chain, tmp_path / "profile-reader", "1280,2000", "--dump-dom")
        assert reader.returncode == 0, reader.stderr[-2000:]
        assert f"signed in as <b>{READER}</b>" in reader.stdout
        assert PRIVATE_TITLE in reader.stdout and PRIVATE_CLAIM in reader.stdout
