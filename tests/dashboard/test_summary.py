"""The pure core: percentiles, rates, budget, tick health, chart layout and text formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.dashboard import text
from app.dashboard.board import Limits
from app.dashboard.routes import limits_from_query
from app.dashboard.summary import assess_health, bar_chart, budget, percentile, rate

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert percentile(values, 0.5) == 55.0
    assert percentile(values, 0.9) == pytest.approx(91.0)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # order of input does not matter


def test_rates_need_a_denominator() -> None:
    assert rate(3, 4) == 0.75
    assert rate(0, 0) is None


def test_budget_compares_today_with_the_cap_and_says_when_it_stops() -> None:
    within = budget(5.0, 20.0)
    assert (within.fraction, within.stop_reason) == (0.25, None)
    over = budget(21.0, 20.0)
    assert over.fraction == pytest.approx(1.05)
    assert over.stop_reason is not None and "$21.00 of $20.00" in over.stop_reason


def test_health_follows_the_last_successful_tick() -> None:
    limit = timedelta(minutes=15)
    fresh = assess_health(NOW, NOW - timedelta(minutes=4), limit)
    assert fresh.healthy and fresh.tick_age_seconds == 240.0
    stale = assess_health(NOW, NOW - timedelta(minutes=16), limit)
    assert not stale.healthy
    assert stale.reason == "last successful CEO tick 16m ago (limit 15m)"


def test_health_gives_a_fresh_process_one_limit_of_grace_before_the_first_tick() -> None:
    limit = timedelta(minutes=15)
    assert assess_health(NOW, None, limit, up_since=NOW - timedelta(minutes=5)).healthy
    late = assess_health(NOW, None, limit, up_since=NOW - timedelta(minutes=20))
    assert not late.healthy and "since start-up" in late.reason
    assert not assess_health(NOW, None, limit).healthy
    assert assess_health(NOW, None, None).healthy  # the check switched off


def test_bar_chart_scales_to_a_round_maximum_and_stays_inside_its_box() -> None:
    chart = bar_chart("t", ["a", "b", "c"], [("x", [0.0, 3.2, 8.0]), ("y", [1.0, 0.0, 2.0])])
    assert chart.max_value == 10.0
    bars = [bar for _, series in chart.series for bar in series]
    assert len(bars) == 6
    for bar in bars:
        assert bar.x >= 0 and bar.x + bar.width <= chart.width
        assert bar.y >= 0 and bar.y + bar.height == pytest.approx(chart.baseline)
    tallest = max(bars, key=lambda bar: bar.height)
    assert tallest.value == 8.0 and tallest.height == pytest.approx(
        (chart.baseline - 10) * 0.8, rel=0.01
    )
    empty = bar_chart("t", ["a"], [("x", [0.0])])
    assert empty.max_value == 0.0 and empty.series[0][1][0].height == 0.0


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (42, "42s"), (125, "2m 5s"), (3600, "1h"), (3 * 3600 + 1200, "3h 20m")],
)
def test_durations_read_as_two_units(seconds: float | None, shown: str) -> None:
    assert text.duration(seconds) == shown


def test_money_tokens_and_time_left_formats() -> None:
    assert text.money(1234.5) == "$1,234.50"
    assert text.money(0.0042) == "$0.0042"
    assert text.tokens(12_345) == "12.3k"
    assert text.time_left(-5) == "closed"
    assert text.time_left(7200) == "2h left"
    assert text.ago(NOW - timedelta(minutes=3), NOW) == "3m ago"


def test_query_limits_are_clamped_and_junk_is_ignored() -> None:
    assert limits_from_query({"rows": "100000", "queue_page": "2"}) == Limits(
        rows=200, queue_page=2
    )
    assert limits_from_query({"rows": "-3", "days": "abc", "window": "0"}) == Limits(window_days=1)
