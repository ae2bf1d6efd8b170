"""Ten thousand tasks stay fast and bounded; /healthz follows the CEO's tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.clock import ManualClock
from app.dashboard.board import Limits
from app.dashboard.render import render_html, status_json
from app.dashboard.routes import DashboardConfig, load_dashboard
from app.serving import ServerThread
from app.store import Store, open_store
from app.store.timings import TickTiming, record_tick
from app.web import WebConfig, create_web_app
from tests.dashboard.fill import Filled, fill

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TASKS = 10_000
# Generous for a loaded 2-core CI machine; the measured figures are printed (pytest -s).
MAX_SECONDS = 2.0


@dataclass
class Big:
    store: Store
    filled: Filled
    clock: ManualClock


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    """A store holding ten thousand synthetic tasks and everything they wrote."""
    store = open_store(str(tmp_path_factory.mktemp("big") / "townhall.db"))
    filled = fill(store, NOW, TASKS)
    yield Big(store, filled, ManualClock(NOW))
    store.close_sync()


def web_app(store: Store, clock: ManualClock, max_age: timedelta | None) -> WebConfig:
    return WebConfig(
        store=store,
        clock=clock,
        webhook_secret="webhook-secret-123",
        max_body_bytes=1 << 20,
        processor=None,
        tick_max_age=max_age,
    )


async def test_ten_thousand_tasks_render_fast_with_bounded_sections(big: Big) -> None:
    config = DashboardConfig(big.store, big.clock, daily_budget_usd=25.0)
    await load_dashboard(config)  # warm the page cache and the template
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        dashboard = await load_dashboard(config)
        read = time.perf_counter()
        page = render_html(dashboard)
        rendered = time.perf_counter()
        timings.append((read - started, rendered - read))
    best_read, best_render = min(timings, key=sum)
    print(
        f"\n10,000 tasks ({big.filled.rows} rows): read {best_read * 1000:.0f} ms,"
        f" render {best_render * 1000:.0f} ms, page {len(page) // 1024} KiB"
    )
    assert best_read + best_render < MAX_SECONDS
    assert dashboard.total_tasks == TASKS
    facts = dashboard.facts
    assert facts.tasks_by_state == big.filled.by_state
    assert len(facts.leaderboard) == len(facts.queue) == len(facts.pulls) == 25
    assert (
        facts.queue_total
        == big.filled.by_state["queued"]
        + big.filled.by_state["approved"]
        + big.filled.by_state["planned"]
    )
    assert [row.priority for row in facts.queue] == sorted(
        (row.priority for row in facts.queue), reverse=True
    )
    scores = [row.score for row in facts.leaderboard]
    assert scores == sorted(scores, reverse=True)
    assert len(page) < 250_000
    assert dashboard.outcomes.lead_time_samples > 1000
    median, p90 = dashboard.outcomes.to_pr_median_seconds, dashboard.outcomes.to_pr_p90_seconds
    assert median is not None and p90 is not None and 0 < median <= p90
    assert {row.step for row in facts.steps} == {
        "fetch",
        "sandbox",
        "agent_turn",
        "verify",
        "publish",
    }


def test_the_page_and_api_over_http_page_through_the_queue(big: Big) -> None:
    app = create_web_app(web_app(big.store, big.clock, None))
    with ServerThread(app) as server:
        started = time.perf_counter()
        page = httpx.get(f"{server.url}/?queue_page=3", timeout=30)
        took = time.perf_counter() - started
        api = httpx.get(f"{server.url}/api/status?rows=500&queue_page=3", timeout=30)
    print(f"\nGET / with 10,000 tasks: {took * 1000:.0f} ms")
    assert page.status_code == 200 and took < MAX_SECONDS
    assert "Showing 76–100 of" in page.text and "previous</a>" in page.text
    data = api.json()
    assert data["limits"]["rows"] == 200  # clamped
    assert len(data["queue"]["rows"]) == 200
    assert data["queue"]["page"] == 3
    assert data["total"] == TASKS


async def test_status_json_covers_the_budget_and_the_tick(big: Big) -> None:
    dashboard = await load_dashboard(DashboardConfig(big.store, big.clock), Limits(rows=5))
    data = status_json(dashboard)
    assert len(data["leaderboard"]) == 5
    assert data["budget"]["daily_budget_usd"] == 25.0
    assert data["health"]["last_successful_tick"] == "2026-03-01T11:55:00+00:00"
    assert data["health"]["healthy"] is True


def test_healthz_turns_unhealthy_when_the_tick_is_overdue_and_recovers(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "health.db"))
    clock = ManualClock(NOW)
    app = create_web_app(web_app(store, clock, timedelta(minutes=15)))
    try:
        with ServerThread(app) as server:

            def health() -> httpx.Response:
                return httpx.get(f"{server.url}/healthz", timeout=10)

            first = health()
            assert first.status_code == 200  # a fresh process waits one limit for a tick
            assert "waiting for the first successful CEO tick" in first.json()["reason"]
            clock.advance(timedelta(minutes=16))
            overdue = health()
            assert overdue.status_code == 503
            assert overdue.json()["status"] == "unhealthy"
            ended = clock.now()
            asyncio.run(record_tick(store, TickTiming(ended - timedelta(seconds=5), ended, True)))
            assert health().status_code == 200
            clock.advance(timedelta(minutes=14))
            assert health().status_code == 200
            clock.advance(timedelta(minutes=2))
            late = health()
            assert late.status_code == 503
            assert late.json()["reason"] == "last successful CEO tick 16m ago (limit 15m)"
            assert late.json()["tick_age_seconds"] == 960.0
            page = httpx.get(f"{server.url}/", timeout=10).text
            assert "16m ago" in page and "limit 15m" in page
    finally:
        store.close_sync()
