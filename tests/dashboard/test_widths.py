"""The dashboard's layout in headless Chromium at 1400 px and on a 390 px phone, measured.

Chromium is driven through chromedriver's WebDriver protocol (plain HTTP), as
tests/test_setup_flow.py does; measuring needs a script run in the page, which WebDriver can
do despite the page's Content-Security-Policy (the page itself runs none). Both come from
Debian (`.ci/install-chromium`); without them the test is skipped, saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from app.store import Tx, open_store
from app.store.repos import set_policy_error
from app.store.tasks import record_event
from tests.browser import webdriver_session
from tests.dashboard.fill import fill, serving

NOW = datetime.now(UTC).replace(microsecond=0)
# A reason with no space to break at, as a path or a model's error can be.
LONG_REASON = "planning failed: " + "/".join(["very-long-directory-name"] * 12) + " (no space)"
POLICY_ERROR = ".townhall.toml is invalid (1 problem):\n  - votes.threshold: expected a number"

# What the page reports about its own layout: overflow per section, and where Score sits.
MEASURE = """
const width = document.documentElement.clientWidth;
const overflow = {};
for (const section of document.querySelectorAll('section[id]')) {
  const wide = [...section.querySelectorAll('.scroll')]
    .some(s => s.scrollWidth > s.clientWidth + 1);
  overflow[section.id] = wide || section.getBoundingClientRect().right > width + 1;
}
const score = [...document.querySelectorAll('#leaderboard th')]
  .find(th => th.textContent === 'Score');
const rect = score.getBoundingClientRect();
const firstScore = document.querySelector('#leaderboard tbody tr td.num').getBoundingClientRect();
return {
  width: width,
  page_overflow: document.documentElement.scrollWidth > width + 1,
  overflow: overflow,
  score: {left: rect.left, right: rect.right, visible: rect.width > 0},
  first_score_right: firstScore.right,
  links: [...document.querySelectorAll('#leaderboard a, #pulls tbody a, #needs-human tbody a')]
    .map(a => a.getAttribute('href')).slice(0, 200),
  repo_rows: [...document.querySelectorAll('#repos tbody tr')]
    .map(tr => tr.id + ' ' + tr.textContent),
  scrolls: [...document.querySelectorAll('.scroll')]
    .filter(s => s.scrollWidth > s.clientWidth + 1)
    .map(s => s.closest('section').id + ' ' + s.scrollWidth + '>' + s.clientWidth
      + ' ' + s.querySelector('th').textContent),
};
"""


def measure(url: str, profile: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Open `url` in Chromium with `options` and return what MEASURE finds."""
    args = ["--hide-scrollbars", *options.get("args", [])]
    rest = {name: value for name, value in options.items() if name != "args"}
    with webdriver_session(profile, args, rest) as driver:
        opened = driver.post("url", json={"url": url})
        assert opened.status_code == 200, opened.text
        answer = driver.post("execute/sync", json={"script": MEASURE, "args": []})
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["value"]
        return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The web app over 120 synthetic tasks, a long hand-off reason and an invalid policy."""
    store = open_store(str(tmp_path / "townhall.db"))
    fill(store, NOW, 120)
    store.run_sync(_long_reasons)
    repo_id = store.run_sync(lambda tx: int(tx.scalar("SELECT MIN(id) FROM repos")))
    asyncio.run(set_policy_error(store, repo_id, POLICY_ERROR))
    try:
        with serving(store, NOW) as url:
            yield url
    finally:
        store.close_sync()


def _long_reasons(tx: Tx) -> None:
    """Hand every needs_human task over again with a reason that cannot wrap at a space."""
    clock = ManualClock(NOW)
    for row in tx.fetchall(
        "SELECT id, repo_id, issue_number FROM tasks WHERE state = ?", ("needs_human",)
    ):
        record_event(
            tx,
            clock,
            actor="ceo",
            kind="transition",
            task_id=int(row["id"]),
            repo_id=int(row["repo_id"]),
            issue_number=int(row["issue_number"]),
            from_state="running",
            to_state="needs_human",
            reason=LONG_REASON,
        )


def test_at_1400_px_no_section_scrolls_sideways(served: str, tmp_path: Path) -> None:
    found = measure(served + "/", tmp_path / "wide", {"args": ["--window-size=1400,2400"]})
    assert found["width"] == 1400
    assert not found["page_overflow"]
    wide = [section for section, over in found["overflow"].items() if over]
    assert wide == [], f"sections wider than the page at 1400 px: {found['scrolls']}"
    assert "needs-human" in found["overflow"]
    # Every issue and pull request links to GitHub.
    assert found["links"] and all(href.startswith("https://github.com/") for href in found["links"])
    assert any("/pull/" in href for href in found["links"])
    assert any("/issues/" in href for href in found["links"])
    invalid = [row for row in found["repo_rows"] if "invalid" in row]
    assert invalid and "votes.threshold: expected a number" in invalid[0]
    assert invalid[0].startswith("repo-")


def test_on_a_390_px_phone_the_score_column_is_on_screen(served: str, tmp_path: Path) -> None:
    phone = {"mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}}}
    found = measure(served + "/", tmp_path / "phone", phone)
    assert found["width"] == 390
    assert found["score"]["visible"]
    assert found["score"]["right"] <= 390 and found["first_score_right"] <= 390
    assert not found["overflow"]["leaderboard"]
    assert not found["page_overflow"]
