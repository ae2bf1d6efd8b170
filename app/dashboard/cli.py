"""The bodies of `townhall status`, `townhall costs` and `townhall task N` (app/cli.py parses)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console, RenderableType

from app.clock import Clock, SystemClock
from app.dashboard.board import Dashboard, Limits
from app.dashboard.queries import read_facts_tx
from app.dashboard.render import costs_json, plain, status_json
from app.dashboard.summary import DEFAULT_TICK_MAX_AGE, build_dashboard
from app.dashboard.task_history import TaskNotFound, find_task_tx, read_history_tx
from app.dashboard.terminal import costs_renderables, history_renderables, status_renderables
from app.settings import Settings
from app.store import open_store
from app.store.location import describe_store

# Piped output has no terminal width to follow; wide enough that tables keep their shape.
PIPE_WIDTH = 120


def read_dashboard(settings: Settings, limits: Limits, clock: Clock | None = None) -> Dashboard:
    """Open the configured store, read the dashboard once, and close it."""
    store = open_store(settings.db_url, settings.db_auth_token)
    try:
        now = (clock or SystemClock()).now()
        facts = store.run_sync(lambda tx: read_facts_tx(tx, now, limits.clamped()))
    finally:
        store.close_sync()
    return build_dashboard(facts, settings.daily_budget_usd, DEFAULT_TICK_MAX_AGE)


def _print(renderables: Sequence[RenderableType], out: TextIO) -> None:
    console = Console(file=out, width=None if out.isatty() else PIPE_WIDTH, highlight=False)
    for renderable in renderables:
        console.print(renderable)


def status_command(
    settings: Settings, *, as_json: bool, rows: int, out: TextIO = sys.stdout
) -> int:
    """Print the dashboard as tables, or as the JSON of /api/status."""
    dashboard = read_dashboard(settings, Limits(rows=rows))
    if as_json:
        out.write(json.dumps(status_json(dashboard), indent=2) + "\n")
    else:
        _print(status_renderables(dashboard, describe_store(settings.db_url)), out)
    return 0


def costs_command(
    settings: Settings, *, as_json: bool, days: int, rows: int, out: TextIO = sys.stdout
) -> int:
    """Print model spend per day, role, model and task over the last `days` days."""
    dashboard = read_dashboard(
        settings, Limits(rows=rows, chart_days=min(days, 90), window_days=days)
    )
    if as_json:
        out.write(json.dumps(costs_json(dashboard), indent=2) + "\n")
    else:
        _print(costs_renderables(dashboard, describe_store(settings.db_url)), out)
    return 0


def task_command(
    settings: Settings,
    number: int,
    *,
    by_issue: bool,
    as_json: bool,
    log_lines: int,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print one task's full history; exit 1 when there is no such task."""
    store = open_store(settings.db_url, settings.db_auth_token)
    try:
        history = store.run_sync(
            lambda tx: read_history_tx(tx, find_task_tx(tx, number, by_issue=by_issue))
        )
    except TaskNotFound as error:
        err.write(f"townhall: {error}\n")
        return 1
    finally:
        store.close_sync()
    if as_json:
        out.write(json.dumps(plain(history), indent=2) + "\n")
    else:
        store_name = describe_store(settings.db_url)
        _print(history_renderables(history, log_lines, store_name), out)
    return 0
