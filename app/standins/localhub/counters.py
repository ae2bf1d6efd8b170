"""Request counters per route, GraphQL query costs, and per-caller rate limit budgets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.clock import format_timestamp

RATE_LIMIT = 5000
_WINDOW = timedelta(hours=1)


@dataclass
class Budget:
    """One caller's hourly allowance in one resource (REST "core" or "graphql")."""

    used: int
    reset_at: datetime


class Counters:
    """What the hub has served, for tests and benchmarks to read back."""

    def __init__(self) -> None:
        self.routes: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.graphql_costs: list[int] = []
        # Requests charged to a rate limit, by resource ("core", "graphql"): what a 304 saves.
        self.charged: Counter[str] = Counter()
        self._budgets: dict[tuple[str, str], Budget] = {}

    def count(self, route: str) -> None:
        """Count one request to `route` ("GET /repos/{owner}/{repo}")."""
        self.routes[route] += 1

    def count_status(self, route: str, status: int) -> None:
        """Count the status a route answered with."""
        self.statuses[f"{route} {status}"] += 1

    def count_fault(self, route: str) -> None:
        """Count a request answered by an injected fault."""
        self.faults[route] += 1

    def charge(self, resource: str, key: str, cost: int, now: datetime) -> Budget:
        """Spend `cost` points of a caller's budget and return the budget after spending."""
        budget = self._budgets.get((resource, key))
        if budget is None or budget.reset_at <= now:
            budget = Budget(0, now + _WINDOW)
            self._budgets[(resource, key)] = budget
        budget.used += cost
        if cost:
            self.charged[resource] += 1
        return budget

    def record_graphql(self, cost: int) -> None:
        """Remember the cost of one GraphQL query."""
        self.graphql_costs.append(cost)

    def reset(self) -> None:
        """Forget everything counted so far (budgets included)."""
        self.routes.clear()
        self.statuses.clear()
        self.faults.clear()
        self.graphql_costs.clear()
        self.charged.clear()
        self._budgets.clear()

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as JSON."""
        return {
            "routes": dict(self.routes),
            "statuses": dict(self.statuses),
            "faults": dict(self.faults),
            "total_requests": sum(self.routes.values()),
            "rate_limited_requests": dict(self.charged),
            "not_modified": sum(n for key, n in self.statuses.items() if key.endswith(" 304")),
            "graphql": {
                "queries": len(self.graphql_costs),
                "cost": sum(self.graphql_costs),
                "costs": list(self.graphql_costs),
            },
        }


def rate_headers(resource: str, budget: Budget) -> dict[str, str]:
    """Return GitHub's X-RateLimit-* headers for a budget."""
    return {
        "x-ratelimit-limit": str(RATE_LIMIT),
        "x-ratelimit-remaining": str(max(RATE_LIMIT - budget.used, 0)),
        "x-ratelimit-used": str(budget.used),
        "x-ratelimit-reset": str(int(budget.reset_at.timestamp())),
        "x-ratelimit-resource": resource,
    }


def reset_at_text(budget: Budget) -> str:
    """Return a budget's reset time as GitHub formats it."""
    return format_timestamp(budget.reset_at)
